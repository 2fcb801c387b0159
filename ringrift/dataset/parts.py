"""Writing and reading Parquet parts, locally or on object storage (fsspec).

A part appears complete or not at all: it is streamed to a local temporary
file (row group by row group, so memory stays bounded whatever the number of
games) and then renamed into place, or uploaded as one object (an S3/GCS
object becomes visible only when the write completes).

Every file we write carries its own integrity proof, checked on every read:
Parquet page checksums (CRC32 of every data page) and ``ringrift.digest``, a
SHA-256 digest of every byte before the footer plus the stats JSON. A flipped
bit in the data, or edited stats, fails the read with one line naming the file.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import struct
import tempfile
from contextlib import contextmanager

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..engine.jit import kernel
from .schema import (
    BYTE_COLUMNS,
    ENGINE_VERSION,
    MAX_PLAYERS,
    SCHEMA_VERSION,
    arrow_schema,
    dictionary_columns,
    state_bytes,
)

ROW_GROUP_ROWS = 32_768
STATS_KEY = b"ringrift.stats"
DIGEST_KEY = b"ringrift.digest"
# ``ringrift.digest`` is "sha256:" and the hex digest. Older files carry a
# bare BLAKE2b-128 hex digest, which is still checked; the ones still read are
# of schema 4 and engine 2, so the next bump of either (which replays every
# part) can drop it. SHA-256 hashes ~1.8 GB/s here (SHA extensions), BLAKE2b
# ~0.7: an aggregate hashes every byte it reads and writes (~190 B a row), so
# the digest alone was ~5% of its time.
SHA256 = "sha256:"


def _data_hash(recorded: bytes | None = None, data: bytes = b""):
    """A hash of a file's data region: SHA-256, or the BLAKE2b of files
    whose ``recorded`` digest has no algorithm prefix."""
    if recorded is not None and not recorded.startswith(SHA256.encode()):
        return hashlib.blake2b(data, digest_size=16)
    return hashlib.sha256(data)


def part_options(schema: pa.Schema) -> dict:
    """Parquet options of a part (and of any file of samples by default)."""
    return dict(
        compression="zstd",
        compression_level=6,
        use_dictionary=dictionary_columns(schema),
        write_statistics=False,
        write_page_checksum=True,
    )


class DataError(Exception):
    """Bad or unreadable data, reported as one line (whatever the library
    message it wraps spread over several)."""

    def __init__(self, message):
        super().__init__(" ".join(str(message).split()))


def check_output_uri(uri: str, suffixes=(".parquet",)) -> None:
    """Fail early (before any game runs) on outputs we cannot write."""
    if not uri or not uri.endswith(tuple(suffixes)):
        raise DataError(f"output must end in {' or '.join(suffixes)}, got {uri!r}")
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:
        raise DataError(f"unsupported output URI {uri!r}: {exc}") from None
    if is_local(fs):
        if os.path.isdir(path):
            raise DataError(f"output {path} is a folder")
        parent = os.path.dirname(os.path.abspath(path)) or "."
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create output folder {parent}: {exc.strerror}") from None
        if not os.access(parent, os.W_OK):
            raise DataError(f"output folder {parent} is not writable")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def is_local(fs) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocols or "local" in protocols


def _temp_prefix(path: str) -> str:
    return f".{os.path.basename(path)}.tmp-"


@contextmanager
def atomic_output(uri: str):
    """A binary file to fill; it becomes ``uri`` only if the block ends
    without error: renamed into place locally, one upload to object storage
    (through a local temporary file). On error nothing appears at ``uri``.

    Locally the temporary file sits beside the output under a name derived
    from it, and writing the output again first removes temporaries a killed
    writer (SIGKILL) left behind, so a rerun leaves no leftovers."""
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:
        raise DataError(f"unsupported output URI {uri!r}: {exc}") from None
    local = is_local(fs)
    parent = None
    prefix = ".ringrift-upload-"
    if local:
        if os.path.isdir(path):
            raise DataError(f"output {path} is a folder")
        parent = os.path.dirname(os.path.abspath(path))
        prefix = _temp_prefix(path)
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create output folder {parent}: {exc.strerror}") from None
        for stale in glob.glob(os.path.join(glob.escape(parent), glob.escape(prefix) + "*")):
            try:
                os.unlink(stale)
            except OSError:
                pass
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=prefix, suffix=".part")
    except OSError as exc:
        where = parent or tempfile.gettempdir()
        raise DataError(f"cannot write in {where}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are data to share
        if local:
            os.replace(tmp, path)
        else:
            fs.put_file(tmp, path)
            os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_bytes(uri: str, data: bytes) -> None:
    fs, path = fsspec.core.url_to_fs(uri)
    if not is_local(fs):
        fs.pipe_file(path, data)  # already in memory: one object write, no temp file
        return
    with atomic_output(uri) as fh:
        fh.write(data)


# ---- writing: streamed row groups, digest, stats ------------------------------------


class _HashingSink(io.RawIOBase):
    """A write-only file that hashes what passes through while ``hashing``."""

    def __init__(self, fh):
        self.fh = fh
        self.pos = 0
        self.hash = _data_hash()
        self.hashing = True
        self.dropped = False

    def writable(self):
        return True

    def write(self, b):
        b = memoryview(b)
        if self.dropped:
            return len(b)
        if self.hashing:
            self.hash.update(b)
        self.pos += len(b)
        return self.fh.write(b)

    def tell(self):
        return self.pos


def _digest(data_hash, stats_json: bytes) -> str:
    h = data_hash.copy()
    h.update(stats_json)
    return (SHA256 if h.name == "sha256" else "") + h.hexdigest()


class DigestParquetWriter:
    """Streams row groups of exactly ``row_group_rows`` rows (the last may be
    shorter) to ``fh``, so the bytes do not depend on how callers batch their
    rows; ``close(stats)`` records the stats JSON and the digest in the footer.
    ``options``: Parquet writer options (default ``part_options``)."""

    def __init__(
        self,
        fh,
        schema: pa.Schema,
        row_group_rows: int = ROW_GROUP_ROWS,
        options: dict | None = None,
    ):
        self.sink = _HashingSink(fh)
        self.schema = schema
        self.rows = row_group_rows
        self.pending: list[pa.Table] = []
        self.npending = 0
        self.written = 0
        self.writer = pq.ParquetWriter(self.sink, schema, **(options or part_options(schema)))

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.pending.append(table)
            self.npending += table.num_rows
        while self.npending >= self.rows:
            self._flush(self.rows)

    def _flush(self, n: int) -> None:
        buf = pa.concat_tables(self.pending)
        self.writer.write_table(buf.slice(0, n), row_group_size=n)
        rest = buf.slice(n)
        self.pending = [rest] if rest.num_rows else []
        self.npending = rest.num_rows
        self.written += n

    def close(self, stats: dict) -> str:
        if self.npending:
            self._flush(self.npending)
        self.sink.hashing = False
        stats_json = json.dumps(stats, sort_keys=True).encode()
        digest = _digest(self.sink.hash, stats_json)
        self.writer.add_key_value_metadata({STATS_KEY: stats_json, DIGEST_KEY: digest.encode()})
        self.writer.close()
        return digest

    def abort(self) -> None:
        """Give up the file: the Parquet writer is closed without writing to
        ``fh`` (else it would write its footer whenever it is collected)."""
        self.sink.dropped = True
        try:
            self.writer.close()
        except Exception:  # a writer that already failed
            pass


def part_row_group_rows(ncell: int) -> int:
    """Rows per row group of an aggregate (and per batch it reads): ~32k on
    square8, fewer on big boards."""
    return max(1024, min(ROW_GROUP_ROWS, ROW_GROUP_ROWS * 64 // ncell))


# A self-play worker holds one row group (Arrow arrays) until it is written, and
# the Parquet writer encodes it whole: 8k square8 rows (~20 MB) rather than the
# aggregate's 32k keep a worker's peak near what its imports and compiled code
# take (benchmarks/data_path.py), whatever the part's length.
WORKER_ROW_GROUP_ROWS = 8_192


def worker_row_group_rows(ncell: int) -> int:
    """Rows per row group of a self-play part: 8k on square8, fewer on big
    boards (bigger rows)."""
    return max(512, min(WORKER_ROW_GROUP_ROWS, WORKER_ROW_GROUP_ROWS * 64 // ncell))


def table_from_rows(cols: dict, schema: pa.Schema) -> pa.Table:
    """A table from per-column lists of values; ``state`` also takes engine
    states and ``history`` lists of indices."""

    def value(name: str, v):
        if v is None or isinstance(v, bytes) or name not in BYTE_COLUMNS:
            return v
        if name == "state":
            return state_bytes(v)
        return np.asarray(v, dtype="<u2").tobytes()

    arrays = [
        pa.array([value(f.name, v) for v in cols.get(f.name, [])], type=f.type) for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


class PartWriter:
    """A self-play part being written: ``add(rows)`` as games finish, then
    ``close(stats)`` publishes it atomically (``abort()`` or an exception in
    between leaves nothing)."""

    def __init__(self, uri: str, ncell: int):
        self.schema = arrow_schema()
        self._ctx = atomic_output(uri)
        self._fh = self._ctx.__enter__()
        self._w = DigestParquetWriter(self._fh, self.schema, worker_row_group_rows(ncell))

    def add(self, table: pa.Table) -> None:
        self._w.write(table)

    def close(self, stats: dict) -> str:
        try:
            digest = self._w.close(stats)
        except BaseException as exc:
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._ctx.__exit__(None, None, None)
        return digest

    def abort(self, exc: BaseException | None = None) -> None:
        exc = exc or RuntimeError("aborted")
        try:
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)
        except BaseException:
            pass


# ---- reading: checked -----------------------------------------------------------------


def read_bytes(uri: str) -> bytes:
    try:
        with fsspec.open(uri, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise DataError(f"not found: {uri}") from None
    except IsADirectoryError:
        raise DataError(f"{uri} is a folder, not a Parquet file") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {uri}: {exc}") from None


def _check_digest(uri: str, meta: pq.FileMetaData, data_hash) -> pq.FileMetaData:
    kv = meta.metadata or {}
    _check_versions(uri, kv)
    if DIGEST_KEY not in kv or STATS_KEY not in kv:
        raise DataError(
            f"{uri} carries no ringrift digest (not written by ringrift {SCHEMA_VERSION})"
        )
    if _digest(data_hash, kv[STATS_KEY]).encode() != kv[DIGEST_KEY]:
        raise DataError(
            f"{uri}: content digest mismatch (the file was changed or corrupted "
            f"after it was written)"
        )
    return meta


def _recorded(meta: pq.FileMetaData) -> bytes | None:
    return (meta.metadata or {}).get(DIGEST_KEY)


def _footer(uri: str, tail: bytes, size: int) -> tuple[pq.FileMetaData, int]:
    """Footer metadata and the length of the data region before it."""
    if size < 12 or tail[-4:] != b"PAR1":
        raise DataError(f"{uri} is truncated or not a Parquet file")
    footer_len = struct.unpack("<I", tail[-8:-4])[0]
    if footer_len + 12 > size:
        raise DataError(f"{uri} is truncated or not a Parquet file")
    try:
        meta = pq.read_metadata(pa.BufferReader(tail[-8 - footer_len :]))
    except Exception as exc:  # any decoding failure of a damaged footer
        raise DataError(f"corrupt Parquet footer in {uri}: {exc}") from None
    return meta, size - 8 - footer_len


def verify_bytes(uri: str, data: bytes) -> pq.FileMetaData:
    """Check a whole file's digest against its footer; returns the footer."""
    if data[:4] != b"PAR1":
        raise DataError(f"{uri} is truncated or not a Parquet file")
    meta, end = _footer(uri, data, len(data))
    return _check_digest(uri, meta, _data_hash(_recorded(meta), data[:end]))


def verify_file(uri: str, chunk: int = 8 << 20) -> pq.FileMetaData:
    """``verify_bytes`` for files of any size: streams the data through the
    digest instead of loading it."""
    try:
        with fsspec.open(uri, "rb") as fh:
            size = fh.size if hasattr(fh, "size") and fh.size is not None else fh.seek(0, 2)
            fh.seek(max(0, size - (1 << 20)))
            tail = fh.read()
            if len(tail) < size and struct.unpack("<I", tail[-8:-4])[0] + 8 > len(tail):
                fh.seek(0)
                tail = fh.read()
            meta, end = _footer(uri, tail, size)
            fh.seek(0)
            if fh.read(4) != b"PAR1":
                raise DataError(f"{uri} is truncated or not a Parquet file")
            h = _data_hash(_recorded(meta), b"PAR1")
            left = end - 4
            while left > 0:
                block = fh.read(min(chunk, left))
                if not block:
                    raise DataError(f"{uri} is truncated")
                h.update(block)
                left -= len(block)
    except FileNotFoundError:
        raise DataError(f"not found: {uri}") from None
    except IsADirectoryError:
        raise DataError(f"{uri} is a folder, not a Parquet file") from None
    except DataError:
        raise
    except (OSError, ValueError, struct.error) as exc:
        raise DataError(f"cannot read {uri}: {exc}") from None
    return _check_digest(uri, meta, h)


def iter_checked_batches(uri: str, batch_rows: int = 65_536, columns=None):
    """Record batches of a verified file (``verify_file`` first), decoded with
    page checksums on and value checks per batch (when all columns are read)."""
    try:
        with fsspec.open(uri, "rb") as fh:
            pf = pq.ParquetFile(fh, page_checksum_verification=True)
            check_schema(uri, pf.schema_arrow, json.loads(pf.metadata.metadata[STATS_KEY]))
            start = 0
            for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
                if columns is None:
                    check_table_values(uri, pa.Table.from_batches([batch]), first_row=start)
                start += batch.num_rows
                yield batch
    except DataError:
        raise
    except Exception as exc:  # any decoding failure of damaged pages
        raise DataError(f"corrupt data in {uri}: {exc}") from None


def _check_versions(uri: str, kv: dict) -> None:
    try:
        _versions(uri, kv)
    except ValueError:
        raise DataError(f"{uri}: unreadable version entries in its footer") from None


def _versions(uri: str, kv: dict) -> None:
    version = kv.get(b"ringrift.schema_version")
    if version is None:
        raise DataError(f"{uri} is not a ringrift file (no schema version)")
    if int(version) != SCHEMA_VERSION:
        raise DataError(f"{uri} has schema version {int(version)}, expected {SCHEMA_VERSION}")
    engine = kv.get(b"ringrift.engine_version")
    if engine is None or int(engine) != ENGINE_VERSION:
        raise DataError(
            f"{uri} was made by engine version {engine and int(engine)}, this is "
            f"engine version {ENGINE_VERSION} (the rules changed: rebuild it)"
        )


def read_part(uri: str, *, check_values: bool = True) -> pa.Table:
    """A part or aggregate, verified: digest, page checksums, versions and
    (by default) the values' own consistency."""
    data = read_bytes(uri)
    meta = verify_bytes(uri, data)
    try:
        table = pq.read_table(pa.BufferReader(data), page_checksum_verification=True)
    except Exception as exc:  # any decoding failure of damaged pages
        raise DataError(f"corrupt part {uri}: {exc}") from None
    # the stats and digest are footer entries written after the Arrow schema
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta.metadata})
    check_schema(uri, table.schema, part_stats(table))
    if check_values:
        check_table_values(uri, table)
    return table


def check_schema(uri: str, schema: pa.Schema, stats: dict) -> None:
    """The columns must be exactly those of the sample schema for the board the
    (digest-protected) stats name: the footer's schema is outside the digest."""
    from ..engine.geometry import board

    try:
        board(stats["board_type"])
    except (KeyError, ValueError):
        raise DataError(f"{uri}: its stats name no known board") from None
    want = arrow_schema()
    if not schema.equals(want, check_metadata=False):
        bad = [f.name for f, g in zip(schema, want) if not f.equals(g)] or ["column count"]
        raise DataError(f"{uri}: columns differ from the sample schema (first: {bad[0]})")


def part_stats(table: pa.Table) -> dict:
    return json.loads((table.schema.metadata or {})[STATS_KEY])


def _fixed(table: pa.Table, name: str, width: int) -> np.ndarray:
    col = table.column(name).combine_chunks()
    return col.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)


def _listed(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A list column's offsets (int64, from 0) and elements."""
    col = table.column(name).combine_chunks()
    offsets = col.offsets.to_numpy().astype(np.int64)
    return offsets - offsets[0], col.flatten().to_numpy(zero_copy_only=False)


# What every sample must satisfy, in the order check_table_values reports it.
VALUE_FAULTS = (
    f"has a player count outside 2-{MAX_PLAYERS}",
    "has a winner outside 0..num_players",
    "has a player to move outside 1..num_players",
    "has an outcome that disagrees with its winner and player to move",
    "has ranks outside 1..num_players",
    "has a winner whose rank is not 1",
    "has values that disagree with its ranks",
    "has policy indices and probabilities of different lengths",
    "has a negative policy probability",
    "has a policy that does not sum to 1",
    "has no policy target although a move was played",
)


@kernel
def _value_faults(
    n, winner, mover, outcome, ranks, values, idx_off, prob_off, probs, ply_to_end, count, first
):
    """Per fault of VALUE_FAULTS, the rows that have it (``count``) and the
    first (``first``). A row with a bad player count is checked no further:
    that fault is reported first anyway."""
    for r in range(n.shape[0]):
        np_ = n[r]
        faults = 0
        if np_ < 2 or np_ > MAX_PLAYERS:
            faults |= 1 << 0
        else:
            w = winner[r]
            m = mover[r]
            if w < 0 or w > np_:
                faults |= 1 << 1
            if m < 1 or m > np_:
                faults |= 1 << 2
            want = 0.5 if w == 0 else (1.0 if w == m else 0.0)
            if not (np.float64(outcome[r]) == want):
                faults |= 1 << 3
            for p in range(MAX_PLAYERS):
                k = ranks[r, p]
                if (k < 1 or k > np_) if p < np_ else k != 0:
                    faults |= 1 << 4
            wi = min(max(w - 1, 0), MAX_PLAYERS - 1)
            if w > 0 and ranks[r, wi] != 1:
                faults |= 1 << 5
            for p in range(MAX_PLAYERS):
                e = 0.0
                if w > 0 and p < np_:
                    e = 1.0 - 2.0 * (ranks[r, p] - 1) / max(np_ - 1, 1)
                if not (abs(np.float64(values[r, p]) - e) <= 1e-6):
                    faults |= 1 << 6
        lens = idx_off[r + 1] - idx_off[r]
        if lens != prob_off[r + 1] - prob_off[r]:
            faults |= 1 << 7
        else:
            total = 0.0
            for j in range(prob_off[r], prob_off[r + 1]):
                q = np.float64(probs[j])
                if q < 0:
                    faults |= 1 << 8
                total += q
            if lens > 0 and not (abs(total - 1.0) <= 1e-4):
                faults |= 1 << 9
        if ply_to_end[r] != 0 and lens == 0:
            faults |= 1 << 10
        for f in range(count.shape[0]):
            if faults & (1 << f):
                if count[f] == 0:
                    first[f] = r
                count[f] += 1


def check_table_values(uri: str, table: pa.Table, first_row: int = 0) -> None:
    """What every sample must satisfy, whatever produced it: outcome in the
    domain of its game's result, winner/outcome/values/ranks agreeing, policy
    targets that are distributions (VALUE_FAULTS). One line naming the file,
    the first bad row and how many rows share its fault."""
    if table.num_rows == 0:
        return

    def col(name):
        return table.column(name).combine_chunks().to_numpy(zero_copy_only=False)

    idx_off, _ = _listed(table, "policy_index")
    prob_off, probs = _listed(table, "policy_prob")
    count = np.zeros(len(VALUE_FAULTS), np.int64)
    first = np.zeros(len(VALUE_FAULTS), np.int64)
    _value_faults(
        col("num_players"),
        col("winner"),
        col("player_to_move"),
        col("outcome"),
        _fixed(table, "ranks", MAX_PLAYERS),
        _fixed(table, "values", MAX_PLAYERS),
        idx_off,
        prob_off,
        probs,
        col("ply_to_end"),
        count,
        first,
    )
    for what, c, r in zip(VALUE_FAULTS, count.tolist(), first.tolist()):
        if c:
            raise DataError(f"{uri}: row {first_row + r} {what} ({c} rows)")
