"""Where data lives: URIs as recorded in outputs and logs."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact_uri(uri: str) -> str:
    """``uri`` without credentials: no user:password@ and no query string
    (presigned URLs carry their tokens there), so it can be recorded."""
    parts = urlsplit(uri)
    if not parts.scheme or len(parts.scheme) == 1:   # a plain path (or a drive letter)
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def parquet_files(paths: list[str]) -> list[str]:
    """Every .parquet file of ``paths`` (files, or folders searched
    recursively; local or remote), sorted per folder. One-line DataError for a
    path that does not exist or holds none."""
    import fsspec

    from .dataset.parts import DataError

    out = []
    for p in paths:
        try:
            fs, root = fsspec.core.url_to_fs(p)
            isdir = fs.isdir(root)
            exists = isdir or fs.exists(root)
        except (OSError, ValueError, ImportError) as exc:
            raise DataError(f"cannot reach {redact_uri(p)}: {exc}") from None
        if isdir:
            proto = p.split("://")[0] + "://" if "://" in p else ""
            out += [proto + f for f in sorted(fs.find(root)) if f.endswith(".parquet")]
        elif exists:
            out.append(p)
        else:
            raise DataError(f"no such file or folder: {redact_uri(p)}")
    if not out:
        raise DataError(f"no .parquet files under {', '.join(map(redact_uri, paths))}")
    return out
