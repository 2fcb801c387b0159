"""`ringrift verify`: everything a dataset's files promise, checked.

Per file: the content digest (every byte before the footer, plus the stats),
Parquet page checksums, schema and engine versions, and the values' own
consistency (outcome / winner / values / ranks / policy). Across the parts:
no game twice (same seed and moves, whatever its id). Per aggregate: its
provenance adds up (rows, games) and names parts whose digests match the parts
given alongside. One line per problem.
"""

from __future__ import annotations

import json

from ..storage import parquet_files
from .aggregate import part_name
from .parts import DIGEST_KEY, STATS_KEY, DataError, iter_checked_batches, verify_file


def verify(paths: list[str]) -> tuple[list[str], dict]:
    """(problems, totals) for every Parquet file under ``paths``."""
    problems: list[str] = []
    files = parquet_files(paths)
    seen: dict[tuple[int, int], str] = {}
    digests: dict[str, set[str]] = {}
    aggregates = []
    totals = {"files": len(files), "parts": 0, "aggregates": 0, "games": 0, "samples": 0}
    for uri in files:
        try:
            meta = verify_file(uri)
            stats = json.loads(meta.metadata[STATS_KEY])
            keys: dict[str, tuple[int, int]] = {}
            rows = 0
            for batch in iter_checked_batches(uri):
                rows += batch.num_rows
                gid = batch.column("game_id").to_pylist()
                gseed = batch.column("game_seed").to_numpy()
                ghash = batch.column("game_hash").to_numpy()
                for g, a, b in zip(gid, gseed.tolist(), ghash.tolist()):
                    keys.setdefault(g, (a, b))
            if rows != stats["samples"]:
                raise DataError(f"{uri}: {rows} rows but its stats say {stats['samples']}")
            if len(keys) != stats["games"]:
                raise DataError(f"{uri}: {len(keys)} games but its stats say {stats['games']}")
            if len(set(keys.values())) != len(keys):
                raise DataError(f"{uri}: holds the same game (seed and moves) under two ids")
        except DataError as exc:
            problems.append(str(exc))
            continue
        digests.setdefault(part_name(uri), set()).add(meta.metadata[DIGEST_KEY].decode())
        totals["samples"] += rows
        if stats.get("kind") == "aggregate":
            totals["aggregates"] += 1
            aggregates.append((uri, stats, len(keys)))
            continue
        totals["parts"] += 1
        totals["games"] += len(keys)
        for g, key in keys.items():
            if key in seen:
                problems.append(
                    f"{uri}: game {g} duplicates a game of {seen[key]} (same seed and moves)"
                )
                break
            seen[key] = uri
    for uri, stats, ngames in aggregates:
        prov = stats.get("provenance", [])
        rows = sum(p["rows"] for p in prov)
        if not stats.get("dropped_duplicate_games") and rows != stats["samples"]:
            problems.append(
                f"{uri}: provenance lists {rows} rows, the file holds {stats['samples']}"
            )
        if ngames != stats["games"]:
            problems.append(f"{uri}: {ngames} games, its stats say {stats['games']}")
        for p in prov:
            have = digests.get(p["part"])
            if have and p["digest"] not in have:
                problems.append(
                    f"{uri}: part {p['part']} has changed since it was aggregated "
                    f"(digest {sorted(have)[0]}, recorded {p['digest']})"
                )
        if not totals["parts"]:
            totals["games"] += ngames
    return problems, totals
