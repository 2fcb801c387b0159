"""Self-play worker: Parquet parts, exact state round trip, determinism, flags."""

import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

import ringrift
from ringrift.dataset.parts import part_stats, read_part
from ringrift.dataset.schema import ENGINE_VERSION, SCHEMA_VERSION, history_of, row_to_state
from ringrift.engine import layout as L
from ringrift.engine.api import Rules
from ringrift.selfplay.game import replay
from ringrift.selfplay.worker import WorkerConfig, run_worker, sample_positions


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "ringrift", *args], capture_output=True, text=True, timeout=600
    )


def _cfg(tmp_path, name="p.parquet", **kw):
    base = dict(
        num_games=4,
        board_type="square8",
        num_players=2,
        output=str(tmp_path / name),
        seed=7,
        engine_mode="random",
        difficulty_band="light",
        worker_id="w",
    )
    base.update(kw)
    return WorkerConfig(**base)


def test_sample_positions_keep_first_last_and_every_n():
    assert sample_positions(30, 10) == [0, 1, 2, 3, 4, 10, 20, 26, 27, 28, 29, 30]
    assert sample_positions(3, 10) == [0, 1, 2, 3]


def test_part_round_trip_is_exact(tmp_path):
    cfg = _cfg(tmp_path)
    stats = run_worker(cfg)
    table = read_part(cfg.output)
    meta = table.schema.metadata
    assert meta[b"ringrift.schema_version"] == str(SCHEMA_VERSION).encode()
    assert meta[b"ringrift.package_version"] == ringrift.__version__.encode()
    assert b"ringrift.engine_version" in meta
    assert table.num_rows == stats["samples"] == part_stats(table)["samples"]
    assert meta[b"ringrift.digest"].decode() == stats["digest"]
    assert not list(tmp_path.glob("*.json")), "stats live in the part only (no sidecar)"
    rules = Rules("square8", 2)
    rows = table.to_pylist()
    assert len({r["game_id"] for r in rows}) == 4
    for r in rows:
        s = row_to_state(r)
        hist = history_of(r["history"])
        states, _ = replay(rules.geo, rules.new_game(), hist, np.array([len(hist)]))
        assert np.array_equal(states[0], s), r["game_id"]
        assert r["player_to_move"] == s[L.CUR]
        if r["move"] is None:
            assert r["ply_to_end"] == 0 and not r["policy_index"]
        else:
            assert abs(sum(r["policy_prob"]) - 1.0) < 1e-5
            assert r["move"] in rules.legal(s).tolist()
        assert r["outcome"] in (0.0, 0.5, 1.0)


def test_bytes_per_sample_square8(tmp_path):
    cfg = _cfg(tmp_path, num_games=20)
    stats = run_worker(cfg)
    per = (tmp_path / "p.parquet").stat().st_size / stats["samples"]
    assert per < 1024, f"{per:.0f} bytes per sample"


def test_same_flags_same_bytes(tmp_path):
    a = _cfg(tmp_path, "a.parquet", engine_mode="mixed")
    b = _cfg(tmp_path, "b.parquet", engine_mode="mixed")
    run_worker(a)
    run_worker(b)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    c = _cfg(tmp_path, "c.parquet", engine_mode="mixed", seed=8)
    run_worker(c)
    assert (tmp_path / "c.parquet").read_bytes() != (tmp_path / "a.parquet").read_bytes()


def test_games_depend_on_global_index_not_on_part_split(tmp_path):
    whole = _cfg(tmp_path, "whole.parquet", num_games=4)
    first = _cfg(tmp_path, "first.parquet", num_games=2)
    second = _cfg(tmp_path, "second.parquet", num_games=2, game_offset=2)
    for c in (whole, first, second):
        run_worker(c)

    def h(p):
        return sorted(set(pq.read_table(p, columns=["game_hash"]).column(0).to_pylist()))

    assert h(tmp_path / "whole.parquet") == sorted(
        set(h(tmp_path / "first.parquet") + h(tmp_path / "second.parquet"))
    )


def test_cli_summary_and_stats(tmp_path):
    out = tmp_path / "x" / "part.parquet"
    p = cli(
        "selfplay",
        "--num-games",
        "3",
        "--board-type",
        "hex8",
        "--num-players",
        "3",
        "--engine-mode",
        "random",
        "--output",
        str(out),
        "--seed",
        "3",
        "--worker-id",
        "wx",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("3 games, ") and "games/s" in p.stdout and "draws" in p.stdout
    st = part_stats(read_part(str(out)))
    assert st["games"] == 3 and st["worker_id"] == "wx"


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--board-type", "square9"], "unknown board type"),
        (["--num-games", "-1"], "--num-games must be at least 1"),
        (["--engine-mode", "wild"], "wild"),
        (["--difficulty-band", "heavy"], "heavy"),
        (["--output", "out.csv"], ".parquet or .jsonl or .jsonl.gz"),
        (["--output", "out.json"], ".parquet or .jsonl or .jsonl.gz"),
        (["--output", "/proc/nope/x.parquet"], "/proc/nope"),
        (["--difficulty-band", "full", "--players-version", "1"], "players version 1"),
        (["--players-version", "2"], "players are version 1"),
        (["--game-seeds", "1"], "game seeds are version 2"),
        (["--schema-version", "3"], f"sample schema is version {SCHEMA_VERSION}"),
        (["--engine-version", "1"], f"engine is version {ENGINE_VERSION}"),
    ],
)
def test_bad_flags_fail_before_any_game(tmp_path, args, needle):
    base = ["selfplay", "--num-games", "2", "--output", str(tmp_path / "o.parquet")]
    p = cli(*base, *args)
    assert p.returncode == 2
    assert needle in p.stderr and "Traceback" not in p.stderr
    assert p.stderr.strip().count("\n") == 0
    assert not (tmp_path / "o.parquet").exists()


def test_parts_of_bands_with_mcts_record_the_players_version(tmp_path, monkeypatch):
    """A full-band part records players_version; a light-band part does not,
    so parts made before the version existed stay valid. A full-band part of
    older players (no version recorded) is not taken over by reuse_part: its
    settings differ, so it is replayed."""
    from ringrift.players.ladder import players_version
    from ringrift.selfplay import worker

    full_band = dict(engine_mode="mixed", difficulty_band="full")
    (tmp_path / "other").mkdir()
    full = run_worker(_cfg(tmp_path, "other/full.parquet", num_games=1, **full_band))
    assert full["players_version"] == players_version("mixed", "full") == 2
    assert "players_version" not in run_worker(_cfg(tmp_path, "light.parquet", num_games=1))
    want = _cfg(tmp_path, "new.parquet", num_games=1, **full_band)
    with monkeypatch.context() as m:  # the same part as older players wrote it
        m.setattr(worker, "players_version", lambda mode, band: 1)
        run_worker(_cfg(tmp_path, "older/full.parquet", num_games=1, **full_band))
    assert worker.reuse_part(want, str(tmp_path / "older" / "*.parquet")) is None
    assert worker.reuse_part(want, str(tmp_path / "other" / "*.parquet"))
    assert (tmp_path / "new.parquet").exists()


def test_game_seeds_are_distinct_within_a_dataset():
    """Every game index of a dataset gets its own seed (version 1 gave 3
    pairs of a 100k-game part the same seed, hence the same game): the
    keyed map is a bijection of [0, 2^31) (injective on a 2^20-index slice
    and at the ends); other dataset seeds give other seeds, inside 31 bits."""
    from ringrift.selfplay.seeds import MASK, _mix, game_seed

    x = np.arange(1 << 20, dtype=np.int64)
    y = x.copy()  # _mix on numpy arrays: the same integer steps
    y ^= y >> 15
    y = (y * 0x2C1B3C6D) & MASK
    y ^= y >> 12
    y = (y * 0x297A2D39) & MASK
    y ^= y >> 15
    assert len(np.unique(y)) == len(x) and [_mix(int(v)) for v in x[:50]] == y[:50].tolist()
    top = np.arange(MASK - (1 << 20) + 1, MASK + 1, dtype=np.int64)  # wraps past 2^31 when keyed
    for seed in (0, 1, 7):
        seeds = [game_seed(seed, g) for g in range(100_000)] + [
            game_seed(seed, int(g)) for g in top[:50_000]
        ]
        assert len(set(seeds)) == len(seeds) and 0 <= min(seeds) and max(seeds) <= MASK
    assert [game_seed(1, g) for g in range(100)] != [game_seed(2, g) for g in range(100)]
    with pytest.raises(ValueError, match="outside"):
        game_seed(1, MASK + 1)


def test_parts_record_their_game_seeds(tmp_path, monkeypatch):
    """A part records its game seeds' version; a part of older seeds (no
    version recorded) is not taken over by reuse_part, since its games differ."""
    from ringrift.selfplay import worker
    from ringrift.selfplay.seeds import GAME_SEEDS

    (tmp_path / "other").mkdir()
    assert run_worker(_cfg(tmp_path, "other/p.parquet", num_games=1))["game_seeds"] == GAME_SEEDS
    want = _cfg(tmp_path, "new.parquet", num_games=1)
    settings = worker.game_settings
    with monkeypatch.context() as m:  # the same part as older seeds wrote it
        m.setattr(
            worker,
            "game_settings",
            lambda *a, **k: {x: v for x, v in settings(*a, **k).items() if x != "game_seeds"},
        )
        run_worker(_cfg(tmp_path, "older/p.parquet", num_games=1))
    assert worker.reuse_part(want, str(tmp_path / "older" / "*.parquet")) is None
    assert worker.reuse_part(want, str(tmp_path / "other" / "*.parquet"))


def test_killed_worker_leaves_no_part(tmp_path):
    """Killed after it has written row groups, the worker leaves only its
    temporary file, never a part at the output path; the next writer of that
    path removes the leftover."""
    import signal
    import time

    out = tmp_path / "k.parquet"
    cmd = [sys.executable, "-m", "ringrift", "selfplay", "--engine-mode", "random"]
    cmd += ["--output", str(out), "--quiet"]
    proc = subprocess.Popen([*cmd, "--num-games", "100000"])
    written, deadline = [], time.monotonic() + 180
    while not written and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        # past the Parquet header: at least one row group is on disk
        written = [p for p in tmp_path.glob(".k.parquet.tmp-*") if p.stat().st_size > 100_000]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert written, "the worker wrote no row group before it was killed"
    assert not out.exists()
    assert not list(tmp_path.glob("*.parquet"))
    subprocess.run([*cmd, "--num-games", "2"], check=True)
    assert out.exists() and not list(tmp_path.glob(".k.parquet.tmp-*"))


def test_replaying_a_game_in_spans_gives_the_same_part(tmp_path, monkeypatch):
    """The worker replays a game's sampled states a span at a time (bounded
    memory on big boards); span boundaries must not show in the rows."""
    import ringrift.selfplay.worker as worker

    def part(name):
        run_worker(_cfg(tmp_path, name, board_type="hex8", sample_every_n_moves=1, num_games=3))
        return (tmp_path / name).read_bytes()

    whole = part("whole.parquet")  # every hex8 game in one span
    monkeypatch.setattr(worker, "REPLAY_BYTES", 1)  # one state per span
    assert part("spans.parquet") == whole
    monkeypatch.setattr(worker, "REPLAY_BYTES", 7 * 4 * Rules("hex8", 2).new_game().size)
    assert part("sevens.parquet") == whole
