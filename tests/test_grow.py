"""Growing and changing a dataset: what each kind of config change reruns
(real Snakemake plans on a finished run), and a real grow run."""

import json
import os
import shutil

import pytest
import yaml
from test_workflow import TEST_CONFIG, smk

from ringrift.dataset.parts import part_stats, read_part
from ringrift.dataset.versions import ENGINE_VERSION, SCHEMA_VERSION

BASE = yaml.safe_load(TEST_CONFIG.read_text())
BASE["datasets"]["tiny"]["total_games"] = 12  # 3 parts of 4 games


def config(tmp_path, name="c.yaml", **changes):
    conf = yaml.safe_load(yaml.safe_dump(BASE))
    conf["datasets"]["tiny"].update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(conf))
    return path


def plan(workdir, conf, *args):
    """{rule: job count} and the reasons of a dry run."""
    p = smk(workdir, "-n", *args, config=conf)
    out = p.stdout + p.stderr
    counts = {}
    for line in out.splitlines():
        bits = line.split()
        if len(bits) == 2 and bits[1].isdigit() and bits[0] not in ("total", "job"):
            counts[bits[0]] = int(bits[1])
    return counts, out


def parts_of(workdir):
    root = workdir / "results" / "selfplay" / "tiny"
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.glob("worker_*/part_*.parquet"))
    }


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A finished 12-game run (jsonl on), then grown to 16 games."""
    wd = tmp_path_factory.mktemp("grow")
    c12 = config(wd, "c12.yaml")
    smk(wd, config=c12)
    before = parts_of(wd)
    plans = {
        "total_games 12 -> 16": plan(wd, config(wd, total_games=16)),
        "jsonl on -> off": plan(wd, config(wd, jsonl=False)),
        "max_moves 10000 -> 500": plan(wd, config(wd, max_moves=500)),
        "seed 11 -> 12": plan(wd, config(wd, seed=12)),
        "workers 2 -> 3": plan(wd, config(wd, workers=3)),
    }
    older = _made_before_schema_versions(wd, tmp_path_factory)
    plans["parts of an older ringrift"] = plan(older, c12, "--printshellcmds")
    smk(wd, config=config(wd, "c16.yaml", total_games=16))
    return {"wd": wd, "before": before, "after": parts_of(wd), "plans": plans}


def _made_before_schema_versions(wd, tmp_path_factory):
    """A copy of the run whose parts' job records lack the sample schema
    param, as a ringrift before it was one recorded them."""
    old = tmp_path_factory.mktemp("older") / "w"
    shutil.copytree(wd, old, symlinks=True)
    edited = 0
    for f in (old / ".snakemake" / "metadata").iterdir():
        rec = json.loads(f.read_text())
        if rec.get("rule") == "selfplay_part":
            rec["params"].remove(repr(SCHEMA_VERSION))
            f.write_text(json.dumps(rec))
            edited += 1
    assert edited == 3
    return old


def test_parts_of_an_older_format_are_replayed(grown):
    """The sample schema is a self-play param: after an upgrade that changes
    it, the next run replays every part instead of mixing formats (the
    aggregate would refuse them), and passes the version to the worker."""
    counts, out = grown["plans"]["parts of an older ringrift"]
    assert counts["selfplay_part"] == 3 and "Params have changed" in out, out
    assert out.count(f"--schema-version {SCHEMA_VERSION} --engine-version {ENGINE_VERSION}") == 3


def test_raising_total_games_only_adds_parts(grown):
    counts, out = grown["plans"]["total_games 12 -> 16"]
    assert counts["selfplay_part"] == 1, out
    assert "worker_01/part_00003.parquet" in out
    assert counts["aggregate"] == 1


def test_export_only_setting_does_not_touch_parts(grown):
    counts, out = grown["plans"]["jsonl on -> off"]
    assert "selfplay_part" not in counts and "aggregate" not in counts, out


@pytest.mark.parametrize("change", ["max_moves 10000 -> 500", "seed 11 -> 12"])
def test_game_settings_rerun_every_part_and_say_why(grown, change):
    counts, out = grown["plans"][change]
    assert counts["selfplay_part"] == 3, out
    assert "Params have changed" in out
    key = change.split()[0]
    assert f"'{key}'" in out  # the reason names the setting


def test_worker_count_moves_parts_without_new_games(grown):
    counts, out = grown["plans"]["workers 2 -> 3"]
    # part 2 moves from worker_00 to worker_02; parts 0 and 1 stay where they are
    assert counts["selfplay_part"] == 1 and "worker_02/part_00002.parquet" in out, out


def test_grow_run_keeps_old_parts_and_matches_a_fresh_run(grown, tmp_path):
    before, after = grown["before"], grown["after"]
    assert set(after) - set(before) == {"worker_01/part_00003.parquet"}
    for name, (data, mtime) in before.items():
        assert after[name] == (data, mtime), f"{name} was rewritten"
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    smk(fresh, config=config(fresh, total_games=16))
    rel = "results/tiny/combined_training.parquet"
    assert (fresh / rel).read_bytes() == (grown["wd"] / rel).read_bytes()
    rel = "results/tiny/combined_training.jsonl.gz"
    assert (fresh / rel).read_bytes() == (grown["wd"] / rel).read_bytes()


def test_changing_workers_moves_parts_and_keeps_the_aggregate(grown, tmp_path):
    wd = tmp_path / "w"
    shutil.copytree(grown["wd"], wd, symlinks=True)
    c16 = config(wd, total_games=16)
    agg = (wd / "results/tiny/combined_training.parquet").read_bytes()
    old = parts_of(wd)
    p = smk(wd, config=config(wd, "w3.yaml", total_games=16, workers=3))
    new = parts_of(wd)
    # parts 2 and 3 change folders (k % 3), their bytes do not; no game is replayed
    assert sorted(new) == [
        "worker_00/part_00000.parquet",
        "worker_00/part_00003.parquet",
        "worker_01/part_00001.parquet",
        "worker_02/part_00002.parquet",
    ]
    assert new["worker_02/part_00002.parquet"][0] == old["worker_00/part_00002.parquet"][0]
    assert new["worker_00/part_00003.parquet"][0] == old["worker_01/part_00003.parquet"][0]
    logs = [
        (wd / "logs/selfplay/tiny/worker_02/part_00002.log").read_text(),
        (wd / "logs/selfplay/tiny/worker_00/part_00003.log").read_text(),
    ]
    assert all(log.startswith("moved ") and "no games replayed" in log for log in logs), logs
    assert (wd / "results/tiny/combined_training.parquet").read_bytes() == agg, p.stdout[-2000:]
    assert c16.exists()


def test_profile_contents_rerun_self_play(tmp_path):
    import json

    from ringrift.players.ladder import profile_weights
    from ringrift.players.params import WEIGHT_NAMES

    prof = tmp_path / "profile.json"
    weights = dict(zip(WEIGHT_NAMES, profile_weights("square8")))
    prof.write_text(json.dumps({"board_type": "square8", "weights": weights}))
    conf = config(tmp_path, total_games=4, engine_mode="heuristic", heuristic_profile=str(prof))
    smk(tmp_path, config=conf)
    counts, _ = plan(tmp_path, conf)
    assert not counts, "a finished run with the same profile plans nothing"
    prof.write_text(json.dumps({"board_type": "square8", "weights": weights}, indent=4))
    counts, _ = plan(tmp_path, conf)
    assert not counts, "reformatting the profile (same weights) plans nothing"
    weights["attacks"] += 1.0
    prof.write_text(json.dumps({"board_type": "square8", "weights": weights}))
    counts, out = plan(tmp_path, conf)
    assert counts["selfplay_part"] == 1 and "Params have changed" in out


def test_parts_record_their_settings(grown):
    part = grown["wd"] / "results/selfplay/tiny/worker_01/part_00003.parquet"
    st = part_stats(read_part(str(part)))
    assert (st["game_offset"], st["games"], st["worker_id"]) == (12, 4, "tiny_p00003")
    assert st["seed"] == 11 and st["max_moves"] == 10000
    assert os.path.getsize(part) > 0
