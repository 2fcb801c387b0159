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
        scratch=lambda wc: f"--scratch {config['scratch']}" if config.get("scratch") else "",
    resources:
        mem_mb=2000,
    shell:
        "ringrift aggregate --seed {params.seed} {params.scratch}"
        " --output {output.combined} {input.parts} > {log} 2>&1"
