"""`ringrift conformance` and `ringrift play` as a user runs them."""

import gzip
import json
import subprocess
import sys


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "ringrift", *args], capture_output=True, text=True, timeout=600
    )


def _first_games(conformance_dir, name, n):
    with gzip.open(conformance_dir / "traces" / name, "rt") as fh:
        return [json.loads(next(fh)) for _ in range(n)]


def test_conformance_passes_and_reports(conformance_dir, tmp_path):
    recs = _first_games(conformance_dir, "hex8_3p.jsonl.gz", 3)
    f = tmp_path / "ok.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in recs))
    p = run("conformance", str(f))
    assert p.returncode == 0, p.stdout + p.stderr
    steps = sum(len(r["steps"]) for r in recs)
    assert f"3 games, {steps} steps checked, 3 passed, 0 failed" in p.stdout
    assert p.stdout.strip().splitlines()[-1] == "3 passed, 0 failed"


def test_conformance_reports_first_divergence(conformance_dir, tmp_path):
    recs = _first_games(conformance_dir, "square8_2p.jsonl.gz", 2)
    step = recs[1]["steps"][5]
    dropped = step["legal"].pop()
    if dropped == step["chosen"]:
        step["legal"].append(dropped)
        dropped = step["legal"].pop(0)
    step["legal"].append("place_ring p9 to=9,9 n=1")
    f = tmp_path / "bad.jsonl.gz"
    with gzip.open(f, "wt") as fh:
        for r in recs:
            fh.write(json.dumps(r) + "\n")
    p = run("conformance", str(f))
    assert p.returncode == 1
    assert "game 1 step 5" in p.stdout
    assert "place_ring p9 to=9,9 n=1" in p.stdout and dropped in p.stdout
    assert p.stdout.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_conformance_missing_file_is_one_line(tmp_path):
    p = run("conformance", str(tmp_path / "nope.jsonl.gz"))
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "no such trace file" in p.stderr


def test_play_summary():
    p = run("play", "--board-type", "hex8", "--num-players", "3", "--games", "20", "--seed", "4")
    assert p.returncode == 0, p.stderr
    assert "20 random games on hex8 with 3 players" in p.stdout
    wins = p.stdout.split("wins by seat: ")[1].splitlines()[0]
    counts = [int(x.split(": ")[1]) for x in wins.split("; ")[0].split(", ")]
    assert sum(counts) + int(wins.split("no winner: ")[1]) == 20


def test_play_unknown_board_is_one_line():
    p = run("play", "--board-type", "octagon")
    assert p.returncode == 2
    assert "unknown board type 'octagon'" in p.stderr and "Traceback" not in p.stderr


def test_cost_table_from_measured_speed():
    p = run(
        "cost",
        "--games",
        "1000000000",
        "--board-type",
        "hex8",
        "--engine-mode",
        "random",
        "--seconds",
        "0.5",
        "--workers",
        "1",
        "20",
        "--price-per-vcpu-hour",
        "0.05",
    )
    assert p.returncode == 0, p.stderr
    gph = float(p.stdout.split("measured: ")[1].split(" games/hour")[0].replace(",", ""))
    assert gph > 1000
    rows = [
        line.split("|")[1:-1]
        for line in p.stdout.splitlines()
        if line.startswith("| 1 |") or line.startswith("| 20 |")
    ]
    one, twenty = ([float(c.strip().replace("$", "").replace(",", "")) for c in r] for r in rows)
    assert abs(one[1] - 1e9 / gph) / one[1] < 0.02  # wall hours from measured speed
    assert abs(twenty[1] * 20 - one[1]) / one[1] < 0.02  # 20 workers: 20x faster
    assert abs(one[3] - one[2] * 0.05) < 0.01  # cost = vCPU-hours x price


def test_every_flag_has_help_and_the_listed_names_are_the_real_ones():
    import argparse

    from ringrift import cli
    from ringrift.engine.api import VALID_PLAYER_COUNTS
    from ringrift.engine.geometry import BOARD_TYPES
    from ringrift.players.ladder import BANDS, ENGINE_MODES

    assert cli.BOARD_TYPES == BOARD_TYPES and cli.ENGINE_MODES == ENGINE_MODES
    assert cli.BANDS == tuple(BANDS) and VALID_PLAYER_COUNTS == (2, 3, 4)
    missing = []

    def walk(parser, name):
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sub, sp in a.choices.items():
                    walk(sp, f"{name} {sub}")
            elif not a.help:
                missing.append(f"{name} {'/'.join(a.option_strings) or a.dest}")

    walk(cli.build_parser(), "ringrift")
    assert not missing
    p = run("selfplay", "--help")
    assert p.returncode == 0
    text = " ".join(p.stdout.split())
    assert "board: square8, square19, hex8, hexagonal (default: square8)" in text
    assert "(default: 10000)" in text and "who plays: mixed, random" in text
