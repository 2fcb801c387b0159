# The export's plan: how many chunk jobs, their pieces and the parts' move
# tables (pure functions of config).

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
