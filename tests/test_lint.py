"""The code passes ruff (rules and settings in pyproject.toml [tool.ruff])."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean():
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("ruff is not installed (it is in the test extras: pip install -e '.[test]')")
    p = subprocess.run([sys.executable, "-m", "ruff", "check", "ringrift", "tests", "benchmarks"],
                       cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
