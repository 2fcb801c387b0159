"""Where data lives: checks that a destination is usable before any work is
done, bounded first requests to object storage, one-line descriptions of
storage and credential errors, and URIs made safe to record.

* ``check_writable(uri)`` fails (``StorageError``, one line) unless ``uri``
  can be written: a local file whose folder can be created and written, or an
  object whose store answers and accepts a write from these credentials. It
  runs a per-protocol check from ``WRITE_CHECKS``; a new store plugs in with
  ``register_write_check("az", fn)``.
* ``check_reachable(uri)`` fails fast when the store holding ``uri`` does not
  answer: a TCP connection to its endpoint (a few seconds), then the first
  request, bounded in time (fsspec's S3/GCS clients otherwise retry with
  backoff for a minute or more).
* ``open_parquet(uri, what)`` opens a Parquet file (page checksums on) with
  every failure as one DataError naming it and saying what it should be.
* ``redact_uri(uri)`` drops what must not be written into outputs or logs:
  ``user:password@`` and the query string (presigned URLs carry their
  signature and session token there) and any fragment.

Time limits: ``RINGRIFT_STORAGE_TIMEOUT`` seconds for a first request
(default 30), ``RINGRIFT_CONNECT_TIMEOUT`` for the TCP check (default 5).
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import threading
from contextlib import contextmanager
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import fsspec
import pyarrow.parquet as pq

from .dataset.parts import DataError

REMOTE_PROTOCOLS = ("s3", "s3a", "gs", "gcs")


class StorageError(DataError):
    """A destination or source that cannot be used, as one line."""


def _env_seconds(name: str, default: float) -> float:
    try:
        return max(0.1, float(os.environ.get(name, default)))
    except ValueError:
        return default


def first_request_timeout() -> float:
    return _env_seconds("RINGRIFT_STORAGE_TIMEOUT", 30.0)


def connect_timeout() -> float:
    return _env_seconds("RINGRIFT_CONNECT_TIMEOUT", 5.0)


# ------------------------------------------------------------- redaction ---


def redact_uri(uri: str) -> str:
    """``uri`` without user info, query string or fragment; plain paths and
    strings that are not URIs come back unchanged."""
    if not isinstance(uri, str) or "://" not in uri:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri.split("?", 1)[0].split("#", 1)[0]
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_URI_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_text(text: str) -> str:
    """Every URI inside ``text`` redacted (for error lines and logs)."""

    def one(m):
        uri = m.group(0)
        body = uri.rstrip(".,:;)]")
        return redact_uri(body) + uri[len(body) :]

    return _URI_IN_TEXT.sub(one, text)


# -------------------------------------------------------------- protocol ---


def protocol(uri: str) -> str:
    """The URI's protocol ("file" for local paths)."""
    if "://" not in uri:
        return "file"
    return uri.split("://", 1)[0].lower()


def is_remote(uri: str) -> bool:
    return protocol(uri) not in ("file", "local")


def _fs(uri: str):
    import fsspec

    try:
        return fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:
        raise StorageError(f"unsupported URI {redact_uri(uri)}: {exc}") from None


# -------------------------------------------------------- error messages ---


def _names(exc: BaseException) -> set[str]:
    return {c.__name__ for c in type(exc).__mro__}


def describe_error(exc: BaseException) -> str | None:
    """One line for a storage, network or credential error from boto/s3fs,
    gcsfs/google-auth or aiohttp, else None (not one of those)."""
    names = _names(exc)
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if names & {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return (
            "no usable AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            f"AWS_SECRET_ACCESS_KEY, or use an instance role): {msg}"
        )
    if names & {"DefaultCredentialsError", "RefreshError"}:
        return (
            "no usable Google credentials (gcloud auth application-default login, or "
            f"GOOGLE_APPLICATION_CREDENTIALS): {msg}"
        )
    if "ClientError" in names and hasattr(exc, "response"):
        err = (getattr(exc, "response", None) or {}).get("Error", {})
        code = err.get("Code", "")
        return f"object storage refused the request ({code}): {err.get('Message') or msg}"
    if names & {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "ClientOSError",
        "ConnectionError",
        "TimeoutError",
        "ProxyConnectionError",
    }:
        return f"cannot reach object storage: {msg}"
    if "HttpError" in names and type(exc).__module__.startswith("gcsfs"):
        return f"Google Cloud Storage refused the request: {msg}"
    return None


# ------------------------------------------------------------ bounded I/O ---


def endpoint(uri: str) -> tuple[str, int] | None:
    """(host, port) the client for ``uri`` connects to; None for local paths
    and protocols we do not know."""
    proto = protocol(uri)
    if proto in ("s3", "s3a"):
        fs, _ = _fs(uri)
        url = getattr(fs, "endpoint_url", None) or (fs.client_kwargs or {}).get("endpoint_url")
        if not url:
            try:
                fs.connect()  # builds the client (offline): resolves AWS_ENDPOINT_URL, region
                url = fs.s3.meta.endpoint_url
            except Exception as exc:  # noqa: BLE001 - described or re-raised below
                line = describe_error(exc)
                if line is None:
                    raise
                raise StorageError(f"{redact_uri(uri)}: {line}") from None
    elif proto in ("gs", "gcs"):
        import fsspec.config

        conf = fsspec.config.conf.get("gcs", {}) or fsspec.config.conf.get("gs", {})
        url = conf.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST", "")
        if url in ("", "default"):
            url = "https://storage.googleapis.com"
        elif "://" not in url:
            url = "http://" + url
    else:
        return None
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port


def check_endpoint(uri: str, timeout: float | None = None) -> None:
    """One TCP connection to the store's endpoint, or StorageError: a missing
    network, a wrong endpoint or a closed port fail here in seconds."""
    ep = endpoint(uri)
    if ep is None:
        return
    host, port = ep
    try:
        with socket.create_connection((host, port), timeout=timeout or connect_timeout()):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, socket.timeout):
            reason = f"no answer within {timeout or connect_timeout():.0f} s"
        raise StorageError(f"cannot reach {redact_uri(uri)}: {host}:{port}: {reason}") from None


def bounded(fn: Callable[[], object], what: str, timeout: float | None = None):
    """``fn()`` in a helper thread, given at most ``timeout`` seconds (the
    clients' own retries would otherwise go on for minutes); storage errors
    come back as StorageError naming ``what``."""
    timeout = timeout or first_request_timeout()
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    t = threading.Thread(target=run, name="ringrift-storage-check", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise StorageError(
            f"{what}: no answer from object storage within {timeout:.0f} s "
            "(network, endpoint or credentials; RINGRIFT_STORAGE_TIMEOUT "
            "sets the limit)"
        )
    exc = box.get("error")
    if exc is None:
        return box.get("value")
    if isinstance(exc, DataError):
        raise exc
    line = describe_error(exc)
    if line is not None:
        raise StorageError(f"{what}: {line}") from None
    if isinstance(exc, FileNotFoundError):
        raise exc
    if isinstance(exc, OSError):
        raise StorageError(f"{what}: {exc.strerror or exc}") from None
    raise exc


def check_reachable(uri: str, timeout: float | None = None) -> None:
    """Fail fast (one line) when the store holding ``uri`` does not answer:
    the endpoint check, then one bounded request (does ``uri`` exist). Local
    paths pass (their errors come later, naming the file)."""
    if not is_remote(uri):
        return
    check_endpoint(uri)

    def probe():
        fs, path = _fs(uri)
        return fs.exists(path)

    bounded(probe, f"cannot reach {redact_uri(uri)}", timeout)


# ----------------------------------------------------------- write checks ---


def _check_local(uri: str, timeout: float) -> None:
    path = uri[len("file://") :] if uri.startswith("file://") else uri
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(path):
        raise StorageError(f"output {uri} is a folder, not a file")
    parent = os.path.dirname(path) or "."
    above = parent
    while not os.path.exists(above) and os.path.dirname(above) != above:
        above = os.path.dirname(above)
    if not os.path.isdir(above):
        raise StorageError(f"cannot write {uri}: {above} is a file, not a folder")
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create output folder {parent}: {exc.strerror}") from None
    # a real file, not os.access: root passes access() on read-only mounts
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".ringrift-write-check-")
    except OSError as exc:
        raise StorageError(f"output folder {parent} is not writable: {exc.strerror}") from None
    os.close(fd)
    os.unlink(probe)


def _bucket_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    return bucket, key


def _check_s3(uri: str, timeout: float) -> None:
    """Start a multipart upload of the output key itself and abort it: the
    same permission as the real write (s3:PutObject), and an unfinished upload
    is never visible as an object (the lifecycle rule in docs/scale-out.md
    removes one whose abort was lost)."""
    bucket, key = _bucket_key(uri)
    if not key:
        raise StorageError(f"output {redact_uri(uri)} names a bucket, not an object")

    def probe():
        fs, _ = _fs(uri)
        try:
            up = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)
        except FileNotFoundError:
            raise StorageError(f"cannot write {redact_uri(uri)}: no bucket {bucket}") from None
        fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=up["UploadId"])

    bounded(probe, f"cannot write {redact_uri(uri)}", timeout)


def _check_gcs(uri: str, timeout: float) -> None:
    """Open a resumable upload session for the output object and cancel it:
    GCS checks storage.objects.create when the session opens; no object
    exists until a session is finalised (an abandoned one expires in a week)."""
    from fsspec.asyn import sync
    from gcsfs.core import initiate_upload

    bucket, key = _bucket_key(uri)
    if not key:
        raise StorageError(f"output {redact_uri(uri)} names a bucket, not an object")
    box = {}

    async def cancel(location):
        # one plain DELETE on the session URI (gcsfs's own call retries 5xx for
        # half a minute); the session id is its own credential
        import aiohttp

        session = await box["fs"]._set_session()
        async with session.delete(location, timeout=aiohttp.ClientTimeout(total=5)):
            pass

    def probe():
        fs, _ = _fs(uri)  # in the bounded call: finding credentials may take a while
        box["fs"] = fs
        try:
            location = sync(fs.loop, initiate_upload, fs, bucket, key)
        except FileNotFoundError:
            raise StorageError(f"cannot write {redact_uri(uri)}: no bucket {bucket}") from None
        try:
            sync(fs.loop, cancel, location)
        except Exception:  # noqa: BLE001 - cancelling is a courtesy (the session expires)
            pass

    bounded(probe, f"cannot write {redact_uri(uri)}", timeout)


def _check_generic(uri: str, timeout: float) -> None:
    """Any other fsspec store: its parent folder answers (no write probe)."""

    def probe():
        fs, path = _fs(uri)
        return fs.exists(path.rsplit("/", 1)[0] if "/" in path else path)

    bounded(probe, f"cannot reach {redact_uri(uri)}", timeout)


WRITE_CHECKS: dict[str, Callable[[str, float], None]] = {
    "file": _check_local,
    "local": _check_local,
    "s3": _check_s3,
    "s3a": _check_s3,
    "gs": _check_gcs,
    "gcs": _check_gcs,
}


def register_write_check(proto: str, fn: Callable[[str, float], None]) -> None:
    """Plug in a store: ``fn(uri, timeout)`` raises StorageError (or an error
    ``describe_error`` knows) unless ``uri`` can be written."""
    WRITE_CHECKS[proto.lower()] = fn


def check_writable(uri: str, timeout: float | None = None) -> None:
    """Fail (StorageError, one line) unless ``uri`` can be written, before
    any work is done: see the module docstring."""
    if not uri:
        raise StorageError("empty output path")
    timeout = timeout or first_request_timeout()
    proto = protocol(uri)
    if is_remote(uri):
        check_endpoint(uri)
    WRITE_CHECKS.get(proto, _check_generic)(uri, timeout)


def parquet_files(paths: list[str]) -> list[str]:
    """Every .parquet file of ``paths`` (files, or folders searched
    recursively; local or remote), sorted per folder. One-line DataError for a
    path that does not exist or holds none."""
    import fsspec

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


def one_line(exc: BaseException) -> str:
    """An exception's text on one line (library messages span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


@contextmanager
def open_parquet(uri: str, what: str = "input"):
    """A ParquetFile of ``uri`` (pages checked against their checksums as
    they are read); not found, unreadable, not Parquet: one DataError naming
    ``what`` and the file."""
    try:
        fh = fsspec.open(uri, "rb").open()
    except FileNotFoundError:
        raise DataError(f"{what} not found: {uri}") from None
    except Exception as exc:  # bad URI, storage access/credentials, ...
        raise DataError(f"corrupt or unreadable {what} {uri}: {one_line(exc)}") from None
    try:
        try:
            pf = pq.ParquetFile(fh, page_checksum_verification=True)
        except Exception as exc:  # not Parquet, truncated footer, ...
            raise DataError(f"corrupt or unreadable {what} {uri}: {one_line(exc)}") from None
        yield pf
    finally:
        fh.close()
