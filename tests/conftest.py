import os
from pathlib import Path

import pytest

_REPORT = []


def shared_dir() -> Path:
    """shared/ sits beside the repository (CI lays it out the same way)."""
    env = os.environ.get("RINGRIFT_SHARED")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared"
    if not (path / "conformance").is_dir():
        pytest.fail(f"conformance data not found at {path / 'conformance'} "
                    "(set RINGRIFT_SHARED to the shared/ folder)")
    return path


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    return shared_dir() / "conformance"


@pytest.fixture(scope="session")
def report_line():
    return _REPORT.append


def pytest_terminal_summary(terminalreporter):
    if _REPORT:
        terminalreporter.section("conformance coverage")
        for line in _REPORT:
            terminalreporter.write_line(line)
