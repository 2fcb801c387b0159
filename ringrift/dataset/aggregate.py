"""Seeded shuffle of many parts into one training file, in bounded memory
(two-pass bucket shuffle).

Pass 1 streams the parts one row group at a time, each checked as it is read
(digest, page checksums, values, duplicate games), gives every row a bucket
drawn from a generator seeded by (seed, part number) and appends the rows to B
bucket files on local scratch disk (Arrow IPC, lz4). Pass 2 loads one bucket
at a time, permutes it with a generator seeded by (seed, bucket) and writes it
to the output row group by row group. B is chosen from the data: the decoded
bytes of all rows over a per-bucket memory budget. Memory is one row group in
pass 1 and one bucket in pass 2, whatever the number of rows; the result
depends only on the seed, the bucket count and the set of parts (ordered by
their first game).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import math
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from ..engine.jit import copy_range, kernel
from ..storage import redact_uri
from .parts import (
    DIGEST_KEY,
    STATS_KEY,
    DataError,
    DigestParquetWriter,
    atomic_output,
    is_local,
    iter_checked_batches,
    part_row_group_rows,
    verify_file,
)
from .schema import BYTE_COLUMNS, arrow_schema

# Decoded bytes of one bucket. Pass 2 holds one bucket (filled batch by batch
# into arrays allocated once) and the output row group being encoded; with
# ~300 MB of libraries the peak is ~1.1-1.3 GB, whatever the number of rows.
BUCKET_BYTES = 640 << 20
# Bucket files: lz4 makes them ~5x smaller than raw Arrow (square8: ~210
# bytes a row instead of ~1.1 KB) for about a microsecond a row each way.
# Raw files cost as much at 10M rows (the page cache's copies and reclaim,
# as system time) and need 5x the disk. No threads: the aggregate is one
# core's job, and the pool's hand-offs for each small batch cost more than
# they save.
SCRATCH_OPTIONS = ipc.IpcWriteOptions(compression="lz4", use_threads=False)
# Pass 1 scatters this many decoded bytes of a part at once. A part's row
# groups are small (a worker's 8k square8 rows), and split B ways each gave
# bucket files of ~500-row batches: per-batch and per-buffer costs (an lz4
# frame per buffer, a Column per column when read back) were then most of
# the scratch's cost. Held rows plus their grouped copy stay ~2x this.
SCATTER_BYTES = 128 << 20


# A game's own columns: in a shuffled aggregate a row group holds ~2 rows of
# each game, so their dictionaries are nearly as long as the columns. Plain
# encoding writes them ~1.5-5x faster, and smaller.
GAME_COLUMNS = ("game_id", "game_index", "game_seed", "game_hash")


def output_options(schema: pa.Schema) -> dict:
    """Parquet options of an aggregate. Its rows come from many games in
    random order, so dictionaries shrink the per-row arrays (policy, move,
    values) far less than in a part: byte-stream-split with zstd level 1
    encodes them ~1.7x faster than dictionary + zstd level 6 and reads
    faster, for a ~15% larger file. The byte strings (BYTE_COLUMNS: state,
    history) and the game columns (GAME_COLUMNS) are nearly all distinct, so
    building their dictionaries only to drop them costs time for nothing.
    The other scalars and strings keep their dictionaries."""
    wide = [
        f.name for f in schema if pa.types.is_list(f.type) or pa.types.is_fixed_size_list(f.type)
    ]
    plain = set(wide) | set(BYTE_COLUMNS) | set(GAME_COLUMNS)
    return dict(
        compression="zstd",
        compression_level=1,
        write_statistics=False,
        write_page_checksum=True,
        use_dictionary=[f.name for f in schema if f.name not in plain],
        column_encoding={f"{n}.list.element": "BYTE_STREAM_SPLIT" for n in wide},
    )


def keep_freed_memory() -> None:
    """Have glibc's malloc keep freed memory for reuse, for a process that
    runs one aggregate. By default it returns blocks of a few MB (each row
    group's arrays) to the kernel when freed, and the next row group's arrays
    are faulted in and zeroed page by page again (in perf, the kernel's page
    zeroing alone was ~8% of the aggregate's CPU time). The process's peak is
    unchanged. No-op without glibc."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)  # glibc's largest: bigger blocks are still mapped
    mallopt(m_trim_threshold, (1 << 31) - 1)


def _seeded(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *key]))


def _buckets(bits: np.random.BitGenerator, n: int, nb: int) -> np.ndarray:
    """The next n rows' buckets. One raw 64-bit draw per row, so the buckets
    do not depend on how a part's rows are split into batches."""
    raw = bits.random_raw(n)
    b = ((raw >> 32) * nb) >> 32
    return b.astype(np.uint16 if nb <= 1 << 16 else np.uint32)


# ---- columns as numpy arrays ----------------------------------------------------------
# Rows are moved as whole-row copies on numpy views of the Arrow buffers:
# Arrow's take() builds an index per list element, several times slower on the
# board planes and the move history, which are most of a row.


@kernel  # no reference counting: an njit loop increfs its arrays per inlined call
def _gather_var(offsets, data, width, idx, out_offsets, out):
    """Rows ``idx`` of a list/string column (values as bytes, ``width`` bytes
    per element; offsets in elements) into ``out``/``out_offsets``; False
    if the offsets point outside the data."""
    pos = 0
    for j in range(idx.shape[0]):
        i = idx[j]
        a = offsets[i] * width
        n = offsets[i + 1] * width - a
        if not copy_range(out, pos, data, a, n):
            return False
        pos += n
        out_offsets[j + 1] = pos // width
    return True


def _plain_width(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def _view(buf, dtype, start: int, count: int) -> np.ndarray:
    dtype = np.dtype(dtype)
    if count == 0 or buf is None:
        return np.zeros(0, dtype)
    return np.frombuffer(buf, dtype=dtype, count=count, offset=start * dtype.itemsize)


def _valid(arr: pa.Array) -> np.ndarray | None:
    return None if arr.null_count == 0 else arr.is_valid().to_numpy(zero_copy_only=False)


def _bits(valid: np.ndarray | None):
    return (
        None
        if valid is None or valid.all()
        else pa.py_buffer(np.packbits(valid, bitorder="little"))
    )


class Column:
    """One column as numpy arrays: ``plain`` (n,) values or (n, w) bytes of
    a fixed-size binary column, ``fixed`` (n, w) list elements, ``var``
    offsets (n+1,) from 0 + the elements' bytes; ``valid`` (per row) and
    ``cvalid`` (per fixed-list element) when there are nulls. Covers every
    column type of the sample schema (dictionary columns travel as int32
    codes)."""

    __slots__ = ("type", "kind", "n", "data", "offsets", "width", "valid", "cvalid")

    def __init__(self, type_, kind, n, data, offsets=None, width=1, valid=None, cvalid=None):
        self.type, self.kind, self.n, self.data = type_, kind, n, data
        self.offsets, self.width, self.valid, self.cvalid = offsets, width, valid, cvalid

    @classmethod
    def of(cls, arr: pa.Array) -> Column:
        """Zero-copy views of ``arr``'s buffers (validity as bools)."""
        t, n = arr.type, len(arr)
        if _plain_width(t):
            return cls(
                t,
                "plain",
                n,
                _view(arr.buffers()[1], t.to_pandas_dtype(), arr.offset, n),
                valid=_valid(arr),
            )
        if pa.types.is_fixed_size_binary(t):  # rows of bytes: a (n, width) uint8 block
            w = t.byte_width
            data = _view(arr.buffers()[1], np.uint8, arr.offset * w, n * w).reshape(n, w)
            return cls(t, "plain", n, data, valid=_valid(arr))
        if pa.types.is_fixed_size_list(t) and _plain_width(t.value_type):
            w = t.list_size
            child = arr.values  # the whole child: the list's offset is not applied
            data = _view(
                child.buffers()[1],
                t.value_type.to_pandas_dtype(),
                child.offset + arr.offset * w,
                n * w,
            ).reshape(n, w)
            cvalid = _valid(child.slice(arr.offset * w, n * w))
            return cls(
                t,
                "fixed",
                n,
                data,
                valid=_valid(arr),
                cvalid=None if cvalid is None else cvalid.reshape(n, w),
            )
        is_list = pa.types.is_list(t) and _plain_width(t.value_type)
        if is_list or pa.types.is_string(t) or pa.types.is_binary(t):
            offsets = _view(arr.buffers()[1], np.int32, arr.offset, n + 1)
            if is_list:
                child = arr.values
                if child.null_count:
                    raise ValueError("null list elements")
                width = t.value_type.bit_width // 8
                data = _view(child.buffers()[1], np.uint8, child.offset * width, len(child) * width)
            else:
                width = 1
                data = _view(arr.buffers()[2], np.uint8, 0, int(offsets[-1]) if n else 0)
            if n and offsets[0] != 0:  # a slice: rebase so offsets index ``data`` from 0
                data = data[offsets[0] * width :]
                offsets = offsets - offsets[0]
            return cls(t, "var", n, data, offsets, width, valid=_valid(arr))
        raise TypeError(f"no numpy form for {t}")

    def put(self, row: int, element: int, c: Column) -> int:
        """Copy ``c`` in at ``row`` (and list element ``element``); returns
        the elements copied."""
        a, b = row, row + c.n
        e = 0
        if self.kind == "var":
            e = int(c.offsets[-1]) if c.n else 0
            self.offsets[a + 1 : b + 1] = c.offsets[1:] + element
            self.data[element * c.width : (element + e) * c.width] = c.data[: e * c.width]
        else:
            self.data[a:b] = c.data
        if c.valid is not None:
            if self.valid is None:
                self.valid = np.ones(self.n, bool)
            self.valid[a:b] = c.valid
        if c.cvalid is not None:
            if self.cvalid is None:
                self.cvalid = np.ones(self.data.shape, bool)
            self.cvalid[a:b] = c.cvalid
        return e

    def elements(self) -> np.ndarray:
        """Elements per row of a ``var`` column."""
        return np.diff(self.offsets)

    def take(self, idx: np.ndarray) -> pa.Array:
        """Rows ``idx`` (int64) as a new Arrow array."""
        n = len(idx)
        valid = None if self.valid is None else _bits(self.valid[idx])
        if self.kind == "plain":
            return pa.Array.from_buffers(
                self.type, n, [valid, pa.py_buffer(np.take(self.data, idx, axis=0))]
            )
        if self.kind == "fixed":
            w = self.type.list_size
            cv = None if self.cvalid is None else _bits(np.take(self.cvalid, idx, axis=0).ravel())
            ch = pa.Array.from_buffers(
                self.type.value_type, n * w, [cv, pa.py_buffer(np.take(self.data, idx, axis=0))]
            )
            return pa.Array.from_buffers(self.type, n, [valid], children=[ch])
        total = int(self.elements()[idx].sum(dtype=np.int64))
        if total >= 1 << 31:
            raise DataError(f"{total} list elements in one row group: too many for {self.type}")
        out_offsets = np.zeros(n + 1, np.int32)
        out = np.empty(total * self.width, np.uint8)
        if not _gather_var(self.offsets, self.data, self.width, idx, out_offsets, out):
            raise DataError(f"list offsets outside their data in a {self.type} column")
        if pa.types.is_list(self.type):
            ch = pa.Array.from_buffers(self.type.value_type, total, [None, pa.py_buffer(out)])
            return pa.Array.from_buffers(
                self.type, n, [valid, pa.py_buffer(out_offsets)], children=[ch]
            )
        return pa.Array.from_buffers(
            self.type, n, [valid, pa.py_buffer(out_offsets), pa.py_buffer(out)]
        )


def columns(batch: pa.RecordBatch) -> list[Column]:
    return [Column.of(c) for c in batch.columns]


def take(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    """``arr.take(idx)`` by whole-row copies."""
    return Column.of(arr).take(np.asarray(idx, dtype=np.int64))


# ---- bookkeeping ---------------------------------------------------------------------


class _Dictionaries:
    """One dictionary per dictionary column for the whole aggregate, codes in
    the order values are first seen (parts in game order). Bucket files hold
    the int32 codes, so they never mix row groups' own dictionaries, and the
    output writes the one dictionary as it is (no decoding to strings)."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.codes = {i: {} for i, f in enumerate(schema) if pa.types.is_dictionary(f.type)}
        self.scratch_schema = pa.schema(
            [pa.field(f.name, pa.int32()) if i in self.codes else f for i, f in enumerate(schema)]
        )

    def encode(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        cols = batch.columns
        for i, table in self.codes.items():
            arr = cols[i]
            m = np.array(
                [table.setdefault(v, len(table)) for v in arr.dictionary.to_pylist()],
                dtype=np.int32,
            )
            ind = arr.indices.fill_null(0).to_numpy(zero_copy_only=False)
            codes = m[ind] if len(m) else np.zeros(len(arr), np.int32)
            mask = None if arr.null_count == 0 else ~arr.is_valid().to_numpy(zero_copy_only=False)
            cols[i] = pa.array(codes, type=pa.int32(), mask=mask)
        return pa.RecordBatch.from_arrays(cols, schema=self.scratch_schema)

    def decoders(self) -> dict:
        out = {}
        for i, table in self.codes.items():
            f = self.schema.field(i)
            most = np.iinfo(f.type.index_type.to_pandas_dtype()).max
            if len(table) > most + 1:
                raise DataError(
                    f"column {f.name} has {len(table)} distinct values, more than "
                    f"its {f.type.index_type} dictionary holds"
                )
            out[i] = (f.type.index_type, pa.array(list(table), type=f.type.value_type))
        return out


class _Games:
    """Games seen so far, by id and by (seed, moves hash): the same game twice
    (whatever its id) is refused, or dropped with ``drop``."""

    def __init__(self, drop: bool):
        self.drop = drop
        self.ids: dict[str, int] = {}
        self.keys: dict[tuple[int, int], int] = {}
        self.uris: list[str] = []
        self.dropped = 0

    def start_part(self, uri: str) -> None:
        self.uri = uri
        self.pi = len(self.uris)
        self.uris.append(uri)
        self.part: dict[str, bool] = {}  # this part's games -> kept

    def keep(self, batch: pa.RecordBatch) -> np.ndarray | None:
        """Rows to keep (None: all). A game's rows are consecutive, so the
        work is per game, not per row."""
        gid = batch.column("game_id")
        n = len(gid)
        if n == 0:
            return None
        for name in ("game_id", "game_seed", "game_hash"):
            if batch.column(name).null_count:
                raise DataError(f"{self.uri}: a row has no {name.replace('_', ' ')}")
        change = pc.not_equal(gid.slice(1), gid.slice(0, n - 1)).to_numpy(zero_copy_only=False)
        starts = np.concatenate([[0], np.flatnonzero(change) + 1])
        ends = np.append(starts[1:], n)
        ids = gid.take(pa.array(starts)).to_pylist()
        seeds = batch.column("game_seed").to_numpy()[starts].tolist()
        hashes = batch.column("game_hash").to_numpy()[starts].tolist()
        drop = None
        for g, s, h, a, b in zip(ids, seeds, hashes, starts.tolist(), ends.tolist()):
            kept = self.part.get(g)
            if kept is None:
                kept = self.part[g] = self._new(g, (s, h))
            if not kept:
                if drop is None:
                    drop = np.zeros(n, bool)
                drop[a:b] = True
        return None if drop is None else ~drop

    def _new(self, g: str, key: tuple[int, int]) -> bool:
        other = self.keys.get(key)
        if other is None:
            other = self.ids.get(g)
        if other is not None:
            if not self.drop:
                raise DataError(
                    f"{self.uri}: game {g} is a duplicate of a game in "
                    f"{self.uris[other]} (same seed and moves; use "
                    "--drop-duplicates to drop it)"
                )
            self.dropped += 1
            return False
        self.keys[key] = self.pi
        self.ids[g] = self.pi
        return True


class _BucketFiles:
    """B append-only Arrow IPC streams on scratch disk, with each bucket's
    rows and list elements counted so pass 2 can allocate it once."""

    def __init__(self, folder: str, nb: int, schema: pa.Schema):
        self.folder = folder
        self.schema = schema
        self.paths = [os.path.join(folder, f"b{b}.arrow") for b in range(nb)]
        self.rows = np.zeros(nb, np.int64)
        self.elements = np.zeros((nb, len(schema)), np.int64)
        self.space: dict[int, tuple] = {}
        self.writers = []
        with self._io():
            for p in self.paths:
                self.writers.append(ipc.new_stream(p, schema, options=SCRATCH_OPTIONS))

    @contextmanager
    def _io(self):
        try:
            yield
        except OSError as exc:
            raise DataError(
                f"cannot write bucket files in {self.folder}: {exc.strerror or exc}"
            ) from None

    def add(self, batch: pa.RecordBatch, bucket: np.ndarray, keep: np.ndarray | None) -> None:
        """Append each row to its bucket: one gather groups the batch by
        bucket (stable: rows keep their order within a bucket), then one
        slice per bucket."""
        nb = len(self.paths)
        rows = None
        if keep is not None:
            rows = np.flatnonzero(keep)
            bucket = bucket[rows]
        if nb == 1:
            order = rows  # one bucket: rows stay in order
        else:  # stable radix sort on uint16 buckets: rows keep their order within one
            order = np.argsort(bucket, kind="stable")
            if rows is not None:
                order = rows[order]
        if not len(bucket):
            return
        cols = columns(batch)
        for i, c in enumerate(cols):
            if c.kind == "var":
                per_row = c.elements() if rows is None else c.elements()[rows]
                self.elements[:, i] += np.bincount(bucket, weights=per_row, minlength=nb).astype(
                    np.int64
                )
        counts = np.bincount(bucket, minlength=nb)
        grouped = (
            batch
            if order is None
            else pa.RecordBatch.from_arrays([c.take(order) for c in cols], schema=self.schema)
        )
        start = 0
        with self._io():
            for b in np.flatnonzero(counts).tolist():
                self.writers[b].write_batch(grouped.slice(start, int(counts[b])))
                start += int(counts[b])
        self.rows += counts

    def close(self) -> None:
        with self._io():
            for w in self.writers:
                w.close()
        self.writers = []

    def _room(self, i: int, like: Column, rows: int, elements: int) -> Column:
        """Column i of a bucket, in arrays kept from bucket to bucket (sized
        for the largest): fresh ones would have every page faulted in again."""
        if i not in self.space:
            most = int(self.rows.max())
            if like.kind == "var":
                self.space[i] = (
                    np.empty(int(self.elements[:, i].max()) * like.width, np.uint8),
                    np.zeros(most + 1, np.int32),
                )
            else:
                self.space[i] = (np.empty((most,) + like.data.shape[1:], like.data.dtype), None)
        data, offsets = self.space[i]
        if like.kind == "var":
            return Column(
                like.type,
                "var",
                rows,
                data[: elements * like.width],
                offsets[: rows + 1],
                like.width,
            )
        return Column(like.type, like.kind, rows, data[:rows])

    def read(self, b: int) -> list[Column]:
        """Bucket b, one Column per column, filled batch by batch; the file
        is removed."""
        out = None
        row = 0
        element = np.zeros(len(self.schema), np.int64)
        with ipc.open_stream(pa.OSFile(self.paths[b], "rb")) as rd:
            for batch in rd:
                cols = columns(batch)
                if out is None:
                    out = [
                        self._room(i, c, int(self.rows[b]), int(self.elements[b, i]))
                        for i, c in enumerate(cols)
                    ]
                for i, c in enumerate(cols):
                    element[i] += out[i].put(row, int(element[i]), c)
                row += batch.num_rows
                del cols, batch
        os.unlink(self.paths[b])
        if row != self.rows[b]:
            raise DataError(
                f"bucket file {self.paths[b]} holds {row} rows, {self.rows[b]} were written"
            )
        return out or []


# ---- progress ------------------------------------------------------------------------


class ProgressLine:
    """A line every ``every`` seconds on ``stream``: phase, rows, rate, ETA.
    The CLI shows it when stderr is a terminal or with --progress, so
    Snakemake logs only get the final summary."""

    def __init__(self, stream=None, every: float = 5.0):
        self.stream = stream or sys.stderr
        self.every = every
        self.t0 = time.perf_counter()
        self.next = self.t0 + every
        self.phase_t0: dict[str, float] = {}

    def __call__(self, phase: str, done: int, total: int, units_done: int, units: int) -> None:
        now = time.perf_counter()
        self.phase_t0.setdefault(phase, now)
        if now < self.next and done < total:
            return
        self.next = now + self.every
        rate = done / max(now - self.phase_t0[phase], 1e-9)
        eta = (units - units_done) * (now - self.t0) / max(units_done, 1)
        self.stream.write(
            f"aggregate: {phase} {done:,}/{total:,} rows, {rate:,.0f} rows/s, "
            f"elapsed {_clock(now - self.t0)}, ETA {_clock(eta)}\n"
        )
        self.stream.flush()


def _clock(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


# ---- parts ---------------------------------------------------------------------------


def _footers(parts: list[str]) -> list[tuple[str, dict, dict]]:
    """(uri, key-value metadata, stats) of every part, from footers only."""
    import pyarrow.parquet as pq

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
        try:
            out.append((uri, kv, json.loads(kv[STATS_KEY])))
        except ValueError:
            raise DataError(f"{uri}: unreadable stats in its footer") from None
    for key in (b"ringrift.schema_version", b"ringrift.engine_version"):
        seen = {}
        for uri, kv, _ in out:
            seen.setdefault(kv.get(key), uri)
        if len(seen) > 1:
            (v1, u1), (v2, u2) = list(seen.items())[:2]
            name = key.decode().split(".")[1].replace("_", " ")
            raise DataError(
                f"parts from different {name}s: {u1} has {v1 and v1.decode()}, "
                f"{u2} has {v2 and v2.decode()}"
            )
    boards = {}
    for uri, _, st in out:
        boards.setdefault(st.get("board_type"), uri)
    if len(boards) > 1:
        (b1, u1), (b2, u2) = list(boards.items())[:2]
        raise DataError(f"parts of different boards: {u1} is {b1}, {u2} is {b2}")
    return out


@contextmanager
def _readable(uri: str, folder: str):
    """A path to read ``uri`` from: itself when local; for object storage a
    copy streamed to scratch (one download, then local reads for the digest
    and the row groups), removed afterwards. Errors name ``uri``."""
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:
        raise DataError(f"unsupported part URI {redact_uri(uri)}: {exc}") from None
    if is_local(fs):
        yield uri
        return
    local = os.path.join(folder, "input.parquet")
    try:
        fs.get_file(path, local)
    except FileNotFoundError:
        raise DataError(f"part not found: {redact_uri(uri)}") from None
    except OSError as exc:
        raise DataError(f"cannot read {redact_uri(uri)}: {exc}") from None
    try:
        yield local
    except DataError as exc:
        raise DataError(str(exc).replace(local, redact_uri(uri))) from None
    finally:
        try:
            os.unlink(local)
        except OSError:
            pass


def provenance_entry(uri: str, stats: dict, kv: dict) -> dict:
    """What an aggregate records of one part. The file name, not its folder:
    which worker folder held a part is scheduling, and the aggregate must not
    change when the dataset's worker count does."""
    return {
        "part": part_name(uri),
        "rows": stats["samples"],
        "games": stats["games"],
        "game_offset": stats.get("game_offset", 0),
        "worker_id": stats.get("worker_id"),
        "seed": stats.get("seed"),
        "digest": kv[DIGEST_KEY].decode(),
        "schema_version": int(kv[b"ringrift.schema_version"]),
        "engine_version": int(kv[b"ringrift.engine_version"]),
        "package_version": kv.get(b"ringrift.package_version", b"").decode(),
    }


def part_name(uri: str) -> str:
    return redact_uri(uri).rstrip("/").rsplit("/", 1)[-1]


# ---- the aggregate -------------------------------------------------------------------


class _Scatter:
    """Pass 1: every part's rows, checked, into the bucket files."""

    def __init__(
        self,
        folder: str,
        ncell: int,
        total: int,
        seed: int,
        bucket_rows: int | None,
        bucket_bytes: int,
        drop: bool,
        report,
    ):
        self.folder, self.total, self.seed = folder, total, seed
        self.bucket_rows, self.bucket_bytes, self.report = bucket_rows, bucket_bytes, report
        self.group_rows = part_row_group_rows(ncell)
        self.dicts = _Dictionaries(arrow_schema())
        self.games = _Games(drop)
        self.buckets: _BucketFiles | None = None
        self.read = 0

    def part(self, pi: int, uri: str, st: dict) -> None:
        self.games.start_part(uri)
        bits = _seeded(self.seed, 1, pi).bit_generator
        rows = 0
        held: list[tuple[pa.RecordBatch, np.ndarray, np.ndarray | None]] = []
        held_bytes = 0
        with _readable(uri, self.folder) as src:
            verify_file(src)
            for batch in iter_checked_batches(src, batch_rows=self.group_rows):
                keep = self.games.keep(batch)
                sb = self.dicts.encode(batch)
                buckets = self.buckets or self._open(sb)
                held.append((sb, _buckets(bits, batch.num_rows, len(buckets.paths)), keep))
                held_bytes += sb.nbytes
                if held_bytes >= SCATTER_BYTES:
                    self._scatter(uri, held)
                    held, held_bytes = [], 0
                rows += batch.num_rows
                self.read += batch.num_rows
                self.report("reading parts", self.read, self.total, self.read, 2 * self.total)
            self._scatter(uri, held)
        if rows != st["samples"]:
            raise DataError(f"{uri}: {rows} rows but its stats say {st['samples']}")
        if len(self.games.part) != st["games"]:
            raise DataError(f"{uri}: {len(self.games.part)} games but its stats say {st['games']}")

    def _scatter(self, uri: str, held: list) -> None:
        """The held batches' rows into their buckets, as one batch: rows keep
        their order within a bucket, so how a part was batched changes
        nothing."""
        if not held:
            return
        if len(held) == 1:
            batch, bucket, keep = held[0]
        else:
            batch = pa.concat_batches([h[0] for h in held])
            bucket = np.concatenate([h[1] for h in held])
            keep = None
            if any(h[2] is not None for h in held):
                keep = np.concatenate(
                    [np.ones(h[0].num_rows, bool) if h[2] is None else h[2] for h in held]
                )
        try:
            self.buckets.add(batch, bucket, keep)
        except ValueError as exc:
            raise DataError(f"{uri}: {exc}") from None

    def _open(self, sample: pa.RecordBatch) -> _BucketFiles:
        """The bucket files, once the first rows tell the bytes of a row: B =
        total rows / rows of ``bucket_bytes``, unless ``bucket_rows`` is given."""
        rows = self.bucket_rows
        if rows is None:
            per_row = max(sample.nbytes / max(sample.num_rows, 1), 1.0)
            rows = max(1, int(self.bucket_bytes / per_row))
        nb = max(1, math.ceil(self.total / rows))
        self.buckets = _BucketFiles(self.folder, nb, self.dicts.scratch_schema)
        return self.buckets

    def close(self) -> _BucketFiles:
        if self.buckets is None:  # parts without rows
            self.buckets = _BucketFiles(self.folder, 1, self.dicts.scratch_schema)
        self.buckets.close()
        return self.buckets


def _write(
    pw: DigestParquetWriter,
    buckets: _BucketFiles,
    schema: pa.Schema,
    decoders: dict,
    seed: int,
    group_rows: int,
    report,
) -> int:
    """Pass 2: bucket by bucket, permuted, into the output in row groups."""
    written = 0
    kept = int(buckets.rows.sum())
    for b in range(len(buckets.paths)):
        cols = buckets.read(b)
        if not cols:
            continue
        perm = _seeded(seed, 2, b).permutation(cols[0].n)
        for s in range(0, len(perm), group_rows):
            idx = perm[s : s + group_rows]
            arrays = [c.take(idx) for c in cols]
            for i, (itype, dictionary) in decoders.items():
                arrays[i] = pa.DictionaryArray.from_arrays(arrays[i].cast(itype), dictionary)
            pw.write(pa.Table.from_batches([pa.RecordBatch.from_arrays(arrays, schema=schema)]))
            written += len(idx)
            report("writing", written, kept, kept + written, 2 * kept)
        del cols
    return written


@contextmanager
def _without_gc():
    """The cycle collector off: the aggregate makes no cycles, and each
    collection of the oldest generation walks every object, the game index's
    tuple and string per game included (~2% of the CPU time at 200k games)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@_without_gc()
def aggregate(
    parts: list[str],
    output: str,
    seed: int,
    *,
    bucket_rows: int | None = None,
    bucket_bytes: int = BUCKET_BYTES,
    scratch: str | None = None,
    drop_duplicates: bool = False,
    progress=None,
) -> dict:
    """Shuffle ``parts`` into ``output``. Parts are ordered by their first
    game (then name), so the result does not depend on which worker folder or
    in which order they were given. Every part is verified as it is read; the
    same game twice (same seed and moves, whatever its id) is refused, or
    dropped with ``drop_duplicates``. Buckets hold ``bucket_rows`` rows, by
    default as many as fit in ``bucket_bytes`` decoded. ``progress(phase,
    done, total, units_done, units)`` is called after every row group."""
    from ..engine.geometry import board

    t_start = time.perf_counter()
    if not parts:
        raise DataError("no parts to aggregate")
    if scratch is not None and not os.path.isdir(scratch):
        raise DataError(f"scratch folder {scratch} does not exist")
    footers = sorted(_footers(list(parts)), key=lambda f: (f[2].get("game_offset", 0), f[0]))
    try:
        ncell = board(footers[0][2]["board_type"]).ncell
    except (KeyError, ValueError):
        raise DataError(f"{footers[0][0]}: its stats name no known board") from None
    schema = arrow_schema()
    total = sum(int(st["samples"]) for _, _, st in footers)
    try:
        tmp = tempfile.mkdtemp(prefix="ringrift-agg-", dir=scratch)
    except OSError as exc:
        raise DataError(
            f"cannot use scratch folder {scratch or tempfile.gettempdir()}: {exc.strerror}"
        ) from None
    scatter = _Scatter(
        tmp,
        ncell,
        total,
        seed,
        bucket_rows,
        bucket_bytes,
        drop_duplicates,
        progress or (lambda *a: None),
    )
    try:
        provenance = []
        for pi, (uri, kv, st) in enumerate(footers):
            scatter.part(pi, uri, st)
            provenance.append(provenance_entry(uri, st, kv))
        buckets = scatter.close()
        kept = int(buckets.rows.sum())
        games, dropped = len(scatter.games.keys), scatter.games.dropped
        scatter.games = None  # the game index is not needed in pass 2
        want = sum(p["rows"] for p in provenance) if not dropped else kept
        if kept != want:
            raise DataError(f"aggregate holds {kept} rows, parts' stats say {want}")
        nb = len(buckets.paths)
        stats = {
            "kind": "aggregate",
            "board_type": footers[0][2]["board_type"],
            "num_players": footers[0][2]["num_players"],
            "parts": len(footers),
            "games": games,
            "samples": kept,
            "seed": int(seed),
            "buckets": nb,
            "dropped_duplicate_games": dropped,
            "provenance": provenance,
        }
        with atomic_output(output) as fh:
            pw = DigestParquetWriter(fh, schema, scatter.group_rows, options=output_options(schema))
            try:
                written = _write(
                    pw,
                    buckets,
                    schema,
                    scatter.dicts.decoders(),
                    seed,
                    scatter.group_rows,
                    scatter.report,
                )
                if written != kept:
                    raise DataError(f"aggregate wrote {written} rows of {kept}")
                pw.close(stats)
            except BaseException:
                pw.abort()
                raise
        return {
            "parts": len(footers),
            "games": games,
            "samples": kept,
            "buckets": nb,
            "dropped_duplicate_games": dropped,
            "seconds": time.perf_counter() - t_start,
        }
    finally:
        if scatter.buckets is not None:
            for w in scatter.buckets.writers:
                try:
                    w.close()
                except Exception:  # closing after an error: the folder goes anyway
                    pass
        shutil.rmtree(tmp, ignore_errors=True)
