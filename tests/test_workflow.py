"""The Snakemake workflow end to end on the tiny .test config, as users run it."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ringrift.dataset.parts import part_stats, read_part
from ringrift.export.jsonl import export_samples

REPO = Path(__file__).resolve().parents[1]
TEST_CONFIG = REPO / ".test" / "config" / "config.yaml"


def smk(workdir, *args, config=TEST_CONFIG, check=True, timeout=900):
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "workflow" / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        "--profile",
        str(REPO / "profiles" / "local"),
        "--cores",
        "2",
        *args,
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(p.stdout[-3000:] + p.stderr[-3000:])
    return p


def test_lint_clean():
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--lint",
            "--snakefile",
            str(REPO / "workflow" / "Snakefile"),
            "--directory",
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Congratulations, your workflow is in a good condition!" in p.stdout + p.stderr


def test_dry_run_plans_expected_jobs(tmp_path):
    p = smk(tmp_path, "-n")
    out = p.stdout + p.stderr
    # 16 games, 4 games per part -> 4 parts, 2 per worker
    for rule, n in (
        ("selfplay_part", 4),
        ("aggregate", 1),
        ("export_moves", 4),
        ("export_jsonl", 1),
        ("summary", 1),
    ):
        assert any(line.split() == [rule, str(n)] for line in out.splitlines()), out


def test_bad_config_value_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEST_CONFIG.read_text().replace("board_type: square8", "board_type: octagon"))
    p = smk(tmp_path, "-n", config=bad, check=False)
    assert p.returncode != 0
    assert "octagon" in p.stdout + p.stderr


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """The tiny dataset with training tensors too."""
    wd = tmp_path_factory.mktemp("wf")
    conf = wd / "with_tensors.yaml"
    conf.write_text(
        TEST_CONFIG.read_text().replace("    jsonl: true", "    jsonl: true\n    tensors: true")
    )
    smk(wd, config=conf)
    return wd


def test_full_run_outputs(full_run):
    wd = full_run
    parts = sorted((wd / "results" / "selfplay" / "tiny").glob("worker_*/part_*.parquet"))
    assert len(parts) == 4
    stats = [part_stats(read_part(str(p))) for p in parts]
    combined = pq.read_table(wd / "results" / "tiny" / "combined_training.parquet")
    assert combined.num_rows == sum(s["samples"] for s in stats)
    assert sum(s["games"] for s in stats) == 16
    assert len(set(combined.column("game_id").to_pylist())) == 16
    summary = json.loads((wd / "results" / "tiny" / "summary.json").read_text())
    assert summary["games"] == 16 and summary["samples"] == combined.num_rows
    with gzip.open(wd / "results" / "tiny" / "combined_training.jsonl.gz", "rb") as fh:
        text = fh.read()
    # the chunk jobs copied the parts' move tables (deleted after use): the
    # same lines as one plain export of the aggregate
    assert not list((wd / "results" / "tiny" / "export").glob("moves/*.parquet"))
    plain = wd / "plain.jsonl"
    export_samples([str(wd / "results" / "tiny" / "combined_training.parquet")], str(plain))
    assert text == plain.read_bytes()
    lines = [json.loads(x) for x in text.splitlines()]
    assert len(lines) == combined.num_rows
    assert {
        "state",
        "outcome",
        "board_type",
        "game_id",
        "move_number",
        "ply_to_end",
        "metadata",
    } <= set(lines[0])


def test_tensors_target_writes_reference_shards(full_run):
    import numpy as np

    from ringrift.dataset.tensors import TensorShards

    shards = sorted((full_run / "results" / "tiny" / "tensors").glob("shard_*.npz"))
    assert [s.name for s in shards] == ["shard_00000.npz"]
    with np.load(shards[0], allow_pickle=True) as z:
        assert z["features"].shape[1:] == (56, 8, 8) and z["features"].dtype == np.float32
        assert str(z["board_type"]) == "square8" and z["globals"].shape[1] == 20
        ids = set(z["game_ids"].tolist())
    combined = pq.read_table(full_run / "results" / "tiny" / "combined_training.parquet")
    assert ids == set(combined.column("game_id").to_pylist())  # every game, by our id
    seen = sum(len(b["values"]) for b in TensorShards(shards, batch_size=64, seed=1))
    assert seen == len(np.load(shards[0], allow_pickle=True)["values"])


def test_second_run_does_nothing(full_run):
    p = smk(full_run, "-n", config=full_run / "with_tensors.yaml")
    assert "Nothing to be done" in p.stdout + p.stderr


def test_kill_and_rerun_gives_identical_aggregate(full_run, tmp_path):
    wd = tmp_path / "killed"
    wd.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "workflow" / "Snakefile"),
        "--directory",
        str(wd),
        "--configfile",
        str(TEST_CONFIG),
        "--profile",
        str(REPO / "profiles" / "local"),
        "--cores",
        "2",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 600
    parts_dir = wd / "results" / "selfplay" / "tiny"
    while time.time() < deadline and not list(parts_dir.glob("worker_*/part_*.parquet")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(parts_dir.glob("worker_*/part_*.parquet")))
    assert 1 <= done_before < 4 or not (wd / "results" / "tiny").exists()
    smk(wd, "--unlock")
    p = smk(wd)
    out = p.stdout + p.stderr
    assert "selfplay_part" in out
    a = (full_run / "results" / "tiny" / "combined_training.parquet").read_bytes()
    b = (wd / "results" / "tiny" / "combined_training.parquet").read_bytes()
    assert a == b


# ---- report: plots registered with Snakemake, looked at in a browser ----------------

PLOT_SIZES = {
    "game_length": (600, 360),
    "win_rate": (900, 360),
    "victory_types": (600, 360),
    "throughput": (900, 360),
    "board": (700, 700),
}


def test_plots_are_real_pictures(full_run):
    from matplotlib.image import imread

    plots = full_run / "results" / "tiny" / "plots"
    assert sorted(p.stem for p in plots.glob("*.png")) == sorted(PLOT_SIZES)
    for name, (w, h) in PLOT_SIZES.items():
        img = imread(plots / f"{name}.png")
        assert img.shape[:2] == (h, w), name
        colours = {tuple(px) for px in (img[::4, ::4, :3] * 255).astype(int).reshape(-1, 3)}
        assert len(colours) > 8, f"{name} looks blank"


def chromium():
    import shutil

    path = os.environ.get("RINGRIFT_CHROMIUM") or shutil.which("chromium")
    assert path, "headless Chromium is needed (apt-get install chromium; .ci/run does)"
    return path


def test_report_builds_and_plots_render_in_browser(full_run):
    from playwright.sync_api import sync_playwright

    report = full_run / "report.html"
    smk(full_run, "--report", str(report))
    html = report.read_text()
    assert "RingRift self-play training data" in html  # workflow description
    seen = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        page.goto(report.as_uri())
        page.get_by_text("Results", exact=True).click()
        page.get_by_text("tiny", exact=True).first.click()
        for label in (
            "a sample board",
            "game length",
            "throughput per worker",
            "victory types",
            "win rate by seat and level",
        ):
            page.locator("tr", has_text=label).first.locator("a[iconname=eye]").click()
            img = page.locator("img[src^='data:image/png']").first
            img.wait_for()
            seen[label] = img.evaluate(
                "e => new Promise(r => e.complete ? r([e.naturalWidth, e.naturalHeight])"
                " : e.onload = () => r([e.naturalWidth, e.naturalHeight]))"
            )
        browser.close()
    # each plot decoded by the browser at its real size
    assert seen == {
        "a sample board": [700, 700],
        "game length": [600, 360],
        "throughput per worker": [900, 360],
        "victory types": [600, 360],
        "win rate by seat and level": [900, 360],
    }


@pytest.mark.parametrize(
    "change,args,needle",
    [
        (None, ["--config", "worker_range=5-9"], "selects no worker of any dataset"),
        (
            ("num_players: 2", "num_players: 3\n    swap_rule: true"),
            [],
            "swap_rule needs num_players 2",
        ),
    ],
)
def test_settings_that_would_do_nothing_are_refused(tmp_path, change, args, needle):
    conf = TEST_CONFIG
    if change:
        conf = tmp_path / "c.yaml"
        conf.write_text(TEST_CONFIG.read_text().replace(*change))
    p = smk(tmp_path, "-n", *args, config=conf, check=False)
    assert p.returncode != 0 and needle in p.stdout + p.stderr


def test_configfile_replaces_the_default_config(tmp_path):
    """--configfile X plans X's datasets only (the default config's square8_2p
    dataset neither runs nor lends X its settings)."""
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--forceall",
            "--configfile",
            str(TEST_CONFIG),
            "--profile",
            "profiles/local",
            "--cores",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-2000:]
    assert "square8_2p" not in out and "results/tiny/" in out
    assert any(line.split() == ["selfplay_part", "4"] for line in out.splitlines()), out
