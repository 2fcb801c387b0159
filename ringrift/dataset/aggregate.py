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

import math
import os
import shutil
import tempfile

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from .parts import ROW_GROUP_ROWS, DataError, _atomic_write_bytes, part_stats, read_part

BUCKET_ROWS = 50_000


def _seeded(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *key]))


def _plain(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type)
                      else f for f in schema], metadata=schema.metadata)


def aggregate(parts: list[str], output: str, seed: int, *, bucket_rows: int = BUCKET_ROWS,
              scratch: str | None = None) -> dict:
    if not parts:
        raise DataError("no parts to aggregate")
    parts = sorted(parts)
    # Read only footers first: totals decide the bucket count.
    total = 0
    for uri in parts:
        try:
            with fsspec.open(uri, "rb") as fh:
                total += pq.ParquetFile(fh).metadata.num_rows
        except FileNotFoundError:
            raise DataError(f"part not found: {uri}") from None
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"corrupt or unreadable part {uri}: {exc}") from None
    nb = max(1, math.ceil(total / bucket_rows))
    tmp = tempfile.mkdtemp(prefix="ringrift-agg-", dir=scratch)
    try:
        schema = None
        writers = []
        games: set[str] = set()
        games_total = 0
        stats_total = {"games": 0, "samples": 0}
        for pi, uri in enumerate(parts):
            table = read_part(uri)
            st = part_stats(table)
            if table.num_rows != st["samples"]:
                raise DataError(f"{uri}: {table.num_rows} rows but its stats say {st['samples']}")
            ids = set(table.column("game_id").to_pylist())
            if len(ids) != st["games"]:
                raise DataError(f"{uri}: {len(ids)} games but its stats say {st['games']}")
            dup = games & ids
            if dup:
                raise DataError(f"{uri}: game id {sorted(dup)[0]} already seen in another part")
            games |= ids
            games_total += st["games"]
            stats_total["games"] += st["games"]
            stats_total["samples"] += st["samples"]
            # dictionary columns are decoded so bucket streams never see two
            # different dictionaries (Parquet dictionary-encodes them again)
            table = table.cast(_plain(table.schema))
            if schema is None:
                schema = table.schema
                writers = [ipc.new_stream(os.path.join(tmp, f"b{b}.arrow"), schema)
                           for b in range(nb)]
            elif not table.schema.equals(schema, check_metadata=False):
                raise DataError(f"{uri}: schema differs from {parts[0]}")
            table = table.replace_schema_metadata(schema.metadata)
            bucket = _seeded(seed, 1, pi).integers(0, nb, size=table.num_rows)
            for b in range(nb):
                idx = np.flatnonzero(bucket == b)
                if len(idx):
                    writers[b].write_table(table.take(pa.array(idx)))
        for w in writers:
            w.close()
        meta = dict(schema.metadata or {})
        meta.pop(b"ringrift.stats", None)
        meta[b"ringrift.aggregate"] = (
            f'{{"parts": {len(parts)}, "games": {stats_total["games"]}, '
            f'"samples": {stats_total["samples"]}, "seed": {int(seed)}}}').encode()
        out_schema = schema.with_metadata(meta)
        local_out = os.path.join(tmp, "combined.parquet")
        rows = 0
        with pq.ParquetWriter(local_out, out_schema, compression="zstd",
                              compression_level=6, write_statistics=False) as pw:
            for b in range(nb):
                with ipc.open_stream(os.path.join(tmp, f"b{b}.arrow")) as rd:
                    bt = rd.read_all()
                os.unlink(os.path.join(tmp, f"b{b}.arrow"))
                if bt.num_rows == 0:
                    continue
                perm = _seeded(seed, 2, b).permutation(bt.num_rows)
                pw.write_table(bt.take(pa.array(perm)).replace_schema_metadata(meta),
                               row_group_size=ROW_GROUP_ROWS)
                rows += bt.num_rows
        if rows != stats_total["samples"]:
            raise DataError(f"aggregate holds {rows} rows, parts' stats say {stats_total['samples']}")
        _publish(local_out, output)
        return {"parts": len(parts), "games": games_total, "samples": rows, "buckets": nb}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(local_path: str, output: str) -> None:
    fs, path = fsspec.core.url_to_fs(output)
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    if "file" in protocols:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + ".tmp"
        try:
            shutil.copyfile(local_path, tmp)
            os.replace(tmp, path)
        except BaseException:  # e.g. the output is a folder: leave no .tmp behind
            if os.path.isfile(tmp):
                os.unlink(tmp)
            raise
    else:
        with open(local_path, "rb") as fh:
            _atomic_write_bytes(output, fh.read())
