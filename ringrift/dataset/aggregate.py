"""Seeded shuffle of many parts into one training file, never holding the
dataset in memory (two-pass bucket shuffle).

Pass 1 reads the parts one at a time, checks each against its own stats, and
scatters its rows into B bucket files on local scratch disk (each row's bucket
drawn from a generator seeded by (seed, part number)). Pass 2 loads one bucket
at a time, permutes it with a generator seeded by (seed, bucket) and appends it
to the output. Memory is one part or one bucket; the result depends only on the
seed and the sorted list of parts.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ..storage import redact_uri
from .parts import (
    DIGEST_KEY, STATS_KEY, DataError, DigestParquetWriter, atomic_output, read_part,
)

BUCKET_ROWS = 50_000


def _seeded(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *key]))


def _plain(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type)
                      else f for f in schema], metadata=schema.metadata)


def _footers(parts: list[str]) -> list[tuple[str, dict, dict]]:
    """(uri, key-value metadata, stats) of every part, from footers only."""
    out = []
    for uri in parts:
        try:
            with fsspec.open(uri, "rb") as fh:
                kv = pq.ParquetFile(fh).metadata.metadata or {}
        except FileNotFoundError:
            raise DataError(f"part not found: {uri}") from None
        except IsADirectoryError:
            raise DataError(f"{uri} is a folder, not a part") from None
        except (pa.ArrowInvalid, OSError, ValueError) as exc:
            raise DataError(f"corrupt or unreadable part {uri}: {exc}") from None
        if STATS_KEY not in kv:
            raise DataError(f"{uri} is not a ringrift part (no stats)")
        out.append((uri, kv, json.loads(kv[STATS_KEY])))
    for key in (b"ringrift.schema_version", b"ringrift.engine_version"):
        seen = {}
        for uri, kv, _ in out:
            seen.setdefault(kv.get(key), uri)
        if len(seen) > 1:
            (v1, u1), (v2, u2) = list(seen.items())[:2]
            name = key.decode().split(".")[1].replace("_", " ")
            raise DataError(f"parts from different {name}s: {u1} has {v1 and v1.decode()}, "
                            f"{u2} has {v2 and v2.decode()}")
    return out


def provenance_entry(uri: str, stats: dict, kv: dict) -> dict:
    """What an aggregate records of one part. The file name, not its folder:
    which worker folder held a part is scheduling, and the aggregate must not
    change when the dataset's worker count does."""
    return {"part": part_name(uri), "rows": stats["samples"], "games": stats["games"],
            "game_offset": stats.get("game_offset", 0), "worker_id": stats.get("worker_id"),
            "seed": stats.get("seed"), "digest": kv[DIGEST_KEY].decode(),
            "schema_version": int(kv[b"ringrift.schema_version"]),
            "engine_version": int(kv[b"ringrift.engine_version"]),
            "package_version": kv.get(b"ringrift.package_version", b"").decode()}


def part_name(uri: str) -> str:
    return redact_uri(uri).rstrip("/").rsplit("/", 1)[-1]


def aggregate(parts: list[str], output: str, seed: int, *, bucket_rows: int = BUCKET_ROWS,
              scratch: str | None = None, drop_duplicates: bool = False) -> dict:
    """Shuffle ``parts`` into ``output``. Parts are ordered by their first
    game (then name), so the result does not depend on which worker folder or
    in which order they were given. Every part is verified as it is read; the
    same game twice (same seed and moves, whatever its id) is refused, or
    dropped with ``drop_duplicates``."""
    if not parts:
        raise DataError("no parts to aggregate")
    if scratch is not None and not os.path.isdir(scratch):
        raise DataError(f"scratch folder {scratch} does not exist")
    footers = sorted(_footers(list(parts)), key=lambda f: (f[2].get("game_offset", 0), f[0]))
    total = sum(st["samples"] for _, _, st in footers)
    nb = max(1, math.ceil(total / bucket_rows))
    try:
        tmp = tempfile.mkdtemp(prefix="ringrift-agg-", dir=scratch)
    except OSError as exc:
        raise DataError(f"cannot use scratch folder {scratch or tempfile.gettempdir()}: "
                        f"{exc.strerror}") from None
    try:
        schema = None
        writers = []
        ids: dict[str, str] = {}
        games: dict[tuple[int, int], str] = {}
        provenance = []
        dropped = 0
        for pi, (uri, kv, st) in enumerate(footers):
            table = read_part(uri)
            if table.num_rows != st["samples"]:
                raise DataError(f"{uri}: {table.num_rows} rows but its stats say {st['samples']}")
            gid = table.column("game_id").to_numpy(zero_copy_only=False)
            key_seed = table.column("game_seed").to_numpy()
            key_hash = table.column("game_hash").to_numpy()
            uniq, first = np.unique(gid, return_index=True)
            if len(uniq) != st["games"]:
                raise DataError(f"{uri}: {len(uniq)} games but its stats say {st['games']}")
            keep_games = set()
            for g, i in zip(uniq.tolist(), first.tolist()):
                key = (int(key_seed[i]), int(key_hash[i]))
                if key in games or g in ids:
                    if not drop_duplicates:
                        other = games.get(key) or ids[g]
                        raise DataError(f"{uri}: game {g} is a duplicate of a game in {other} "
                                        "(same seed and moves; use --drop-duplicates to drop it)")
                    dropped += 1
                    continue
                games[key] = uri
                ids[g] = uri
                keep_games.add(g)
            if len(keep_games) != len(uniq):
                table = table.filter(pa.array(np.isin(gid, list(keep_games))))
            # dictionary columns are decoded so bucket streams never see two
            # different dictionaries (Parquet dictionary-encodes them again)
            table = table.cast(_plain(table.schema))
            if schema is None:
                schema = table.schema
                first_uri = uri
                writers = [ipc.new_stream(os.path.join(tmp, f"b{b}.arrow"), schema)
                           for b in range(nb)]
            elif not table.schema.equals(schema, check_metadata=False):
                raise DataError(f"{uri}: its columns differ from those of {first_uri} "
                                f"({_schema_difference(schema, table.schema)})")
            table = table.replace_schema_metadata(schema.metadata)
            provenance.append(provenance_entry(uri, st, kv))
            bucket = _seeded(seed, 1, pi).integers(0, nb, size=table.num_rows)
            for b in range(nb):
                idx = np.flatnonzero(bucket == b)
                if len(idx):
                    writers[b].write_table(table.take(pa.array(idx)))
        for w in writers:
            w.close()
        meta = {k: v for k, v in (schema.metadata or {}).items()
                if k not in (STATS_KEY, DIGEST_KEY)}
        out_schema = schema.with_metadata(meta)
        stats = {"kind": "aggregate", "board_type": footers[0][2]["board_type"],
                 "num_players": footers[0][2]["num_players"],
                 "parts": len(footers), "games": len(games),
                 "samples": 0, "seed": int(seed), "dropped_duplicate_games": dropped,
                 "provenance": provenance}
        rows = 0
        with atomic_output(output) as fh:
            pw = DigestParquetWriter(fh, out_schema)
            for b in range(nb):
                with ipc.open_stream(os.path.join(tmp, f"b{b}.arrow")) as rd:
                    bt = rd.read_all()
                os.unlink(os.path.join(tmp, f"b{b}.arrow"))
                if bt.num_rows == 0:
                    continue
                perm = _seeded(seed, 2, b).permutation(bt.num_rows)
                pw.write(bt.take(pa.array(perm)).replace_schema_metadata(meta))
                rows += bt.num_rows
            stats["samples"] = rows
            want = sum(p["rows"] for p in provenance) if not dropped else rows
            if rows != want:
                raise DataError(f"aggregate holds {rows} rows, parts' stats say {want}")
            pw.close(stats)
        return {"parts": len(footers), "games": len(games), "samples": rows, "buckets": nb,
                "dropped_duplicate_games": dropped}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _schema_difference(a: pa.Schema, b: pa.Schema) -> str:
    fa, fb = {f.name: f.type for f in a}, {f.name: f.type for f in b}
    missing = [n for n in fa if n not in fb]
    extra = [n for n in fb if n not in fa]
    changed = [f"{n}: {fb[n]} vs {fa[n]}" for n in fa if n in fb and fa[n] != fb[n]]
    parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
        ([f"extra {', '.join(extra)}"] if extra else []) + changed[:2]
    return "; ".join(parts) or "column order"
