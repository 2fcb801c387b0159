"""Dataset statistics with polars lazy scans (parts or an aggregate, local or
remote): only small aggregates are ever collected, never the samples."""
from __future__ import annotations

import fsspec
import polars as pl

from ..azblob import polars_options
from .parts import DataError


def _sources(paths: list[str]) -> list[str]:
    out = []
    for p in paths:
        try:
            fs, root = fsspec.core.url_to_fs(p)
            isdir = fs.isdir(root)
            exists = isdir or fs.exists(root)
        except (OSError, ValueError, ImportError) as exc:
            raise DataError(f"cannot reach {p}: {exc}") from None
        if isdir:
            proto = p.split("://")[0] + "://" if "://" in p else ""
            out += [proto + f for f in sorted(fs.find(root)) if f.endswith(".parquet")]
        elif exists:
            out.append(p)
        else:
            raise DataError(f"no such dataset path: {p}")
    if not out:
        raise DataError(f"no .parquet files under {', '.join(paths)}")
    return out


def dataset_stats(paths: list[str]) -> dict:
    files = _sources(paths)
    lf = pl.scan_parquet(files, storage_options=polars_options(files)).select(
        "game_id", "game_hash", "move_number", "player_to_move", "outcome",
        pl.col("victory_type").cast(pl.String), "game_decisions", "phase", "winner")
    games = lf.group_by("game_id").agg(
        pl.col("victory_type").first(), pl.col("game_decisions").first(),
        pl.col("winner").first(), pl.col("game_hash").n_unique().alias("hashes"))
    try:
        totals = lf.select(pl.len().alias("samples"),
                           pl.col("game_id").n_unique().alias("games")).collect().row(0)
        by_seat = (lf.group_by("player_to_move")
                   .agg(pl.col("outcome").mean().alias("mean_outcome"), pl.len().alias("n"))
                   .sort("player_to_move").collect())
        wins = games.group_by("winner").len().sort("winner").collect()
        victory = games.group_by("victory_type").len().sort("victory_type").collect()
        lengths = games.select(
            pl.col("game_decisions").mean().alias("mean"),
            pl.col("game_decisions").min().alias("min"),
            pl.col("game_decisions").median().alias("p50"),
            pl.col("game_decisions").max().alias("max"),
            (pl.col("hashes") > 1).sum().alias("clashes")).collect().row(0, named=True)
        phases = lf.group_by("phase").len().sort("phase").collect()
        distinct = lf.select("game_id", "move_number").unique().select(pl.len()).collect().item()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"cannot read dataset: {str(exc).splitlines()[0]}") from None
    samples, ngames = totals
    nbytes = 0
    for f in files:
        fs, root = fsspec.core.url_to_fs(f)
        nbytes += fs.size(root)
    return {
        "files": len(files),
        "games": ngames,
        "samples": samples,
        "samples_per_game": samples / ngames if ngames else 0.0,
        "bytes": nbytes,
        "bytes_per_sample": nbytes / samples if samples else 0.0,
        "outcome_by_seat": {str(r["player_to_move"]): {"samples": r["n"],
                                                       "mean_outcome": r["mean_outcome"]}
                            for r in by_seat.iter_rows(named=True)},
        "wins_by_seat": {str(k): v for k, v in wins.iter_rows()},
        "victory_types": {k: v for k, v in victory.iter_rows()},
        "game_length": {"mean": float(lengths["mean"] or 0), "min": int(lengths["min"] or 0),
                        "p50": float(lengths["p50"] or 0), "max": int(lengths["max"] or 0)},
        "phase_mix": {str(k): v for k, v in phases.iter_rows()},
        "duplicate_game_ids": int(lengths["clashes"] or 0),
        "duplicate_samples": int(samples - distinct),
    }


def format_stats(st: dict) -> str:
    """dataset_stats as the lines `ringrift inspect` prints."""
    from ..engine.layout import PHASE_NAMES

    gl = st["game_length"]
    return "\n".join([
        f"{st['files']} file(s), {st['games']} games, {st['samples']} samples "
        f"({st['samples_per_game']:.1f} per game), {st['bytes_per_sample']:.0f} bytes/sample",
        "outcome by seat to move: " + ", ".join(
            f"p{k} {v['mean_outcome']:.3f} over {v['samples']}"
            for k, v in st["outcome_by_seat"].items()),
        "wins by seat: " + ", ".join(("draw" if k == "0" else f"p{k}") + f" {v}"
                                     for k, v in st["wins_by_seat"].items()),
        "victory types: " + ", ".join(f"{k} {v}" for k, v in st["victory_types"].items()),
        f"game length (decisions): mean {gl['mean']:.1f}, min {gl['min']}, "
        f"median {gl['p50']:.0f}, max {gl['max']}",
        "phase mix: " + ", ".join(f"{PHASE_NAMES[int(k)]} {v}"
                                  for k, v in st["phase_mix"].items()),
        f"duplicate game ids: {st['duplicate_game_ids']}, "
        f"duplicate samples: {st['duplicate_samples']}",
    ])
