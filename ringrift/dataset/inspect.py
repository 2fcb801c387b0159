"""Dataset statistics with polars lazy scans (parts or an aggregate, local or
remote): only small aggregates are ever collected, never the samples."""

from __future__ import annotations

import json

import fsspec
import polars as pl
import pyarrow.parquet as pq

from ..azblob import polars_options
from ..storage import parquet_files
from . import parts
from .parts import STATS_KEY, DataError


def _proto(p: str) -> str:
    return p.split("://")[0] + "://" if "://" in p else ""


def _footer(uri: str) -> pq.FileMetaData:
    """The file's Parquet footer, or DataError naming the file."""
    try:
        with fsspec.open(uri, "rb") as fh:
            return pq.ParquetFile(fh).metadata
    except FileNotFoundError:
        raise DataError(f"no such dataset file: {uri}") from None
    except Exception as exc:  # any decoding failure of a damaged footer
        raise DataError(f"corrupt or unreadable file {uri}: {exc}") from None


def file_stats(meta: pq.FileMetaData) -> dict:
    try:
        return json.loads((meta.metadata or {}).get(STATS_KEY, b"{}"))
    except ValueError:
        return {}


def is_aggregate(meta: pq.FileMetaData) -> bool:
    return file_stats(meta).get("kind") == "aggregate"


def verify_file(uri: str) -> int:
    """Everything `ringrift verify` checks of one file (digest, page checksums,
    versions, values): a truncated or corrupt file fails here, named. Its rows."""
    meta = parts.verify_file(uri)
    rows = sum(b.num_rows for b in parts.iter_checked_batches(uri))
    if rows != meta.num_rows:
        raise DataError(f"corrupt file {uri}: {rows} rows read, its footer says {meta.num_rows}")
    return rows


def select_sources(paths: list[str]) -> tuple[list[str], str]:
    files, _, note = _select(paths)
    return files, note


def _select(paths: list[str]) -> tuple[list[str], list[str], str]:
    """The files to read for ``paths``, the aggregates among them, and a line
    saying what they are. A
    folder holding an aggregate (a file whose stats say kind "aggregate", e.g.
    combined_training.parquet) stands for its aggregates alone: its parts hold
    the same samples (reading both would count them twice, and their columns
    differ in type); a folder without one stands for its parts."""
    files: list[str] = []
    aggregates: list[str] = []
    kinds = {"aggregate": 0, "part": 0}
    skipped = 0
    for p in paths:
        found = parquet_files([p])
        isdir = found != [p]
        if isdir:
            aggs = [f for f in found if is_aggregate(_footer(f))]
            chosen = aggs or found
            skipped += len(found) - len(chosen)
            kinds["aggregate" if aggs else "part"] += len(chosen)
            files += chosen
            aggregates += aggs
        else:
            files.append(p)
            agg = is_aggregate(_footer(p))
            kinds["aggregate" if agg else "part"] += 1
            aggregates += [p] if agg else []
    if not files:
        raise DataError(f"no .parquet files under {', '.join(paths)}")
    files = list(dict.fromkeys(files))
    words = [f"{n} {k}{'s' if n != 1 else ''}" for k, n in kinds.items() if n]
    note = "reading " + " and ".join(words)
    if skipped:
        note += f" (skipping {skipped} part{'s' if skipped != 1 else ''} that the aggregate holds)"
    if kinds["aggregate"] and kinds["part"]:
        note += "; parts and aggregates given together: samples may be counted twice"
    return files, aggregates, note


def scan(files: list[str], aggregates: list[str] | None = None) -> pl.LazyFrame:
    """One lazy frame over parts and/or aggregates. Parts store the string
    columns dictionary-encoded (Categorical), aggregates plain: aggregates go
    first so the common type is String."""
    if aggregates is None:
        aggregates = [f for f in files if is_aggregate(_footer(f))]
    first = set(aggregates)
    ordered = [f for f in files if f in first] + [f for f in files if f not in first]
    return pl.scan_parquet(
        ordered,
        storage_options=polars_options(ordered),
        cast_options=pl.ScanCastOptions(categorical_to_string="allow"),
    )


def dataset_stats(paths: list[str], verify: bool = True) -> dict:
    """Statistics of the dataset at ``paths``; with ``verify`` every file is
    read in full first (a bad file is named, never summarised)."""
    files, aggregates, note = _select(paths)
    if verify:
        for f in files:
            verify_file(f)
    lf = scan(files, aggregates).select(
        "game_id",
        "game_hash",
        "game_seed",
        "move_number",
        "player_to_move",
        "outcome",
        pl.col("victory_type").cast(pl.String),
        "game_decisions",
        "phase",
        "winner",
    )
    games = lf.group_by("game_id").agg(
        pl.col("victory_type").first(),
        pl.col("game_decisions").first(),
        pl.col("winner").first(),
        pl.col("game_hash").n_unique().alias("hashes"),
    )
    try:
        totals = (
            lf.select(pl.len().alias("samples"), pl.col("game_id").n_unique().alias("games"))
            .collect()
            .row(0)
        )
        by_seat = (
            lf.group_by("player_to_move")
            .agg(pl.col("outcome").mean().alias("mean_outcome"), pl.len().alias("n"))
            .sort("player_to_move")
            .collect()
        )
        wins = games.group_by("winner").len().sort("winner").collect()
        victory = games.group_by("victory_type").len().sort("victory_type").collect()
        lengths = (
            games.select(
                pl.col("game_decisions").mean().alias("mean"),
                pl.col("game_decisions").min().alias("min"),
                pl.col("game_decisions").median().alias("p50"),
                pl.col("game_decisions").max().alias("max"),
                (pl.col("hashes") > 1).sum().alias("clashes"),
            )
            .collect()
            .row(0, named=True)
        )
        phases = lf.group_by("phase").len().sort("phase").collect()
        distinct = lf.select("game_id", "move_number").unique().select(pl.len()).collect().item()
        # the same game (seed and moves) under more than one id
        same = (
            lf.select("game_id", "game_seed", "game_hash")
            .unique()
            .group_by("game_seed", "game_hash")
            .len()
            .select((pl.col("len") - 1).sum())
            .collect()
            .item()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"cannot read dataset: {str(exc).splitlines()[0]}") from None
    samples, ngames = totals
    nbytes = 0
    for f in files:
        fs, root = fsspec.core.url_to_fs(f)
        nbytes += fs.size(root)
    return {
        "source": note,
        "files": len(files),
        "games": ngames,
        "samples": samples,
        "samples_per_game": samples / ngames if ngames else 0.0,
        "bytes": nbytes,
        "bytes_per_sample": nbytes / samples if samples else 0.0,
        "outcome_by_seat": {
            str(r["player_to_move"]): {"samples": r["n"], "mean_outcome": r["mean_outcome"]}
            for r in by_seat.iter_rows(named=True)
        },
        "wins_by_seat": {str(k): v for k, v in wins.iter_rows()},
        "victory_types": {k: v for k, v in victory.iter_rows()},
        "game_length": {
            "mean": float(lengths["mean"] or 0),
            "min": int(lengths["min"] or 0),
            "p50": float(lengths["p50"] or 0),
            "max": int(lengths["max"] or 0),
        },
        "phase_mix": {str(k): v for k, v in phases.iter_rows()},
        "duplicate_game_ids": int(lengths["clashes"] or 0),
        "duplicate_samples": int(samples - distinct),
        "duplicate_games": int(same or 0),
        "provenance": _provenance(files),
    }


def _provenance(files: list[str]) -> list[dict]:
    """Per file: the parts it was made from (aggregates) or its own settings."""
    out = []
    for f in files:
        st = file_stats(_footer(f))
        if st.get("kind") == "aggregate":
            out.append(
                {"file": f, "aggregate_of": st.get("provenance", []), "seed": st.get("seed")}
            )
        else:
            keep = (
                "worker_id",
                "game_offset",
                "games",
                "samples",
                "seed",
                "engine_mode",
                "difficulty_band",
                "engine_version",
                "schema_version",
            )
            out.append({"file": f, **{k: st[k] for k in keep if k in st}})
    return out


def format_stats(st: dict) -> str:
    """dataset_stats as the lines `ringrift inspect` prints."""
    from ..engine.layout import PHASE_NAMES

    gl = st["game_length"]
    return "\n".join(
        [
            *([st["source"]] if "source" in st else []),
            f"{st['files']} file(s), {st['games']} games, {st['samples']} samples "
            f"({st['samples_per_game']:.1f} per game), {st['bytes_per_sample']:.0f} bytes/sample",
            "outcome by seat to move: "
            + ", ".join(
                f"p{k} {v['mean_outcome']:.3f} over {v['samples']}"
                for k, v in st["outcome_by_seat"].items()
            ),
            "wins by seat: "
            + ", ".join(
                ("draw" if k == "0" else f"p{k}") + f" {v}" for k, v in st["wins_by_seat"].items()
            ),
            "victory types: " + ", ".join(f"{k} {v}" for k, v in st["victory_types"].items()),
            f"game length (decisions): mean {gl['mean']:.1f}, min {gl['min']}, "
            f"median {gl['p50']:.0f}, max {gl['max']}",
            "phase mix: "
            + ", ".join(f"{PHASE_NAMES[int(k)]} {v}" for k, v in st["phase_mix"].items()),
            f"duplicate game ids: {st['duplicate_game_ids']}, "
            f"duplicate samples: {st['duplicate_samples']}, "
            f"duplicate games (same seed and moves): {st.get('duplicate_games', 0)}",
            *_provenance_lines(st.get("provenance", [])),
        ]
    )


def _provenance_lines(prov: list[dict]) -> list[str]:
    lines = ["provenance:"] if prov else []
    for p in prov:
        if "aggregate_of" in p:
            lines.append(
                f"  {p['file']}: aggregate (seed {p['seed']}) of {len(p['aggregate_of'])} part(s)"
            )
            for q in p["aggregate_of"]:
                lines.append(
                    f"    {q['part']}: games {q['game_offset']}-"
                    f"{q['game_offset'] + q['games'] - 1}, {q['rows']} rows, "
                    f"worker {q['worker_id']}, engine v{q['engine_version']}, "
                    f"schema v{q['schema_version']}, digest {q['digest']}"
                )
        else:
            first = p.get("game_offset", 0)
            lines.append(
                f"  {p['file']}: part, games {first}-{first + p.get('games', 0) - 1}, "
                f"{p.get('samples')} rows, worker {p.get('worker_id')}, "
                f"engine v{p.get('engine_version')}, schema v{p.get('schema_version')}"
            )
    return lines
