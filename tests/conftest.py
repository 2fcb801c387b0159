import os
import sys
from pathlib import Path

import pytest

# Before any test module imports numba: ringrift points Numba's cache at a folder
# keyed by the engine's source, so jitted test helpers never run stale code.
import ringrift  # noqa: F401

_REPORT = []


FIXTURES = Path(__file__).resolve().parent / "data" / "conformance"


def conformance_root() -> Path:
    """The conformance data the tests judge by: the repository's own copy
    (tests/data/conformance), or a larger set at $RINGRIFT_SHARED (the shared/
    folder, or its conformance folder)."""
    env = os.environ.get("RINGRIFT_SHARED")
    if not env:
        return FIXTURES
    for path in (Path(env) / "conformance", Path(env)):
        if (path / "traces").is_dir():
            return path
    raise pytest.UsageError(f"RINGRIFT_SHARED={env}: no conformance/traces folder there")


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    return conformance_root()


@pytest.fixture(autouse=True)
def _fresh_object_store_clients():
    """fsspec caches one filesystem per set of constructor arguments, and the
    cached client keeps the endpoint it was created with: a test that talks
    to a new emulator (endpoint from the environment) must not get the client
    of an earlier test's emulator, long stopped."""
    yield
    for module, name in (
        ("s3fs", "S3FileSystem"),
        ("gcsfs", "GCSFileSystem"),
        ("adlfs", "AzureBlobFileSystem"),
    ):
        if module in sys.modules:
            getattr(sys.modules[module], name).clear_instance_cache()


@pytest.fixture(scope="session")
def report_line():
    return _REPORT.append


def pytest_sessionfinish(session):
    # under pytest-xdist a worker hands its lines to the controller
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["ringrift_report"] = list(_REPORT)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _REPORT.extend(getattr(node, "workeroutput", {}).get("ringrift_report", []))


def pytest_terminal_summary(terminalreporter):
    if _REPORT:
        terminalreporter.section("conformance coverage")
        for line in _REPORT:
            terminalreporter.write_line(line)


def write_part_file(table, path, row_group_rows=32_768, **stats):
    """``table`` as a ringrift Parquet file (content digest, page checksums),
    the way parts and aggregates are written; stats default to the table's
    sample count and board."""
    from ringrift.dataset.parts import DigestParquetWriter, atomic_output

    stats.setdefault("samples", table.num_rows)
    if table.num_rows and "board_type" in table.column_names:
        stats.setdefault("board_type", str(table.column("board_type")[0].as_py()))
    with atomic_output(str(path)) as fh:
        w = DigestParquetWriter(fh, table.schema, row_group_rows)
        w.write(table)
        w.close(stats)
