# The export's plan: how many chunk jobs, their pieces and the parts' move
# tables (pure functions of config), and the chunk jobs' memory (from their
# inputs' sizes).

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


def export_move_tables(wildcards):
    """The move tables of a dataset's parts (rule export_moves), in game order."""
    return [f"{PREFIX}/{wildcards.dataset}/export/moves/part_{k:05d}.parquet"
            for k in range(num_parts(wildcards.dataset))]


def export_moves_part(wildcards):
    """The part a move table is made from. With `--batch aggregate=i/n` before
    the last batch, jobs after the aggregate (these, through their aggregate
    input) are omitted, but their inputs would still be planned: every
    batch's parts. So none then."""
    batch = workflow.dag_settings.batch
    if batch is not None and not batch.is_final:
        return []
    k = int(wildcards.part)
    if k >= num_parts(wildcards.dataset):
        raise ValueError(f"dataset {wildcards.dataset} has no part {k:05d}")
    return part_path(wildcards.dataset, k)


# The memory of a chunk job (resources.mem_mb), from the sizes of its move
# tables (known when the job is about to run; `-n` shows <TBD>):
# - a loaded table is 60 bytes a step (ringrift/export/moves.py STEP_BYTES:
#   int16 move, facts and legal index, 16 bytes of digest), in the heap or a
#   mapped scratch file whose pages count against the job's memory as well;
# - its file is at least 16 bytes a step: the digest, 2 x uint64 of hash
#   output, which zstd cannot shrink (measured: 17.8 bytes a step, 1M square8
#   samples, 1.76M steps in 31.3 MB), so loaded tables take at most 60/16 =
#   3.75 x their files' size (measured 3.37 x);
# - the export's own memory, without its tables: measured 0.9 GB (chunk 0/4
#   of 1M square8 samples) to 1.14 GiB (chunk 0/7 of 10M: 137k games), incl.
#   the per-game index (~200 bytes a game, ~0.09 x the files' size: within
#   the gap between 3.75 and the measured 3.37); EXPORT_BASE_MB leaves room.
# Measured, 10M square8 samples (10 tables, 299 MiB of files, 17.6M steps):
# this gives 2321 MB; the chunk job peaked at 2144 MiB (1006 MiB of it the
# tables, mapped); with the int32 tables of table version 1 it was 3206 MiB.
EXPORT_BASE_MB = 1200
EXPORT_TABLE_MEM_PER_FILE_BYTE = 60 / 16


def export_chunk_mem_mb(wildcards, input):
    """mem_mb of a chunk job: EXPORT_BASE_MB + its loaded move tables, at
    most EXPORT_TABLE_MEM_PER_FILE_BYTE x their files' size."""
    tables_mb = sum(
        mb for f, mb in zip(input, input.size_files_mb) if f != input.combined
    )
    return int(EXPORT_BASE_MB + EXPORT_TABLE_MEM_PER_FILE_BYTE * tables_mb) + 1
