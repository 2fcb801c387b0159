# Export: the aggregate as .jsonl.gz lines in the seed's sample format.
# Chunk jobs export contiguous row ranges of the aggregate (`--chunk K/N`,
# each one gzip member) in parallel; `ringrift concat` joins them in order, so
# the result decompresses to exactly what one `ringrift export` job writes.
# A shuffled aggregate spreads every game over every chunk: each part's move
# table (its games' steps, replayed once, in parallel) spares every chunk job
# replaying every game (ringrift/export/moves.py); the bytes are the same.

# export_chunks(dataset) and export_pieces: see export_plan.smk (the linter
# wants functions apart from rules; common.smk is shared by every step).
include: "export_plan.smk"


rule export_moves:
    input:
        part=export_moves_part,
        # after the aggregate, as the export: the tables only serve it, and
        # `--batch aggregate=i/n` must play no more than the batch's parts
        combined=f"{PREFIX}/{{dataset}}/combined_training.parquet",
    output:
        table=temp(f"{PREFIX}/{{dataset}}/export/moves/part_{{part}}.parquet"),
    wildcard_constraints:
        part="[0-9]{5}",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/export/{dataset}/moves/part_{part}.log",
    threads: 1
    resources:
        # bounded whatever the part's size: games are recorded 250k steps at
        # a time (ringrift/export/moves.py CHUNK_STEPS); measured 0.55-0.57 GB
        # peak on square8 (5.1M steps), square19 and hexagonal parts
        mem_mb=1000,
    shell:
        "NUMBA_NUM_THREADS={threads} ringrift moves {input.part}"
        " --output {output.table} > {log} 2>&1"


rule export_chunk:
    input:
        combined=f"{PREFIX}/{{dataset}}/combined_training.parquet",
        moves=export_move_tables,
    output:
        piece=temp(f"{PREFIX}/{{dataset}}/export/chunk_{{k}}_of_{{n}}.jsonl.gz"),
    wildcard_constraints:
        k="[0-9]{4}",
        n="[0-9]{4}",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/export/{dataset}/chunk_{k}_of_{n}.log",
    params:
        chunk=lambda wc: f"{int(wc.k)}/{int(wc.n)}",
    threads: 1
    resources:
        # from its move tables' sizes (export_plan.smk: 60 bytes a loaded
        # step, at most 3.75 x the file; ~2.4 GB for 10M square8 samples)
        mem_mb=export_chunk_mem_mb,
    shell:
        "NUMBA_NUM_THREADS={threads} ringrift export --chunk {params.chunk}"
        " --output {output.piece} {input.combined} --moves {input.moves} > {log} 2>&1"


rule export_jsonl:
    input:
        pieces=export_pieces,
    output:
        jsonl=f"{PREFIX}/{{dataset}}/combined_training.jsonl.gz",
    conda:
        "../envs/ringrift.yaml"
    log:
        "logs/export/{dataset}.log",
    shell:
        "ringrift concat --output {output.jsonl} {input.pieces} > {log} 2>&1"
