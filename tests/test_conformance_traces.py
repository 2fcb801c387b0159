"""Every game of every reference trace file, step by step (the judge)."""

import pytest
from conftest import conformance_root

from ringrift.reference.traces import check_file

EXPECTED_FILES = 17


def _trace_files():
    return sorted((conformance_root() / "traces").glob("*.jsonl.gz"))


def test_all_trace_files_present():
    assert len(_trace_files()) == EXPECTED_FILES


@pytest.mark.parametrize("path", _trace_files(), ids=lambda p: p.name)
def test_trace_file(path, report_line):
    rep = check_file(path)
    report_line(
        f"{path.name}: {len(rep.games)} games, {rep.steps} steps checked, "
        f"{rep.passed} passed, {rep.failed} failed"
    )
    assert rep.games, f"{path.name} holds no games"
    failures = [g.message for g in rep.games if not g.ok]
    assert not failures, "\n".join(failures[:5])
