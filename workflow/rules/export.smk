# Export: the aggregate as .jsonl.gz lines in the seed's sample format.
# Chunk jobs export contiguous row ranges of the aggregate (`--chunk K/N`,
# each one gzip member) in parallel; `ringrift concat` joins them in order, so
# the result decompresses to exactly what one `ringrift export` job writes.

# Games per chunk job when the dataset sets no `export_chunks`: ~280k square8
# samples, under a minute at the fast path's rate.
EXPORT_GAMES_PER_CHUNK = 20_000


def export_chunks(dataset):
    """How many chunk jobs export a dataset: its `export_chunks` setting when
    given, else one per EXPORT_GAMES_PER_CHUNK games of the aggregate."""
    d = ds(dataset)
    if d.get("export_chunks"):
        return int(d["export_chunks"])
    return max(1, -(-int(d["total_games"]) // EXPORT_GAMES_PER_CHUNK))


def export_pieces(wildcards):
    n = export_chunks(wildcards.dataset)
    return [f"{PREFIX}/{wildcards.dataset}/export/chunk_{k:04d}_of_{n:04d}.jsonl.gz"
            for k in range(n)]


rule export_chunk:
    input:
        combined=f"{PREFIX}/{{dataset}}/combined_training.parquet",
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
        mem_mb=1500,
    shell:
        "NUMBA_NUM_THREADS={threads} ringrift export --chunk {params.chunk}"
        " --output {output.piece} {input.combined} > {log} 2>&1"


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
