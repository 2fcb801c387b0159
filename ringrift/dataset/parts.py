"""Writing and reading Parquet parts, locally or on object storage (fsspec).

A part appears complete or not at all: locally it is written under a temporary
name and renamed; on object storage it is one object write (an S3/GCS object
becomes visible only when the write completes).
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from .schema import SCHEMA_VERSION, arrow_schema

ROW_GROUP_ROWS = 32_768
STATS_KEY = b"ringrift.stats"


class DataError(Exception):
    """Bad or unreadable data, reported as one line."""


def stats_path(part_uri: str) -> str:
    base = part_uri[:-len(".parquet")] if part_uri.endswith(".parquet") else part_uri
    return base + ".stats.json"


def check_output_uri(uri: str) -> None:
    """Fail early (before any game runs) on outputs we cannot write."""
    if not uri or not uri.endswith(".parquet"):
        raise DataError(f"output must be a .parquet path or URI, got {uri!r}")
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:
        raise DataError(f"unsupported output URI {uri!r}: {exc}") from None
    if fs.protocol in ("file", "local") or "file" in (fs.protocol or ()):
        parent = os.path.dirname(os.path.abspath(path)) or "."
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create output folder {parent}: {exc.strerror}") from None
        if not os.access(parent, os.W_OK):
            raise DataError(f"output folder {parent} is not writable")


def table_from_rows(cols: dict, ncell: int, stats: dict) -> pa.Table:
    schema = arrow_schema(ncell)
    arrays = []
    for f in schema:
        arrays.append(pa.array(cols.get(f.name, []), type=f.type))
    meta = dict(schema.metadata or {})
    meta[STATS_KEY] = json.dumps(stats, sort_keys=True).encode()
    return pa.Table.from_arrays(arrays, schema=schema.with_metadata(meta))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def is_local(fs) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocols or "local" in protocols


@contextmanager
def atomic_output(uri: str):
    """A binary file to fill; it becomes ``uri`` only if the block ends
    without error: renamed into place locally, one upload to object storage
    (through a local temporary file). On error nothing appears at ``uri``."""
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:
        raise DataError(f"unsupported output URI {uri!r}: {exc}") from None
    local = is_local(fs)
    parent = os.path.dirname(os.path.abspath(path)) if local else None
    if parent:
        os.makedirs(parent, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tmp-", suffix=".part")
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


def _atomic_write_bytes(uri: str, data: bytes) -> None:
    fs, path = fsspec.core.url_to_fs(uri)
    if not is_local(fs):
        fs.pipe_file(path, data)   # already in memory: one object write, no temp file
        return
    with atomic_output(uri) as fh:
        fh.write(data)


def write_part(uri: str, rows, ncell: int, stats: dict) -> None:
    table = table_from_rows(rows.cols, ncell, stats)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", compression_level=6,
                   row_group_size=ROW_GROUP_ROWS, use_dictionary=True,
                   write_statistics=False)
    _atomic_write_bytes(stats_path(uri), (json.dumps(stats, indent=2, sort_keys=True) + "\n").encode())
    _atomic_write_bytes(uri, sink.getvalue().to_pybytes())


def read_part(uri: str) -> pa.Table:
    try:
        with fsspec.open(uri, "rb") as fh:
            table = pq.read_table(fh)
    except FileNotFoundError:
        raise DataError(f"part not found: {uri}") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"corrupt or unreadable part {uri}: {exc}") from None
    meta = table.schema.metadata or {}
    version = meta.get(b"ringrift.schema_version")
    if version is None:
        raise DataError(f"{uri} is not a ringrift part (no schema version)")
    if int(version) != SCHEMA_VERSION:
        raise DataError(f"{uri} has schema version {int(version)}, expected {SCHEMA_VERSION}")
    return table


def part_stats(table: pa.Table) -> dict:
    return json.loads((table.schema.metadata or {})[STATS_KEY])
