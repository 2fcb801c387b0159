# Report: dataset statistics of the aggregate (JSON) and plots registered for
# `snakemake --report report.html`.


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


rule plots:
    input:
        combined=f"{PREFIX}/{{dataset}}/combined_training.parquet",
    output:
        **{name: report(f"{PREFIX}/{{dataset}}/plots/{name}.png",
                        caption=f"../report/{name}.rst", category="{dataset}",
                        labels={"dataset": "{dataset}", "figure": title})
           for name, title in PLOTS.items()},
    params:
        # throughput comes from the self-play logs (timing is not data);
        # parts whose log is elsewhere (cloud) are left out of that plot
        logs=lambda wc: [part_log(wc.dataset, k) for k in range(num_parts(wc.dataset))],
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/plots/{dataset}.log",
    shell:
        "ringrift plots {input.combined} --outdir $(dirname {output.game_length})"
        " --logs {params.logs} > {log} 2>&1"
