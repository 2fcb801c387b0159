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
    params:
        cli=RINGRIFT,
    shell:
        "{params.cli} summarize --output {output.summary} {input.combined} > {log} 2>&1"
