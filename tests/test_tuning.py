"""CMA-ES tuning: statistics, settings, the profile hook, and a tiny tuning run
end to end through Snakemake (resume and byte-identical reruns)."""

import hashlib
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_workflow import REPO, smk

from ringrift.dataset.parts import part_stats, read_part
from ringrift.players.ladder import load_profile, profile_weights
from ringrift.players.params import WEIGHT_NAMES
from ringrift.tuning.settings import make_settings
from ringrift.tuning.stats import binom_two_sided, wilson

TUNING_CONFIG = REPO / ".test" / "config" / "tuning.yaml"


def ringrift(*args, check=True):
    p = subprocess.run(
        [sys.executable, "-m", "ringrift", *args], capture_output=True, text=True, timeout=600
    )
    if check and p.returncode:
        raise AssertionError(p.stdout + p.stderr)
    return p


# ---- statistics -------------------------------------------------------------------


def test_binomial_test_exact_values():
    assert binom_two_sided(9, 10, 0.5) == pytest.approx(22 / 1024)  # 0,1,9,10 of 10
    assert binom_two_sided(5, 10, 0.5) == pytest.approx(1.0)
    # one-sided mass doubled for a symmetric null
    tail = sum(math.comb(100, k) for k in range(60, 101)) / 2**100
    assert binom_two_sided(60, 100, 0.5) == pytest.approx(2 * tail)
    # asymmetric null: 3 players, 0 wins of 12
    assert binom_two_sided(0, 12, 1 / 3) < 0.02


def test_wilson_interval():
    lo, hi = wilson(0.5, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    lo, hi = wilson(1.0, 10)
    assert hi == pytest.approx(1.0) and 0.69 < lo < 0.73


# ---- settings and profiles ------------------------------------------------------------


def test_settings_defaults_and_errors():
    s = make_settings({"board_type": "hex8", "num_players": 3, "seed": 1})
    assert (s.level, s.population, s.iterations) == (2, 12, 1)
    for bad, word in (
        ({"board_type": "octagon"}, "octagon"),
        ({"population": 1}, "population"),
        ({"level": 1}, "level"),
        ({"sigma": 0}, "sigma"),
        ({"colour": "red"}, "colour"),
    ):
        with pytest.raises(ValueError, match=word):
            make_settings({"board_type": "square8", "num_players": 2, "seed": 1, **bad})


def test_settings_defaults_come_from_the_workflow_schema():
    from importlib import resources

    import yaml

    from ringrift.tuning.settings import defaults

    shipped = resources.files("ringrift").joinpath("config.schema.yaml").read_bytes()
    repo = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"
    assert shipped == repo.read_bytes()
    props = yaml.safe_load(shipped)["properties"]["tuning"]["additionalProperties"]["properties"]
    assert defaults() == {k: v["default"] for k, v in props.items() if "default" in v}
    assert defaults()["population"] == 12 and defaults()["sigma"] == 0.3
    with pytest.raises(ValueError, match="population must be an integer 2-999"):
        make_settings({"board_type": "square8", "num_players": 2, "seed": 1, "population": 1000})


def test_heuristic_profile_flag(tmp_path):
    prof = tmp_path / "p.json"
    w = dict(zip(WEIGHT_NAMES, profile_weights("square8")))
    w["attacks"] = 99.0
    prof.write_text(json.dumps({"board_type": "square8", "weights": w}))
    out = tmp_path / "part.parquet"
    ringrift(
        "selfplay",
        "--num-games",
        "2",
        "--engine-mode",
        "heuristic",
        "--quiet",
        "--heuristic-profile",
        str(prof),
        "--output",
        str(out),
    )
    stats = part_stats(read_part(str(out)))
    assert stats["heuristic_profile"]["weights"]["attacks"] == 99.0
    # the weights change the games: same seed, shipped profile -> other games
    out2 = tmp_path / "part2.parquet"
    ringrift(
        "selfplay",
        "--num-games",
        "2",
        "--engine-mode",
        "heuristic",
        "--quiet",
        "--output",
        str(out2),
    )
    import pyarrow.parquet as pq

    h1 = set(pq.read_table(out).column("game_hash").to_pylist())
    h2 = set(pq.read_table(out2).column("game_hash").to_pylist())
    assert h1 != h2


@pytest.mark.parametrize(
    "content, word",
    [
        ("{not json", "not a weight profile"),
        ('{"board_type": "hex8", "weights": WEIGHTS}', "is for board 'hex8'"),
        ('{"weights": {"stacks": 1}}', "missing weights"),
    ],
)
def test_bad_profile_one_line_error(tmp_path, content, word):
    prof = tmp_path / "bad.json"
    w = json.dumps(dict(zip(WEIGHT_NAMES, profile_weights("square8"))))
    prof.write_text(content.replace("WEIGHTS", w))
    p = ringrift(
        "selfplay",
        "--num-games",
        "1",
        "--heuristic-profile",
        str(prof),
        "--output",
        str(tmp_path / "x.parquet"),
        check=False,
    )
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "bad.json" in lines[0]
    assert not (tmp_path / "x.parquet").exists()


# ---- a tiny tuning run through Snakemake ------------------------------------------------


def digests(root: Path) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    wd = tmp_path_factory.mktemp("tune")
    smk(wd, "tune", config=TUNING_CONFIG)
    return wd, wd / "results" / "tuning" / "tiny"


def test_tiny_tuning_outputs(tuned):
    wd, run = tuned
    # 2 iterations x 1 generation x 4 candidates
    for g in (0, 1):
        assert len(list((run / f"gen_{g:03d}").glob("eval_*.json"))) == 4
        res = json.loads((run / f"gen_{g:03d}/result.json").read_text())
        assert res["iteration"] == g and len(res["candidates"]) == 4
        assert all(
            c["games"] == 8 and c["wins"] + c["draws"] + c["losses"] == 8 for c in res["candidates"]
        )
        assert res["best_score"] == max(c["score"] for c in res["candidates"])
    # iteration 1 searches around iteration 1's baseline: its candidates are
    # that baseline plus CMA-ES steps
    b1 = json.loads((run / "iter_01/baseline.json").read_text())
    promo = b1["tuning"]
    assert promo["confirm"]["games"] == 8
    assert promo["promoted"] == (promo["confirm"]["score"] >= 0.5)
    cands = json.loads((run / "gen_001/candidates.json").read_text())["candidates"]
    for c in cands:
        for n, x in zip(WEIGHT_NAMES, c["tuning"]["x"]):
            base = b1["weights"][n]
            assert c["weights"][n] == pytest.approx(base + max(abs(base), 1) * x)
    # the tuned profile is the last baseline and plugs into the player
    prof = run / "profile.json"
    b2 = json.loads((run / "iter_02/baseline.json").read_text())
    assert load_profile(str(prof), "square8") == tuple(b2["weights"][n] for n in WEIGHT_NAMES)
    summary = json.loads((run / "summary.json").read_text())
    v = summary["validation"]
    assert v["games"] == 16 and v["ci95"][0] <= v["score"] <= v["ci95"][1]
    assert [g["generation"] for g in summary["generations"]] == [0, 1]
    assert (run / "fitness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_interrupted_tuning_resumes_byte_identical(tuned, tmp_path):
    wd, run = tuned
    before = digests(run)
    copy = tmp_path / "wd"
    shutil.copytree(wd / "results", copy / "results")
    crun = copy / "results" / "tuning" / "tiny"
    # a run killed during generation 1: two evaluations and everything after
    # them are missing
    for name in (
        "gen_001/eval_002.json",
        "gen_001/eval_003.json",
        "gen_001/cand_003.json",
        "gen_001/result.json",
        "iter_02/baseline.json",
        "profile.json",
        "validation.json",
        "summary.json",
        "fitness.png",
    ):
        (crun / name).unlink()
    p = smk(copy, "tune", config=TUNING_CONFIG)
    out = p.stdout + p.stderr
    assert "tune_init" not in out and "tune_ask" not in out  # done work is not redone
    assert digests(crun) == before


def test_tampered_history_is_refused(tuned, tmp_path):
    wd, run = tuned
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    res = json.loads((copy / "gen_000/result.json").read_text())
    res["candidates"][0]["x"][0] += 0.01
    (copy / "gen_000/result.json").write_text(json.dumps(res))
    # generation 0 is iteration 0's only one: the replay for tell of gen 0 is
    # fresh, so check with a 2-generation iteration by asking as if it were one
    settings = json.loads((copy / "settings.json").read_text())
    settings["generations"], settings["iterations"] = 2, 1
    (copy / "settings.json").write_text(json.dumps(settings))
    p = ringrift("tune", "ask", "--run-dir", str(copy), "--generation", "1", check=False)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "differ from a replay" in lines[0]


def test_missing_tuning_file_one_line(tmp_path):
    p = ringrift(
        "tune", "ask", "--run-dir", str(tmp_path / "nowhere"), "--generation", "0", check=False
    )
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "missing tuning file" in p.stderr


def test_tuning_report_has_the_fitness_plot(tuned):
    wd, run = tuned
    report = wd / "tuning-report.html"
    smk(wd, "tune", "--report", str(report), config=TUNING_CONFIG)
    html = report.read_text()
    assert "fitness per generation" in html and "Tuning" in html
    assert "fitness.png" in html
