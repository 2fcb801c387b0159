# Report: dataset statistics of the aggregate, as JSON.


rule summary:
    input:
        combined=f"{PREFIX}/{{dataset}}/combined_training.parquet",
    output:
        summary=f"{PREFIX}/{{dataset}}/summary.json",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/summary/{dataset}.log",
    shell:
        "ringrift summarize --output {output.summary} {input.combined} > {log} 2>&1"
