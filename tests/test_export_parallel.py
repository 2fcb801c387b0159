"""The fast, chunked export against the slow reference path.

* The fast path (ringrift/export/fast.py, kernels.py) writes exactly the bytes
  of the plain-Python path (sample_from_row + json.dumps) on rows of the
  reference's trace games (every board, 2-4 players, the pie rule, every move
  type the traces hold) and on real self-play parts, in game order and
  shuffled like the aggregate; the fast path really takes those batches.
* `ringrift export --chunk K/N` pieces joined by `ringrift concat` (locally
  and into S3) decompress to exactly the single-job export, for chunk
  boundaries inside row groups and across input files, and empty chunks.
* Bad input: a row group that does not decode mid-file, a missing or non-gzip
  piece -> one line naming the file, nothing written.
* Progress: silent when stderr is not a terminal, a rate/ETA line with
  --progress.
* The workflow plans one export job per chunk and one concat.
* Move tables (`ringrift moves`, `export --moves`): a shuffled export that
  copies the games' steps from the tables is byte-identical to one that
  replays them, on the trace games (every move type), and really uses the
  tables; a table
  that disagrees with the rows (an index, a digest) is not used for them and
  changes nothing; a table in a mapped scratch file gives the same bytes;
  bad tables and parts are one-line errors.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import conformance_root, write_part_file
from test_workflow import smk

from ringrift.cli import main as cli_main
from ringrift.dataset.parts import DataError, table_from_rows
from ringrift.dataset.schema import arrow_schema
from ringrift.engine import layout as L
from ringrift.engine.api import Rules
from ringrift.engine.rules import apply_move, legal_moves
from ringrift.export import fast, jsonl, kernels
from ringrift.export.jsonl import concat_pieces, export_samples
from ringrift.export.moves import build_move_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import FAKE_KEY, FAKE_SECRET, base_env, s3_server  # noqa: E402,F401

REPO = Path(__file__).resolve().parents[1]


# ---- rows from games --------------------------------------------------------------------


def game_rows(rules, choices, game_id, seed, every, levels=2):
    """Schema columns for one game given its legal-move indices: every
    `every`-th step, the first and the terminal (or last) position."""
    s = rules.new_game()
    states, moves = [s], []
    for i in choices:
        mv = legal_moves(rules.geo, s)[i].copy()
        moves.append(mv)
        s = apply_move(rules.geo, s, mv)
        states.append(s)
    n = len(choices)
    cols: dict[str, list] = {}
    pad = [0] * (4 - rules.num_players)
    for step in sorted({0, n, *range(0, n, every)}):
        st = states[step]
        row = dict(
            game_id=game_id,
            worker_id=f"w_{seed % 3}",
            game_index=0,
            game_seed=seed,
            game_hash=0,
            board_type=rules.board_type,
            num_players=rules.num_players,
            engine_mode="mixed",
            difficulty_band="light",
            seat_levels=[levels + p for p in range(rules.num_players)] + pad,
            move_number=step,
            ply_to_end=n - step,
            step=step,
            game_decisions=n,
            game_steps=n,
            victory_type="x",
            winner=int(s[L.WINNER]),
            player_to_move=int(st[L.CUR]),
            phase=int(st[L.PHASE]),
            outcome=(1.0, 0.0, 0.5, 1 / 3)[(seed + step) % 4],
            values=[0.0] * 4,
            ranks=[1] * 4,
            move=None if step == n else moves[step].tolist(),
            policy_index=[],
            policy_prob=[],
            history=np.array(choices[:step], dtype=np.uint16),
            state=st,
        )
        for k, v in row.items():
            cols.setdefault(k, []).append(v)
    return cols


def merge(cols_list):
    out: dict[str, list] = {}
    for c in cols_list:
        for k, v in c.items():
            out.setdefault(k, []).extend(v)
    return out


def trace_games(path, limit):
    """(rules, legal-index choices) of the first `limit` games of a trace."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for gi, line in enumerate(fh):
            if gi >= limit:
                return
            rec = json.loads(line)
            rules = Rules(
                rec["board_type"],
                rec["num_players"],
                swap_rule=bool(rec.get("swap_rule_enabled", False)),
            )
            s = rules.new_game()
            choices = []
            for step in rec["steps"]:
                mv = rules.move_from_key(s, step["chosen"])
                legal = legal_moves(rules.geo, s)
                choices.append(int(np.flatnonzero((legal == mv).all(axis=1))[0]))
                s = apply_move(rules.geo, s, mv)
            yield rules, choices


def export_bytes(inputs, tmp_path, name, **kw) -> bytes:
    out = tmp_path / f"{name}.jsonl"
    export_samples(inputs, str(out), **kw)
    return out.read_bytes()


@pytest.fixture
def fallbacks(monkeypatch):
    """Counts the batches the fast path hands back to the slow one."""
    seen = {"fast": 0, "slow": 0}
    real = fast.batch_lines

    def counting(batch, replayer, metadata_fn):
        got = real(batch, replayer, metadata_fn)
        seen["slow" if got is None else "fast"] += 1
        return got

    monkeypatch.setattr(fast, "batch_lines", counting)
    return seen


# ---- fast == slow ----------------------------------------------------------------------------

TRACE_LIMITS = {"square8_2p.jsonl.gz": 12, "square19_2p.jsonl.gz": 2, "hexagonal_2p.jsonl.gz": 2}


def test_fast_path_matches_slow_path_on_reference_games(tmp_path, fallbacks, report_line):
    files = sorted((conformance_root() / "traces").glob("*.jsonl.gz"))
    files = [f for f in files if not f.name.endswith("_states.jsonl.gz")]
    assert files
    types: set[str] = set()
    rows = 0
    for path in files:
        tables = []
        for gi, (rules, choices) in enumerate(trace_games(path, TRACE_LIMITS.get(path.name, 5))):
            every = 3 if rules.board.ncell < 100 else 9
            cols = game_rows(rules, choices, f"{path.stem}_{gi}", gi, every=every)
            tables.append(table_from_rows(cols, arrow_schema()))
        table = pa.concat_tables(tables)
        slow = export_bytes([table], tmp_path, path.stem + "_slow", use_fast=False)
        got = export_bytes([table], tmp_path, path.stem + "_fast")
        assert got == slow, f"{path.name}: fast and slow exports differ"
        for line in slow.splitlines():
            sample = json.loads(line)
            types.update(m["type"] for m in sample["state"]["move_history"])
        rows += table.num_rows
    assert fallbacks["slow"] == 0 and fallbacks["fast"] > 0
    report_line(
        f"export fast path: {rows} rows of {len(files)} trace files byte-identical "
        f"to the slow path; move types covered: {len(types)}/{len(L.MOVE_TYPE_NAMES)}"
    )
    # the traces hold every rules move type but the host-only skip_recovery
    assert set(L.MOVE_TYPE_NAMES) - types <= {"skip_recovery", "no_placement_action"}, types


@pytest.fixture(scope="module")
def worker_part(tmp_path_factory):
    if not (REPO / "ringrift" / "players").is_dir():
        pytest.skip("ringrift.players not present")
    from ringrift.selfplay.worker import WorkerConfig, run_worker

    d = tmp_path_factory.mktemp("part")
    parts = []
    for board, n, games in (("square8", 2, 12), ("hex8", 3, 3)):
        part = d / f"{board}_{n}p.parquet"
        run_worker(
            WorkerConfig(
                num_games=games,
                board_type=board,
                num_players=n,
                output=str(part),
                seed=5,
                worker_id="w_fast",
                sample_every_n_moves=3,
            )
        )
        parts.append(part)
    return parts


def test_fast_path_matches_slow_path_on_worker_parts(worker_part, tmp_path, fallbacks):
    for part in worker_part:
        table = pq.read_table(part)
        slow = export_bytes([str(part)], tmp_path, part.stem + "_slow", use_fast=False)
        assert export_bytes([str(part)], tmp_path, part.stem + "_fast") == slow
        # the aggregate's order: games interleaved row by row
        perm = np.random.default_rng(1).permutation(table.num_rows)
        shuffled = table.take(perm)
        slow = export_bytes([shuffled], tmp_path, part.stem + "_sh_slow", use_fast=False)
        assert export_bytes([shuffled], tmp_path, part.stem + "_sh_fast") == slow
        lines = slow.splitlines()
        assert len(lines) == table.num_rows
        assert json.loads(lines[0])["game_id"] == table.column("game_id")[int(perm[0])].as_py()
    assert fallbacks["slow"] == 0 and fallbacks["fast"] > 0


def test_corrupt_rows_fall_back_and_name_the_game(tmp_path, fallbacks):
    rules = Rules("square8", 2)
    rng = np.random.default_rng(4)
    s, choices = rules.new_game(), []
    while not rules.is_over(s) and len(choices) < 80:
        i = int(rng.integers(len(legal_moves(rules.geo, s))))
        choices.append(i)
        s = apply_move(rules.geo, s, legal_moves(rules.geo, s)[i])
    cols = game_rows(rules, choices, "g_bad", 4, every=5)
    cols["move"][2] = [L.MT_PLACE_RING, 1, -1, 0, -1, 9, 0, 0]  # not a legal move there
    table = table_from_rows(cols, arrow_schema())
    out = tmp_path / "bad.jsonl.gz"
    with pytest.raises(DataError, match="g_bad") as exc:
        export_samples([table], str(out))
    assert "\n" not in str(exc.value)
    assert fallbacks["slow"] == 1
    assert not list(tmp_path.iterdir())


def random_games(count, seed, max_steps=70):
    """Legal-move index lists of `count` random square8 2p games."""
    rules = Rules("square8", 2)
    rng = np.random.default_rng(seed)
    games = []
    for _ in range(count):
        s, choices = rules.new_game(), []
        while not rules.is_over(s) and len(choices) < max_steps:
            legal = legal_moves(rules.geo, s)
            i = int(rng.integers(len(legal)))
            choices.append(i)
            s = apply_move(rules.geo, s, legal[i])
        games.append(choices)
    return rules, games


@pytest.mark.parametrize("budget", ["default", "tiny"])
def test_replays_kept_across_batches(tmp_path, fallbacks, monkeypatch, budget):
    """Shuffled rows in batches of 5: a game's rows come back batch after
    batch, so kept replays are extended, moved, digested, dropped (tiny
    budgets) and their JSON reused; two games share an id with different
    histories. Same bytes as the slow path, no fallback."""
    rules, games = random_games(7, seed=11)
    cols = [game_rows(rules, ch, f"g{i}", i, every=2) for i, ch in enumerate(games)]
    cols.append(game_rows(rules, random_games(1, seed=12)[1][0], "g3", 9, every=3))
    table = table_from_rows(merge(cols), arrow_schema())
    table = table.take(np.random.default_rng(2).permutation(table.num_rows))
    monkeypatch.setattr(jsonl, "BATCH_ROWS", 5)
    if budget == "tiny":
        monkeypatch.setattr(fast, "STORE_BYTES", 300 * fast.ENTRY_BYTES)
        monkeypatch.setattr(fast, "FINAL_BYTES", 4000)
        monkeypatch.setattr(fast, "JSON_BYTES", 20000)
    slow = export_bytes([table], tmp_path, "kept_slow", use_fast=False)
    assert export_bytes([table], tmp_path, "kept_fast") == slow
    assert fallbacks["slow"] == 0 and fallbacks["fast"] > table.num_rows // 5


def test_kept_replay_checks_a_later_batch_state(tmp_path, fallbacks, monkeypatch):
    """A row whose history a kept replay already covers is checked through
    the digest of its stored state: a wrong state there is still corruption."""
    rules, games = random_games(1, seed=5)
    cols = game_rows(rules, games[0], "g_late", 3, every=4)
    n = len(cols["game_id"])
    state = np.array(cols["state"][1], dtype=np.int32)
    state[L.HAND + 1] += 1  # one ring too many in hand at step 4
    cols["state"][1] = state
    table = table_from_rows(cols, arrow_schema())
    table = table.take(list(range(n - 1, -1, -1)))  # longest history first
    monkeypatch.setattr(jsonl, "BATCH_ROWS", 3)
    with pytest.raises(DataError, match="g_late.*differs"):
        export_samples([table], str(tmp_path / "late.jsonl.gz"))
    assert fallbacks["slow"] == 1 and fallbacks["fast"] >= 1


# ---- chunks and concat ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_files(tmp_path_factory):
    """Two sample files of random square8 games, row groups of 7 rows."""
    d = tmp_path_factory.mktemp("chunks")
    rules = Rules("square8", 2)
    paths = []
    for f, seeds in enumerate(((1, 2), (3,))):
        cols = []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            s, choices = rules.new_game(), []
            while not rules.is_over(s) and len(choices) < 400:
                legal = legal_moves(rules.geo, s)
                choices.append(int(rng.integers(len(legal))))
                s = apply_move(rules.geo, s, legal[choices[-1]])
            cols.append(game_rows(rules, choices, f"g{seed}", seed, every=9))
        table = table_from_rows(merge(cols), arrow_schema())
        path = d / f"in{f}.parquet"
        write_part_file(table, path, row_group_rows=7)
        paths.append(path)
    return paths


def test_chunks_concatenate_to_the_single_export(two_files, tmp_path, capsys):
    inputs = [str(p) for p in two_files]
    total = sum(pq.read_metadata(p).num_rows for p in inputs)
    single = tmp_path / "single.jsonl.gz"
    assert cli_main(["export", "--output", str(single), *inputs]) == 0
    want = gzip.decompress(single.read_bytes())
    assert want.count(b"\n") == total
    for n in (1, 2, 5, total + 3):
        pieces = []
        for k in range(n):
            piece = tmp_path / f"c{n}_{k}.jsonl.gz"
            assert cli_main(["export", "--chunk", f"{k}/{n}", "--output", str(piece), *inputs]) == 0
            lo, hi = k * total // n, (k + 1) * total // n
            assert gzip.decompress(piece.read_bytes()).count(b"\n") == hi - lo
            pieces.append(str(piece))
        joined = tmp_path / f"joined{n}.jsonl.gz"
        assert cli_main(["concat", "--output", str(joined), *pieces]) == 0
        assert gzip.decompress(joined.read_bytes()) == want, f"{n} chunks"
    out = capsys.readouterr()
    assert "samples/s" in out.out and out.err == ""  # no progress when not on a terminal


def test_bad_chunk_and_pieces_are_one_line_errors(two_files, tmp_path, capsys):
    inputs = [str(p) for p in two_files]
    for spec in ("3/3", "-1/2", "1", "a/b", "0/0"):
        assert (
            cli_main(
                ["export", f"--chunk={spec}", "--output", str(tmp_path / "x.jsonl.gz"), *inputs]
            )
            == 2
        )
    good = tmp_path / "good.jsonl.gz"
    cli_main(["export", "--chunk", "0/2", "--output", str(good), *inputs])
    plain = tmp_path / "plain.jsonl.gz"
    plain.write_bytes(b'{"not": "gzip"}\n')
    out = tmp_path / "all.jsonl.gz"
    for pieces, word in (
        ([str(good), str(tmp_path / "missing.jsonl.gz")], "missing.jsonl.gz"),
        ([str(good), str(plain)], "plain.jsonl.gz"),
    ):
        with pytest.raises(DataError, match=word) as exc:
            concat_pieces(pieces, str(out))
        assert "\n" not in str(exc.value)
        assert not out.exists()
    err = capsys.readouterr().err
    assert all(line.startswith("ringrift: error: ") for line in err.splitlines())
    assert "K counts from 0" in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


def test_concat_into_s3(two_files, tmp_path, s3_server):  # noqa: F811
    inputs = [str(p) for p in two_files]
    pieces = []
    for k in range(3):
        piece = tmp_path / f"p{k}.jsonl.gz"
        cli_main(["export", "--chunk", f"{k}/3", "--output", str(piece), *inputs])
        pieces.append(str(piece))
    single = tmp_path / "single.jsonl.gz"
    cli_main(["export", "--output", str(single), *inputs])
    url = f"s3://{s3_server.bucket}/export/combined_training.jsonl.gz"
    env = base_env(**s3_server.env(), AWS_ENDPOINT_URL=s3_server.endpoint)
    p = subprocess.run(
        [sys.executable, "-m", "ringrift", "concat", "--output", url, *pieces],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    with s3_server.fs().open(url[len("s3://") :], "rb") as fh:
        got = fh.read()
    assert gzip.decompress(got) == gzip.decompress(single.read_bytes())


def test_row_group_that_does_not_decode_names_the_file(two_files, tmp_path):
    src = two_files[0]
    bad = tmp_path / "bad_part.parquet"
    data = bytearray(src.read_bytes())
    meta = pq.read_metadata(src)
    assert meta.num_row_groups >= 3
    # break the page header of a later row group's first column: the first
    # row groups decode, then the read fails mid-file
    off = meta.row_group(2).column(0).data_page_offset
    data[off : off + 24] = b"\xff" * 24
    bad.write_bytes(bytes(data))
    out = tmp_path / "out.jsonl.gz"
    with pytest.raises(DataError) as exc:
        export_samples([str(bad)], str(out))
    msg = str(exc.value)
    assert "bad_part.parquet" in msg and "\n" not in msg, msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad_part.parquet"]
    assert cli_main(["export", "--output", str(out), str(bad)]) == 2


def test_progress_line_with_rate_and_eta(two_files, tmp_path, monkeypatch, capsys):
    stream = io.StringIO()
    meter = jsonl.Progress(1000, True, interval=0.0, stream=stream)
    meter.update(250)
    line = stream.getvalue()
    assert line.startswith("export: 250/1,000 samples (25.0%)") and "samples/s" in line
    assert "ETA" in line
    assert jsonl.Progress(10, False, interval=0.0, stream=stream).update(5) is None
    monkeypatch.setattr(jsonl, "PROGRESS_INTERVAL", 0.0)
    inputs = [str(p) for p in two_files]
    assert (
        cli_main(["export", "--progress", "--output", str(tmp_path / "p.jsonl.gz"), *inputs]) == 0
    )
    err = capsys.readouterr().err
    assert err.count("export: ") >= 1 and "ETA" in err


# ---- the workflow's plan -----------------------------------------------------------------------


def test_workflow_plans_chunk_jobs_and_one_concat(tmp_path):
    cfg = (REPO / ".test" / "config" / "config.yaml").read_text()
    big = cfg.replace("total_games: 16", "total_games: 40001").replace(
        "games_per_part: 4", "games_per_part: 20001"
    )
    path = tmp_path / "big.yaml"
    path.write_text(big)
    p = smk(tmp_path, "-n", config=path)  # fails with the log on a non-zero exit
    out = p.stdout + p.stderr
    counts = {
        line.split()[0]: line.split()[1]
        for line in out.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    }
    assert counts.get("export_chunk") == "3", out[-3000:]  # ceil(40001 / 20000)
    assert counts.get("export_jsonl") == "1"
    assert "chunk_0002_of_0003.jsonl.gz" in out


def test_export_chunks_setting_sets_the_job_count_and_nothing_else(tmp_path):
    cfg = (REPO / ".test" / "config" / "config.yaml").read_text()
    path = tmp_path / "c.yaml"
    path.write_text(cfg.replace("    jsonl: true", "    jsonl: true\n    export_chunks: 2"))
    p = smk(tmp_path, "-n", config=path)  # fails with the log on a non-zero exit
    out = p.stdout + p.stderr
    assert "chunk_0001_of_0002.jsonl.gz" in out and "of_0003" not in out


# ---- move tables ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trace_tables(tmp_path_factory):
    """Per trace file: its games' rows as a part file (game order) and that
    part's move table."""
    d = tmp_path_factory.mktemp("moves")
    files = sorted((conformance_root() / "traces").glob("*.jsonl.gz"))
    out = []
    for path in [f for f in files if not f.name.endswith("_states.jsonl.gz")]:
        tables = []
        for gi, (rules, choices) in enumerate(trace_games(path, TRACE_LIMITS.get(path.name, 5))):
            every = 3 if rules.board.ncell < 100 else 9
            cols = game_rows(rules, choices, f"{path.stem}_{gi}", gi, every=every)
            tables.append(table_from_rows(cols, arrow_schema()))
        part = d / f"{path.stem}.parquet"
        write_part_file(pa.concat_tables(tables), part, row_group_rows=50)
        moves = d / f"{path.stem}.moves.parquet"
        res = build_move_table(str(part), str(moves))
        assert res["games"] == len(tables)
        out.append((part, moves))
    return out


def shuffled(part, seed=7) -> pa.Table:
    table = pq.read_table(part)
    return table.take(np.random.default_rng(seed).permutation(table.num_rows))


def test_move_tables_give_the_same_bytes(trace_tables, tmp_path, fallbacks, report_line):
    # against the fast path replaying (itself equal to the slow path on the
    # same trace rows and on shuffled rows, tests above): the slow path on
    # every trace file again would cost minutes of the suite
    used = 0
    regions = 0
    for part, moves in trace_tables:
        rows = shuffled(part)
        plain = export_bytes([rows], tmp_path, part.stem + "_plain")
        out = tmp_path / f"{part.stem}_tab.jsonl"
        res = export_samples([rows], str(out), moves=[str(moves)])
        assert out.read_bytes() == plain, f"{part.name}: export with its move table differs"
        assert res["table_extensions"] > 0
        used += res["table_extensions"]
        regions += len(pq.read_table(moves, columns=["regions"]).column(0).combine_chunks().values)
    assert fallbacks["slow"] == 0
    assert regions > 0  # territory regions went through the tables
    report_line(
        f"move tables: {len(trace_tables)} trace files exported shuffled with their tables, "
        f"byte-identical to replaying; {used} game instances copied, not replayed"
    )


def test_a_mapped_move_table_gives_the_same_bytes(trace_tables, tmp_path, monkeypatch):
    from ringrift.export import moves as M

    part, moves = trace_tables[0]
    rows = shuffled(part, seed=3)
    plain = export_bytes([rows], tmp_path, "plain")
    monkeypatch.setattr(M, "MAPPED_BYTES", 1)
    table = M.MoveTable([str(moves)], scratch=str(tmp_path))
    assert isinstance(table.steps.mv, np.memmap)
    steps = table.steps
    per_step = sum(a.nbytes for a in (steps.mv, steps.aux, steps.idx, steps.hsh)) / len(steps.idx)
    assert per_step == M.STEP_BYTES == 60  # was 104 with int32
    assert export_bytes([rows], tmp_path, "mapped", moves=[str(moves)]) == plain


def test_a_move_table_made_in_chunks_holds_the_same_rows(trace_tables, tmp_path):
    """Tables are made CHUNK_STEPS steps at a time, for memory: made one game
    at a time, every trace part's table holds exactly the rows and the
    metadata of the table made at once, one row group per game, and an
    export with it gives the same bytes."""
    from ringrift.export.moves import TABLE_KEY

    for part, moves in trace_tables:
        chunked = tmp_path / f"{part.stem}.chunked.parquet"
        res = build_move_table(str(part), str(chunked), chunk_steps=1)
        assert pq.read_table(chunked).equals(pq.read_table(moves)), part.name
        meta = pq.read_metadata(chunked)
        assert meta.metadata[TABLE_KEY] == pq.read_metadata(moves).metadata[TABLE_KEY]
        assert meta.num_row_groups == res["games"]
    part, moves = max(trace_tables, key=lambda pm: pq.read_metadata(pm[1]).num_rows)
    assert pq.read_metadata(moves).num_rows >= 3
    rows = shuffled(part, seed=5)
    chunked = tmp_path / f"{part.stem}.chunked.parquet"
    assert export_bytes([rows], tmp_path, "chunked", moves=[str(chunked)]) == export_bytes(
        [rows], tmp_path, "whole", moves=[str(moves)]
    )


@pytest.mark.parametrize("chunk_steps", [1, 10**9])
def test_a_part_mixing_rules_has_no_move_table(trace_tables, tmp_path, chunk_steps):
    """Games of 2 and 3 players in one file: one line naming the file and the
    rules, whether they meet in one chunk or in two; nothing written."""
    from ringrift.dataset.parts import DataError

    by_rules = {}
    for part, _ in trace_tables:
        t = pq.read_table(part, columns=["board_type", "num_players"])
        by_rules.setdefault((str(t[0][0]), t[1][0].as_py()), part)
    two, three = by_rules[("square8", 2)], by_rules[("square8", 3)]
    mixed = tmp_path / "mixed.parquet"
    write_part_file(
        pa.concat_tables([pq.read_table(two), pq.read_table(three)]), mixed, row_group_rows=50
    )
    out = tmp_path / "mixed.moves.parquet"
    with pytest.raises(DataError, match=r"mixed\.parquet mixes rules .*'square8', 2.*'square8', 3"):
        build_move_table(str(mixed), str(out), chunk_steps=chunk_steps)
    assert not out.exists()


def _tampered(moves, out, column, game):
    """The table with one value of one game's `column` changed."""
    t = pq.read_table(moves)
    col = t.column(column).to_pylist()
    col[game] = col[game][:-1] + [col[game][-1] ^ 1]  # the last step: the game's end
    t = t.set_column(
        t.schema.get_field_index(column), column, pa.array(col, t.schema.field(column).type)
    )
    pq.write_table(t, out)
    return out


@pytest.mark.parametrize("column", ["index", "digest"])
def test_a_move_table_that_disagrees_is_not_used(trace_tables, tmp_path, column, fallbacks):
    part, moves = trace_tables[0]
    rows = shuffled(part, seed=5)
    plain = export_bytes([rows], tmp_path, "plain")
    good = export_samples([rows], str(tmp_path / "good.jsonl"), moves=[str(moves)])
    bad_table = _tampered(moves, tmp_path / "bad.parquet", column, game=0)
    out = tmp_path / "bad.jsonl"
    bad = export_samples([rows], str(out), moves=[str(bad_table)])
    assert out.read_bytes() == plain
    assert 0 < bad["table_extensions"] < good["table_extensions"]
    assert fallbacks["slow"] == 0  # the rows were replayed, not the batch redone


def test_move_table_errors_are_one_line(trace_tables, tmp_path, capsys):
    part, moves = trace_tables[0]
    out = str(tmp_path / "x.jsonl.gz")
    cases = [
        (
            ["export", "--output", out, str(part), "--moves", str(part)],
            "is not a ringrift move table",
        ),
        (
            ["export", "--output", out, str(part), "--moves", str(tmp_path / "no.parquet")],
            "not found",
        ),
        (
            ["export", "--output", out, str(part), "--moves", str(moves), str(moves)],
            "also in another",
        ),
        (["moves", str(moves), "--output", str(tmp_path / "m.parquet")], "is not a ringrift file"),
    ]
    for argv, words in cases:
        assert cli_main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "x.jsonl.gz").exists() and not (tmp_path / "m.parquet").exists()


# ---- narrow move tables ------------------------------------------------------------------------


def test_move_tables_are_narrow_and_widen_exactly(trace_tables):
    from ringrift.export import moves as M

    for part, moves in trace_tables:
        schema = pq.read_schema(moves)
        for name in ("index", "move", "facts", "regions"):
            assert schema.field(name).type == pa.list_(pa.int16()), (moves.name, name)
        wide = M.MoveTable([str(moves)]).steps
        t = pq.read_table(moves)
        flat = {c: t.column(c).combine_chunks().values.to_numpy() for c in ("move", "facts")}
        # the loaded facts are the file's, widened back to the engine's int32 exactly
        assert wide.aux.dtype == np.int16
        assert np.array_equal(wide.aux.astype(np.int32).reshape(-1), flat["facts"])
        assert np.array_equal(wide.mv.astype(np.int32).reshape(-1), flat["move"])
        # the region steps and their cells' starts: every region of the file, in order
        regs = t.column("regions").combine_chunks().values.to_numpy()
        lens = wide.aux[wide.rstep, kernels.A_REGLEN].astype(np.int64)
        assert len(regs) == lens.sum() and np.array_equal(wide.rbeg, np.cumsum(lens) - lens)


def _rewritten(moves, out, column, change, version=None):
    """The table with `column`'s values changed by change(list of per-game
    lists, type) -> (lists, type); its metadata's version replaced if given."""
    t = pq.read_table(moves)
    i = t.schema.get_field_index(column)
    col, typ = change(t.column(column).to_pylist(), t.schema.field(column).type)
    t = t.set_column(i, column, pa.array(col, typ))
    meta = dict(t.schema.metadata)
    if version is not None:
        m = json.loads(meta[b"ringrift.move_table"])
        m["version"] = version
        meta[b"ringrift.move_table"] = json.dumps(m).encode()
    pq.write_table(t.replace_schema_metadata(meta), out)
    return out


def test_a_value_that_does_not_fit_the_narrow_table_is_one_line(trace_tables, tmp_path, capsys):
    part, moves = trace_tables[0]

    def too_big(col, typ):  # a wide column (as a version-1 writer made), one value out of int16
        col[0][0] = 40000
        return col, pa.list_(pa.int32())

    wide = _rewritten(moves, tmp_path / "wide.parquet", "move", too_big)
    out = str(tmp_path / "x.jsonl.gz")
    assert cli_main(["export", "--output", out, str(part), "--moves", str(wide)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "wide.parquet" in err and "move value 40000" in err and "does not fit int16" in err
    assert not (tmp_path / "x.jsonl.gz").exists()

    def fits(col, typ):  # wide but every value fits: loaded as narrow, the same bytes
        return col, pa.list_(pa.int32())

    ok = _rewritten(moves, tmp_path / "ok.parquet", "move", fits)
    rows = shuffled(part, seed=11)
    plain = export_bytes([rows], tmp_path, "plain")
    assert export_bytes([rows], tmp_path, "wide", moves=[str(ok)]) == plain


def test_making_a_table_whose_value_does_not_fit_is_one_line(trace_tables, tmp_path, monkeypatch):
    from ringrift.export import moves as M

    part, _ = trace_tables[0]
    real = M.record_games

    def wide_cell(*args):  # as if a board had 2^15 cells or more
        status, (mv, aux, idx, hsh, reg), new_reg, nreg = real(*args)
        mv[3, L.F_PLAYER] = -40000
        return status, (mv, aux, idx, hsh, reg), new_reg, nreg

    monkeypatch.setattr(M, "record_games", wide_cell)
    out = tmp_path / "m.parquet"
    with pytest.raises(DataError) as exc:
        build_move_table(str(part), str(out))
    msg = str(exc.value)
    assert "\n" not in msg and "m.parquet" in msg, msg
    assert f"move value -40000 (at {3 * L.MF + L.F_PLAYER})" in msg, msg
    assert not out.exists()


def test_an_old_or_inconsistent_move_table_is_one_line(trace_tables, tmp_path, capsys):
    # the trace whose table has territory regions
    part, moves = next(
        (p, m) for p, m in trace_tables if pq.read_metadata(m).num_rows and _regions(m)
    )
    old = _rewritten(moves, tmp_path / "old.parquet", "index", lambda c, t: (c, t), version=1)

    def lose_a_cell(col, typ):
        g = next(i for i, r in enumerate(col) if r)
        col[g] = col[g][:-1]
        return col, typ

    def move_a_cell(col, typ):  # as many cells, one in another game's regions
        g = next(i for i, r in enumerate(col) if r)
        h = (g + 1) % len(col)
        assert h != g
        col[h] = col[h] + col[g][-1:]
        col[g] = col[g][:-1]
        return col, typ

    short = _rewritten(moves, tmp_path / "short.parquet", "regions", lose_a_cell)
    moved = _rewritten(moves, tmp_path / "moved.parquet", "regions", move_a_cell)
    n = _regions(moves)
    out = str(tmp_path / "x.jsonl.gz")
    for table, words in (
        (old, "has version 1, expected 2: make it again with `ringrift moves`"),
        (short, f"regions has {n - 1} values, expected {n}"),
        (moved, "its regions are not its steps' territory regions"),
    ):
        assert cli_main(["export", "--output", out, str(part), "--moves", str(table)]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and table.name in err and len(err.splitlines()) == 1, err


def _regions(moves) -> int:
    return len(pq.read_table(moves, columns=["regions"]).column(0).combine_chunks().values)
