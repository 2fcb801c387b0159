# Training tensors: the reference trainer's NPZ (ringrift tensors), per part
# and as one final set of shards. Settings come from the dataset's optional
# `tensors` block (encoder, sample_every, policy, history, shard_bytes);
# defaults: v2, every step, soft targets, 3 history frames, 1 GB shards.
# Not wired into all_targets() here: request
#   {PREFIX}/tensors/{dataset}/worker_WW/part_PPPPP.npz   (one part, parallel)
#   {PREFIX}/{dataset}/tensors                             (final set, shards)


def tensor_flags(wc):
    t = ds(wc.dataset).get("tensors", {}) or {}
    return (f"--encoder {t.get('encoder', 'v2')} --sample-every {t.get('sample_every', 1)}"
            f" --history {t.get('history', 3)} --policy {t.get('policy', 'soft')}")


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
        shard_bytes=lambda wc: (ds(wc.dataset).get("tensors", {}) or {}).get(
            "shard_bytes", 1 << 30),
        scratch=lambda wc: f"--scratch {config['scratch']}" if config.get("scratch") else "",
    resources:
        mem_mb=1200,
    shell:
        "ringrift tensors {params.flags} --seed {params.seed} --shard-bytes {params.shard_bytes}"
        " {params.scratch} --output {output.shards} {input.combined} > {log} 2>&1"
