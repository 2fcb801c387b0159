# Export: the aggregate as .jsonl.gz lines in the seed's sample format.


rule export_jsonl:
    input:
        combined=f"{PREFIX}/{{dataset}}/combined_training.parquet",
    output:
        jsonl=f"{PREFIX}/{{dataset}}/combined_training.jsonl.gz",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/export/{dataset}.log",
    shell:
        "ringrift export --output {output.jsonl} {input.combined} > {log} 2>&1"
