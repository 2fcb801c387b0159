# Self-play: one job per part. Each part is seeded from the dataset seed and its
# games' global indices, so any part can be rebuilt alone, byte-identical.

import shlex


rule selfplay_part:
    output:
        part=f"{PREFIX}/selfplay/{{dataset}}/worker_{{worker}}/part_{{part}}.parquet",
        stats=f"{PREFIX}/selfplay/{{dataset}}/worker_{{worker}}/part_{{part}}.stats.json",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/selfplay/{dataset}/worker_{worker}/part_{part}.log",
    params:
        d=lambda wc: ds(wc.dataset),
        info=part_info,
        swap=lambda wc: "--swap-rule" if ds(wc.dataset).get("swap_rule", False) else "",
        profile=lambda wc: (f"--heuristic-profile {shlex.quote(ds(wc.dataset)['heuristic_profile'])}"
                            if ds(wc.dataset).get("heuristic_profile") else ""),
    threads: 1
    resources:
        mem_mb=1000,
    shell:
        "NUMBA_NUM_THREADS={threads} ringrift selfplay --quiet --stats-json"
        " --num-games {params.info[games]} --game-offset {params.info[first]}"
        " --board-type {params.d[board_type]} --num-players {params.d[num_players]}"
        " --engine-mode {params.d[engine_mode]} --difficulty-band {params.d[difficulty_band]}"
        " --sample-every-n-moves {params.d[sample_every_n_moves]}"
        " --max-moves {params.d[max_moves]} --seed {params.d[seed]} {params.swap} {params.profile}"
        " --worker-id {wildcards.dataset}_w{wildcards.worker}"
        " --output {output.part} > {log} 2>&1"
