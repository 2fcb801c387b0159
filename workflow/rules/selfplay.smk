# Self-play: one job per part. Part k holds the dataset's games
# k*games_per_part onwards, each seeded from (dataset seed, global game index),
# so any part can be rebuilt alone, byte-identical, and growing total_games
# only adds parts. Its params are exactly the game-defining settings: changing
# one reruns self-play ("params changed"); anything else does not touch parts.

import shlex


rule selfplay_part:
    output:
        part=f"{PREFIX}/selfplay/{{dataset}}/worker_{{worker}}/part_{{part}}.parquet",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/selfplay/{dataset}/worker_{worker}/part_{part}.log",
    params:
        games=part_info,
        g=game_settings,
        swap=lambda wc: "--swap-rule" if ds(wc.dataset)["swap_rule"] else "",
        # which game each index plays (a new version replays every part)
        seeds=GAME_SEEDS,
        # the parts' format and rules: an older part is replayed, not mixed in
        schema=SCHEMA_VERSION,
        engine=ENGINE_VERSION,
        # what pins the players' play: the heuristic profile (and its weights'
        # digest) and, for bands with a level past version 1, the players'
        # version (older parts are replayed; empty otherwise, so those
        # datasets' parts stay as they are)
        players=lambda wc: (
            (f"--heuristic-profile {shlex.quote(ds(wc.dataset)['heuristic_profile'])}"
            f" --heuristic-profile-digest {profile_digest(ds(wc.dataset)['heuristic_profile'], ds(wc.dataset)['board_type'])}"
            if ds(wc.dataset)["heuristic_profile"] else "")
            + players_version_arg(ds(wc.dataset))),
        model=model_args,
        # a part of a dataset whose worker count changed may already exist in
        # another worker's folder: the worker moves it instead of replaying it
        reuse=lambda wc: f"{PREFIX}/selfplay/{wc.dataset}/worker_*/part_{wc.part}.parquet",
    threads: lambda wc: (ds(wc.dataset).get("model") or {}).get("threads", 1)
    resources:
        mem_mb=lambda wc: 2000 if ds(wc.dataset).get("model") else 1000,
    shell:
        "NUMBA_NUM_THREADS={threads} ringrift selfplay --quiet --stats-json"
        " --num-games {params.games[games]} --game-offset {params.games[first]}"
        " --board-type {params.g[board_type]} --num-players {params.g[num_players]}"
        " --engine-mode {params.g[engine_mode]} --difficulty-band {params.g[difficulty_band]}"
        " --sample-every-n-moves {params.g[sample_every_n_moves]}"
        " --max-moves {params.g[max_moves]} --seed {params.g[seed]} --game-seeds {params.seeds}"
        " --schema-version {params.schema} --engine-version {params.engine}"
        " {params.swap} {params.players} {params.model}"
        " --worker-id {wildcards.dataset}_p{wildcards.part} --reuse {params.reuse:q}"
        " --output {output.part} > {log} 2>&1"
