# CMA-ES tuning of the heuristic weights (ringrift/tuning). Generations are
# file targets under {prefix}/tuning/{run}/: an interrupted run resumes at the
# first missing file and a rerun is byte-identical. Evaluation jobs (one per
# candidate) and promotion/validation matches play games and run wherever the
# profile sends jobs; ask/tell/summary steps are cheap and stay local.
# Run: snakemake --profile profiles/local tune

TUNE = f"{PREFIX}/tuning/{{run}}"


wildcard_constraints:
    run="[A-Za-z0-9][A-Za-z0-9_.-]*",
    gen="[0-9]{3}",
    it="[0-9]{2}",
    cand="[0-9]{3}",


rule tune_init:
    output:
        settings=f"{TUNE}/{TF.SETTINGS}",
        baseline=f"{TUNE}/{TF.baseline_file(0)}",
    params:
        settings=lambda wc: json.dumps(tuning(wc.run), sort_keys=True),
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/tuning/{run}/init.log",
    localrule: True
    shell:
        "ringrift tune init --run-dir $(dirname {output.settings}) --run {wildcards.run}"
        " --settings {params.settings:q} > {log} 2>&1"


rule tune_ask:
    input:
        t_ask_inputs,
    output:
        candidates=f"{TUNE}/{TF.CANDIDATES}",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/tuning/{run}/gen_{gen}/ask.log",
    localrule: True
    shell:
        "ringrift tune ask --run-dir $(dirname $(dirname {output.candidates}))"
        " --generation {wildcards.gen} > {log} 2>&1"


rule tune_evaluate:
    input:
        settings=f"{TUNE}/{TF.SETTINGS}",
        candidates=f"{TUNE}/{TF.CANDIDATES}",
        baseline=t_baseline,
    output:
        profile=f"{TUNE}/{TF.CAND}",
        score=f"{TUNE}/{TF.EVAL}",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/tuning/{run}/gen_{gen}/eval_{cand}.log",
    threads: 1
    resources:
        mem_mb=1000,
    shell:
        "NUMBA_NUM_THREADS={threads} ringrift tune evaluate"
        " --run-dir $(dirname {input.settings}) --generation {wildcards.gen}"
        " --candidate {wildcards.cand} > {log} 2>&1"


rule tune_tell:
    input:
        settings=f"{TUNE}/{TF.SETTINGS}",
        candidates=f"{TUNE}/{TF.CANDIDATES}",
        baseline=t_baseline,
        scores=t_evals,
    output:
        result=f"{TUNE}/{TF.RESULT}",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/tuning/{run}/gen_{gen}/tell.log",
    localrule: True
    shell:
        "ringrift tune tell --run-dir $(dirname {input.settings})"
        " --generation {wildcards.gen} > {log} 2>&1"


rule tune_promote:
    # the next iteration's baseline: the best candidate if fresh games confirm it
    input:
        settings=f"{TUNE}/{TF.SETTINGS}",
        baseline=lambda wc: tfile(wc.run, TF.baseline_file(int(wc.it) - 1)),
        results=lambda wc: t_iteration_results(wc.run, int(wc.it) - 1),
    output:
        baseline=f"{TUNE}/{TF.BASELINE}",
    wildcard_constraints:
        it="0[1-9]|[1-9][0-9]",  # iter_00 is the start (tune_init)
    params:
        previous=lambda wc: int(wc.it) - 1,
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/tuning/{run}/promote_{it}.log",
    threads: 1
    shell:
        "NUMBA_NUM_THREADS={threads} ringrift tune promote --run-dir $(dirname {input.settings})"
        " --iteration {params.previous} > {log} 2>&1"


rule tune_profile:
    input:
        settings=f"{TUNE}/{TF.SETTINGS}",
        baselines=t_baselines,
    output:
        profile=f"{TUNE}/{TF.PROFILE}",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/tuning/{run}/profile.log",
    localrule: True
    shell:
        "ringrift tune profile --run-dir $(dirname {input.settings})"
        " --output {output.profile} > {log} 2>&1"


rule tune_validate:
    input:
        settings=f"{TUNE}/{TF.SETTINGS}",
        start=f"{TUNE}/{TF.baseline_file(0)}",
        profile=f"{TUNE}/{TF.PROFILE}",
    output:
        validation=f"{TUNE}/{TF.VALIDATION}",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/tuning/{run}/validate.log",
    threads: 1
    shell:
        "NUMBA_NUM_THREADS={threads} ringrift tune validate --run-dir $(dirname {input.settings})"
        " --profile {input.profile} --output {output.validation} > {log} 2>&1"


rule tune_summary:
    input:
        settings=f"{TUNE}/{TF.SETTINGS}",
        results=lambda wc: [tfile(wc.run, TF.result_file(g)) for g in range(t_gens(wc))],
        baselines=t_baselines,
        validation=f"{TUNE}/{TF.VALIDATION}",
    output:
        summary=f"{TUNE}/{TF.SUMMARY}",
        plot=report(f"{TUNE}/{TF.FITNESS_PLOT}", category="Tuning", subcategory="{run}",
                    caption="../report/tuning.rst",
                    labels={"run": "{run}", "figure": "fitness per generation"}),
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/tuning/{run}/summary.log",
    localrule: True
    shell:
        "ringrift tune summarize --run-dir $(dirname {input.settings})"
        " --validation {input.validation} --output {output.summary}"
        " --plot {output.plot} > {log} 2>&1"


rule tune:
    input:
        tuning_targets(),
