"""The inspection notebook runs top to bottom on a real dataset (nbclient), so
it cannot rot."""

import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def test_notebook_executes_on_a_dataset(tmp_path, monkeypatch):
    part = tmp_path / "part.parquet"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ringrift",
            "selfplay",
            "--num-games",
            "12",
            "--engine-mode",
            "mixed",
            "--seed",
            "1",
            "--quiet",
            "--output",
            str(part),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    monkeypatch.setenv("RINGRIFT_DATASET", str(part))
    nb = nbformat.read(REPO / "notebooks" / "inspect_dataset.ipynb", as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    # the kernel runs this interpreter (ipykernel's own python3 kernelspec)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 5  # length, win rates, victories, two boards
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "1 file(s), 12 games" in text
    # the per-level table: mixed/light levels 1-4
    assert all(f"│ {lv}" in text for lv in (1, 2, 3, 4))
