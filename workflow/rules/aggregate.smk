# Aggregate: seeded two-pass bucket shuffle of a dataset's parts; checks sample
# counts against each part's stats and that no game id appears twice.


rule aggregate:
    input:
        parts=dataset_parts,
    output:
        combined=f"{PREFIX}/{{dataset}}/combined_training.parquet",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/aggregate/{dataset}.log",
    params:
        seed=lambda wc: ds(wc.dataset)["seed"],
    resources:
        mem_mb=2000,
    shell:
        f"ringrift aggregate --seed {{params.seed}} {SCRATCH_FLAG}"
        " --output {output.combined} {input.parts} > {log} 2>&1"
