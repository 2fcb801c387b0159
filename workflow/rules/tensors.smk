# Training tensors: the reference trainer's NPZ (ringrift tensors). A dataset
# with `tensors: true` (or a block of settings: encoder, sample_every, policy,
# history, shard_bytes; defaults v2, every step, soft targets, 3 history
# frames, 1 GB shards) gets {PREFIX}/{dataset}/tensors/shard_NNNNN.npz from the
# shuffled aggregate, games in an order seeded by the dataset's seed. One part's
# tensors, e.g. to train while self-play runs, are a target of their own:
#   {PREFIX}/tensors/{dataset}/worker_WW/part_KKKKK.npz


rule tensors_part:
    input:
        part=f"{PREFIX}/selfplay/{{dataset}}/worker_{{worker}}/part_{{part}}.parquet",
    output:
        npz=f"{PREFIX}/tensors/{{dataset}}/worker_{{worker}}/part_{{part}}.npz",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/tensors/{dataset}/worker_{worker}/part_{part}.log",
    params:
        flags=tensor_flags,
    resources:
        mem_mb=1200,
    shell:
        "ringrift tensors {params.flags} --output {output.npz} {input.part} > {log} 2>&1"


rule tensors:
    input:
        combined=f"{PREFIX}/{{dataset}}/combined_training.parquet",
    output:
        shards=directory(f"{PREFIX}/{{dataset}}/tensors"),
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/tensors/{dataset}.log",
    params:
        flags=tensor_flags,
        seed=lambda wc: ds(wc.dataset)["seed"],
        shard_bytes=lambda wc: tensor_settings(wc.dataset).get("shard_bytes", 1 << 30),
    resources:
        mem_mb=1200,
    shell:
        "ringrift tensors {params.flags} --seed {params.seed} --shard-bytes {params.shard_bytes}"
        f"{SCRATCH_FLAG} --output {{output.shards}} {{input.combined}} > {{log}} 2>&1"
