"""Seeded shuffle of many parts into one training file, in bounded memory
(a two-pass bucket shuffle of blocks).

Pass 1 checks every part (digest, schema, row counts, duplicate games),
reading only its game and dictionary columns. A part's row groups are its
blocks (8k consecutive square8 rows of one worker). A seeded permutation of
all blocks deals them to B buckets, the same number of blocks each. Pass 2
reads one bucket's blocks at a time (each row group decoded with its page
checksums and value checks), permutes the bucket's rows with a generator
seeded by (seed, bucket) and writes them to the output row group by row
group. B is chosen from the data: the decoded bytes of all rows over a
per-bucket memory budget. Memory is one bucket, whatever the number of rows;
the result depends only on the seed, the bucket count and the set of parts
(ordered by their first game, each with its row groups).

Why blocks and not rows: dealing single rows means writing every row to a
bucket file on scratch disk and reading it back, which took a quarter of the
aggregate's time (lz4 both ways and two copies). Dealt as blocks, every row
group is read once and only remote parts are copied to scratch. Each bucket
is a uniform random set of blocks, permuted whole: at 10M square8 rows 7-8
buckets of ~150-175 blocks from all workers. Up to one bucket (~1.3-1.5M
square8 rows) the output is one uniform permutation of all rows.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
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
import pyarrow.parquet as pq

from ..engine.jit import copy_range, kernel
from ..storage import redact_uri
from .parts import (
    DIGEST_KEY,
    STATS_KEY,
    DataError,
    DigestParquetWriter,
    atomic_output,
    check_schema,
    check_table_values,
    is_local,
    part_row_group_rows,
    verify_file,
)
from .schema import arrow_schema, dictionary_columns, list_columns

# Decoded bytes of one bucket. Pass 2 holds one bucket (filled block by block
# into arrays kept from bucket to bucket), the block being read and the output
# row group being encoded; with ~300 MB of libraries the peak is ~1.1-1.3 GB,
# whatever the number of rows.
BUCKET_BYTES = 640 << 20
# Pass 2 takes about this many times pass 1's time a row (7.5x at 10M square8
# rows), for the ETA.
PASS2_WEIGHT = 7


def output_options(schema: pa.Schema) -> dict:
    """Parquet options of an aggregate. Its rows come from many games in
    random order, so dictionaries shrink the per-row arrays (policy, move,
    values) far less than in a part: byte-stream-split with zstd level 1
    encodes them ~1.7x faster than dictionary + zstd level 6 and reads
    faster, for a ~15% larger file. Only ``dictionary_columns`` get a
    dictionary (in a row group of an aggregate the game columns are nearly
    all distinct: plain encoding writes them ~1.5-5x faster, and smaller)."""
    return dict(
        compression="zstd",
        compression_level=1,
        write_statistics=False,
        write_page_checksum=True,
        use_dictionary=dictionary_columns(schema),
        column_encoding={f"{n}.list.element": "BYTE_STREAM_SPLIT" for n in list_columns(schema)},
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


def _deal(blocks: int, nb: int, seed: int) -> np.ndarray:
    """Each block's bucket: the blocks in a seeded random order, cut into nb
    runs of equal length (to one block)."""
    bucket = np.empty(blocks, np.int64)
    bucket[_seeded(seed, 1).permutation(blocks)] = np.arange(blocks) * nb // max(blocks, 1)
    return bucket


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
        # the rows' own lengths: not np.diff of the whole column for each row group
        total = int((self.offsets[idx + 1] - self.offsets[idx]).sum(dtype=np.int64))
        if total < 0:
            raise DataError(f"list offsets outside their data in a {self.type} column")
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
    the order values are first seen (parts in game order, learnt in pass 1).
    A bucket holds the int32 codes, so it never mixes row groups' own
    dictionaries, and the output writes the one dictionary as it is (no
    decoding to strings)."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.codes = {i: {} for i, f in enumerate(schema) if pa.types.is_dictionary(f.type)}
        self.names = tuple(schema.field(i).name for i in self.codes)
        self.coded_schema = pa.schema(
            [pa.field(f.name, pa.int32()) if i in self.codes else f for i, f in enumerate(schema)]
        )

    def _map(self, i: int, arr: pa.DictionaryArray) -> np.ndarray:
        table = self.codes[i]
        return np.array(
            [table.setdefault(v, len(table)) for v in arr.dictionary.to_pylist()], dtype=np.int32
        )

    def learn(self, batch: pa.RecordBatch) -> None:
        """The values of ``batch``'s dictionary columns (it may hold only those)."""
        for i in self.codes:
            self._map(i, batch.column(self.schema.field(i).name))

    def encode(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        cols = batch.columns
        for i in self.codes:
            arr = cols[i]
            m = self._map(i, arr)
            ind = arr.indices.fill_null(0).to_numpy(zero_copy_only=False)
            codes = m[ind] if len(m) else np.zeros(len(arr), np.int32)
            mask = None if arr.null_count == 0 else ~arr.is_valid().to_numpy(zero_copy_only=False)
            cols[i] = pa.array(codes, type=pa.int32(), mask=mask)
        return pa.RecordBatch.from_arrays(cols, schema=self.coded_schema)

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
        self.keys: dict[int, int] = {}  # seed << 64 | moves hash -> part
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
        hashes = batch.column("game_hash").to_numpy()[starts].tolist()  # uint64
        # (seed, moves hash) as one int: a third of a tuple's memory per game
        keys = [s << 64 | h for s, h in zip(seeds, hashes)]
        first = 1 if ids[0] in self.part else 0  # a game that began in the last batch
        if self._all_new(ids[first:], keys[first:]):
            self.part.update(dict.fromkeys(ids[first:], True))
            self.ids.update(dict.fromkeys(ids[first:], self.pi))
            self.keys.update(dict.fromkeys(keys[first:], self.pi))
            ids, keys = ids[:first], keys[:first]
        drop = None
        for g, key, a, b in zip(ids, keys, starts.tolist(), ends.tolist()):
            kept = self.part.get(g)
            if kept is None:
                kept = self.part[g] = self._new(g, key)
            if not kept:
                if drop is None:
                    drop = np.zeros(n, bool)
                drop[a:b] = True
        return None if drop is None else ~drop

    def _all_new(self, ids: list, keys: list) -> bool:
        """Whether these games are all distinct and unseen: the common case,
        checked with set operations instead of game by game."""
        return (
            len(set(ids)) == len(ids)
            and len(set(keys)) == len(keys)
            and self.part.keys().isdisjoint(ids)
            and self.ids.keys().isdisjoint(ids)
            and self.keys.keys().isdisjoint(keys)
        )

    def _new(self, g: str, key: int) -> bool:
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


class _Bucket:
    """One bucket's rows as Columns, filled block by block into arrays kept
    from bucket to bucket (fresh ones would have every page faulted in
    again): fixed-width columns sized for the largest bucket, the list and
    byte columns' elements grown when a bucket needs more."""

    def __init__(self, most_rows: int):
        self.most = most_rows
        self.space: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    def _room(self, i: int, like: Column, rows: int) -> Column:
        if i not in self.space:
            if like.kind == "var":  # a first guess from this block; _fit grows it
                per_row = int(like.offsets[-1]) / max(like.n, 1)
                elements = int(self.most * per_row * 1.25) + 1024
                self.space[i] = (
                    np.empty(elements * like.width, np.uint8),
                    np.zeros(self.most + 1, np.int32),
                )
            else:
                self.space[i] = (
                    np.empty((self.most,) + like.data.shape[1:], like.data.dtype),
                    None,
                )
        data, offsets = self.space[i]
        if like.kind == "var":
            return Column(like.type, "var", rows, data, offsets[: rows + 1], like.width)
        return Column(like.type, like.kind, rows, data[:rows])

    def _fit(self, i: int, col: Column, used: int, need: int) -> None:
        """Room for ``need`` elements in ``col``, keeping its first ``used``."""
        data, offsets = self.space[i]
        if need * col.width <= len(data):
            return
        grown = np.empty(max(need * col.width, len(data) * 3 // 2), np.uint8)
        grown[: used * col.width] = data[: used * col.width]
        self.space[i] = (grown, offsets)
        col.data = grown

    def fill(self, batches, rows: int) -> list[Column]:
        """The bucket of ``rows`` rows from ``batches`` (in the order given)."""
        out = None
        row = 0
        element = None
        for batch in batches:
            cols = columns(batch)
            if row + batch.num_rows > rows:
                raise DataError(f"a bucket holds more than the {rows} rows its parts had")
            if out is None:
                out = [self._room(i, c, rows) for i, c in enumerate(cols)]
                element = [0] * len(cols)
            for i, c in enumerate(cols):
                if c.kind == "var" and c.n:
                    self._fit(i, out[i], element[i], element[i] + int(c.offsets[-1]))
                element[i] += out[i].put(row, element[i], c)
            row += batch.num_rows
            del cols, batch
        if row != rows:
            raise DataError(f"a bucket holds {row} rows, its parts had {rows}")
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


def _local_copy(uri: str, folder: str, pi: int) -> str:
    """A path to read part ``pi`` from: ``uri`` itself when local; for object
    storage a copy streamed to scratch (one download, then local reads in
    both passes), removed with the scratch folder."""
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:
        raise DataError(f"unsupported part URI {redact_uri(uri)}: {exc}") from None
    if is_local(fs):
        return uri
    local = os.path.join(folder, f"part{pi}.parquet")
    try:
        fs.get_file(path, local)
    except FileNotFoundError:
        raise DataError(f"part not found: {redact_uri(uri)}") from None
    except OSError as exc:
        raise DataError(f"cannot read {redact_uri(uri)}: {exc}") from None
    return local


@contextmanager
def _named(uri: str, path: str):
    """Errors about the scratch copy ``path`` name the part's URI."""
    try:
        yield
    except DataError as exc:
        if path == uri:
            raise
        raise DataError(str(exc).replace(path, redact_uri(uri))) from None


def _row_groups(path: str, meta, columns=None, only=None):
    """A verified part's row groups (all, or those in ``only``), each as one
    batch, read with page checksums on."""
    try:
        with fsspec.open(path, "rb") as fh:
            pf = pq.ParquetFile(fh, metadata=meta, page_checksum_verification=True)
            for rg in range(pf.num_row_groups) if only is None else only:
                # one thread: the aggregate is one core's job
                t = pf.read_row_group(rg, columns=columns, use_threads=False)
                batches = t.combine_chunks().to_batches()
                yield batches[0] if batches else _empty(pf.schema_arrow, columns)
    except DataError:
        raise
    except Exception as exc:  # any decoding failure of damaged pages
        raise DataError(f"corrupt data in {path}: {exc}") from None


def _empty(schema: pa.Schema, columns) -> pa.RecordBatch:
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    return pa.RecordBatch.from_pylist([], schema=schema)


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


class _Scan:
    """Pass 1: every part checked, reading its game and dictionary columns
    only; its row groups become blocks. Pass 2 reads blocks back whole."""

    def __init__(self, folder: str, total: int, drop: bool, report):
        self.folder, self.total, self.report = folder, total, report
        self.dicts = _Dictionaries(arrow_schema())
        self.columns = ["game_id", "game_seed", "game_hash", *self.dicts.names]
        self.games = _Games(drop)
        self.sources: list[tuple[str, str, object]] = []  # (uri, path read, footer)
        self.blocks: list[tuple[int, int, int]] = []  # (part, row group, its first row)
        self.rows: list[int] = []  # rows kept of each block
        self.keep: dict[int, np.ndarray] = {}  # block -> its rows kept, when not all
        self.read = 0

    def part(self, pi: int, uri: str, st: dict) -> None:
        self.games.start_part(uri)
        src = _local_copy(uri, self.folder, pi)
        rows = 0
        with _named(uri, src):
            meta = verify_file(src)
            check_schema(src, meta.schema.to_arrow_schema(), st)
            for rg, batch in enumerate(_row_groups(src, meta, self.columns)):
                keep = self.games.keep(batch)
                self.dicts.learn(batch)
                if keep is not None:
                    self.keep[len(self.blocks)] = np.flatnonzero(keep)
                self.blocks.append((pi, rg, rows))
                self.rows.append(batch.num_rows if keep is None else int(keep.sum()))
                rows += batch.num_rows
                self.read += batch.num_rows
                self.report("reading parts", self.read, self.total, self.read, self.units)
        self.sources.append((uri, src, meta))
        if rows != st["samples"]:
            raise DataError(f"{uri}: {rows} rows but its stats say {st['samples']}")
        if len(self.games.part) != st["games"]:
            raise DataError(f"{uri}: {len(self.games.part)} games but its stats say {st['games']}")

    @property
    def units(self) -> int:
        return self.total * (1 + PASS2_WEIGHT)

    def batches(self, blocks):
        """The given blocks' kept rows, read whole and checked, dictionary
        columns as the aggregate's codes."""
        for pi, group in itertools.groupby(blocks, key=lambda k: self.blocks[k][0]):
            uri, src, meta = self.sources[pi]
            group = list(group)
            with _named(uri, src):
                read = _row_groups(src, meta, only=[self.blocks[k][1] for k in group])
                for k, batch in zip(group, read):
                    check_table_values(src, pa.Table.from_batches([batch]), self.blocks[k][2])
                    if k in self.keep:
                        batch = batch.take(pa.array(self.keep[k]))
                    yield self.dicts.encode(batch)

    def row_bytes(self) -> float:
        """Decoded bytes of a row, as a bucket holds it (the first block's)."""
        for k, n in enumerate(self.rows):
            if n:
                batch = next(self.batches([k]))
                return max(batch.nbytes / batch.num_rows, 1.0)
        return 1.0


def _write(
    pw: DigestParquetWriter,
    scan: _Scan,
    nb: int,
    seed: int,
    group_rows: int,
    report,
) -> int:
    """Pass 2: bucket by bucket, permuted, into the output in row groups."""
    schema = scan.dicts.schema
    decoders = scan.dicts.decoders()
    deal = _deal(len(scan.blocks), nb, seed)
    rows = np.array(scan.rows, np.int64)
    per_bucket = np.bincount(deal, weights=rows, minlength=nb).astype(np.int64)
    bucket = _Bucket(int(per_bucket.max()) if nb else 0)
    written = 0
    kept = int(rows.sum())
    for b in range(nb):
        cols = bucket.fill(scan.batches(np.flatnonzero(deal == b).tolist()), int(per_bucket[b]))
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
            units = scan.total + written * PASS2_WEIGHT
            report("writing", written, kept, units, scan.units)
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
    scan = _Scan(tmp, total, drop_duplicates, progress or (lambda *a: None))
    try:
        provenance = []
        for pi, (uri, kv, st) in enumerate(footers):
            scan.part(pi, uri, st)
            provenance.append(provenance_entry(uri, st, kv))
        kept = sum(scan.rows)
        games, dropped = len(scan.games.keys), scan.games.dropped
        scan.games = None  # the game index is not needed in pass 2
        want = sum(p["rows"] for p in provenance) if not dropped else kept
        if kept != want:
            raise DataError(f"aggregate holds {kept} rows, parts' stats say {want}")
        if bucket_rows is None:
            bucket_rows = max(1, int(bucket_bytes / scan.row_bytes()))
        nb = min(max(1, math.ceil(total / bucket_rows)), max(1, len(scan.blocks)))
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
        group_rows = part_row_group_rows(ncell)
        with atomic_output(output) as fh:
            pw = DigestParquetWriter(fh, schema, group_rows, options=output_options(schema))
            try:
                written = _write(pw, scan, nb, seed, group_rows, scan.report)
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
        shutil.rmtree(tmp, ignore_errors=True)
