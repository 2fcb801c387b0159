"""Neural players: ONNX models built here (onnx helper API), run by onnxruntime."""

import math
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from ringrift.dataset.parts import read_part
from ringrift.engine import layout as L
from ringrift.engine.api import Rules
from ringrift.neural.build import conv_model, one_index_model, uniform_model
from ringrift.neural.driver import NeuralPlay
from ringrift.neural.model import load_model, model_digest
from ringrift.neural.options import NeuralOptions
from ringrift.selfplay.game import replay
from ringrift.selfplay.worker import WorkerConfig, game_seed, params_for, run_worker
from ringrift.tensors.encode import tables
from ringrift.tensors.policy import constants, policy_index


def _model(tmp_path, name, data, board):
    path = tmp_path / name
    path.write_bytes(data)
    return load_model(str(path), board)


def _play(rules, model, opts, games, slots, seed=5, max_moves=10_000):
    levels = [11] * rules.num_players
    kinds, ip, fp, w = params_for(levels, rules.board_type, None, opts)
    jobs = [(g, game_seed(seed, g), kinds, ip, fp, w) for g in range(games)]
    play = NeuralPlay(rules, model, slots, slots, max_moves, opts.visits, opts.max_nodes)
    return dict(play.run(jobs)), play


def _decisions(rules, record):
    """(state, legal moves, policy {index: prob}, chosen index) per decision."""
    _, choices, decision, poff, pidx, pprob = record
    steps = np.flatnonzero(decision)
    states, _ = replay(rules.geo, rules.new_game(), choices, steps)
    for j, t in enumerate(steps):
        pol = {int(i): float(p) for i, p in zip(pidx[poff[j] : poff[j + 1]], pprob[poff[j] :])}
        yield states[j], rules.legal(states[j]), pol, int(choices[t])


class _Node:
    __slots__ = ("n", "w", "kids")

    def __init__(self):
        self.n = 0.0
        self.w = [0.0] * L.PSLOTS
        self.kids = None  # [(move, prior, node)] in legal-move order


def oracle_puct(rules, root_state, visits, cpuct):
    """Plain-Python PUCT with uniform priors and a zero value (every player
    0.5 for the mover's 0 -> others share 1 - 0.5), the search the module doc
    of ringrift/neural/search.py defines: root visit counts per legal move."""
    n_players = int(root_state[L.NP])

    def values(s):
        if s[L.STATUS] != L.ST_ACTIVE:
            wn = int(s[L.WINNER])
            return [0.0] + [
                (1.0 / n_players if wn == 0 else float(p == wn)) for p in range(1, n_players + 1)
            ]
        me = int(s[L.CUR])
        return [0.0] + [0.5 if p == me else 0.5 / (n_players - 1) for p in range(1, n_players + 1)]

    def expand(node, s):
        moves = rules.legal(s)
        node.kids = [(m, 1.0 / len(moves), _Node()) for m in moves]

    def backup(path, val):
        for nd in path:
            nd.n += 1.0
            for p in range(1, n_players + 1):
                nd.w[p] += val[p]

    root = _Node()
    expand(root, root_state)
    backup([root], values(root_state))
    for _ in range(visits):
        node, s, path = root, root_state, [root]
        while node.kids is not None and s[L.STATUS] == L.ST_ACTIVE:
            p = int(s[L.CUR])
            sq = math.sqrt(node.n)
            fpu = node.w[p] / node.n
            best, best_u = None, -math.inf
            for m, prior, kid in node.kids:
                q = kid.w[p] / kid.n if kid.n > 0 else fpu
                u = q + cpuct * prior * sq / (1.0 + kid.n)
                if u > best_u:
                    best, best_u = (m, kid), u
            s = rules.apply(s, best[0])
            node = best[1]
            path.append(node)
        if s[L.STATUS] == L.ST_ACTIVE:
            expand(node, s)
        backup(path, values(s))
    return [kid.n for _, _, kid in root.kids]


@pytest.mark.parametrize("board,players,visits", [("square8", 2, 12), ("hex8", 3, 10)])
def test_uniform_zero_model_puct_equals_python_puct(tmp_path, board, players, visits):
    rules = Rules(board, players)
    model = _model(tmp_path, "u.onnx", uniform_model(board), board)
    opts = NeuralOptions(visits=visits, temperature=0.0, dirichlet_eps=0.0, cpuct=1.5)
    games, _ = _play(rules, model, opts, 1, 1, max_moves=60)
    checked = 0
    for s, moves, pol, chosen in _decisions(rules, games[0]):
        if len(moves) == 1:
            assert pol == {0: 1.0} and chosen == 0
            continue
        n = oracle_puct(rules, s, visits, 1.5)
        tot = sum(n)
        want = {i: float(np.float32(c / tot)) for i, c in enumerate(n) if c > 0}
        assert pol == want
        assert chosen == int(np.argmax(n))  # first most visited
        checked += 1
    assert checked >= 20


def test_model_preferring_one_index_plays_it(tmp_path):
    rules = Rules("square8", 2)
    tab, pc = tables("square8"), constants("square8")
    target = 3 * (3 * 8 + 4) + 1  # place 2 rings at (x=4, y=3)
    model = _model(tmp_path, "one.onnx", one_index_model("square8", target), "square8")
    for visits in (0, 8):
        opts = NeuralOptions(visits=visits, temperature=0.0, dirichlet_eps=0.0)
        games, _ = _play(rules, model, opts, 2, 2, max_moves=40)
        hits = 0
        for rec in games.values():
            for s, moves, pol, chosen in _decisions(rules, rec):
                idx = [policy_index(rules.geo, s, m, pc, tab.gx, tab.gy) for m in moves]
                if target in idx and len(moves) > 1:
                    assert idx[chosen] == target
                    if visits == 0:
                        assert pol == {chosen: 1.0}
                    else:  # its prior is ~1: it draws nearly every visit
                        assert pol[chosen] > 0.5
                    hits += 1
        assert hits >= 2


def test_conv_net_batched_rows_equal_one_by_one(tmp_path):
    for board in ("square8", "hex8"):
        model = _model(tmp_path, f"{board}.onnx", conv_model(board, seed=3), board)
        rng = np.random.default_rng(1)
        f = (rng.random((37, model.channels, model.size, model.size)) < 0.3).astype(np.float32)
        g = rng.random((37, 20)).astype(np.float32)
        pol, val = model.run(f, g)
        assert pol.shape == (37, model.policy_size) and np.unique(pol[:, :50]).size > 100
        for i in range(37):
            p1, v1 = model.run(f[i : i + 1], g[i : i + 1])
            assert np.array_equal(p1[0], pol[i]) and np.array_equal(v1[0], val[i])


def test_games_do_not_depend_on_batch_size(tmp_path):
    rules = Rules("hex8", 3)
    model = _model(tmp_path, "c.onnx", conv_model("hex8", seed=2, value_width=4), "hex8")
    assert model.value_width == 4
    opts = NeuralOptions(visits=6)  # temperature, Dirichlet noise: seeded per game
    one, _ = _play(rules, model, opts, 3, 1, max_moves=80)
    many, play = _play(rules, model, opts, 3, 3, max_moves=80)
    assert play.calls < play.positions  # really batched
    for g in range(3):
        assert all(np.array_equal(a, b) for a, b in zip(one[g], many[g]))
    assert len({tuple(one[g][1]) for g in range(3)}) == 3


def _cfg(tmp_path, name, model, **kw):
    base = dict(
        num_games=3,
        board_type="square8",
        num_players=2,
        output=str(tmp_path / name),
        seed=4,
        engine_mode="neural",
        worker_id="w",
        max_moves=60,
        model=str(model),
        neural=NeuralOptions(visits=4, batch=kw.pop("batch", 3)),
    )
    base.update(kw)
    return WorkerConfig(**base)


def test_part_records_model_and_same_bytes_any_batch(tmp_path):
    data = conv_model("square8", seed=1)
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    digest = model_digest(data)
    stats = run_worker(_cfg(tmp_path, "a.parquet", path, batch=3))
    run_worker(_cfg(tmp_path, "b.parquet", path, batch=1))
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert stats["model"]["digest"] == stats["model_digest"] == digest
    assert stats["inference"]["positions"] > stats["samples"]
    table = read_part(str(tmp_path / "a.parquet"))
    assert set(table.column("engine_mode").to_pylist()) == {f"neural:{digest}"}
    assert {tuple(r) for r in table.column("seat_levels").to_pylist()} == {(11, 11, 0, 0)}
    probs = [p for p in table.column("policy_prob").to_pylist() if p]
    assert any(len(p) > 1 for p in probs) and all(abs(sum(p) - 1) < 1e-5 for p in probs)
    other = tmp_path / "m2.onnx"
    other.write_bytes(conv_model("square8", seed=2))
    run_worker(_cfg(tmp_path, "c.parquet", other))
    a = pq.read_table(tmp_path / "a.parquet", columns=["game_hash"]).column(0).to_pylist()
    c = pq.read_table(tmp_path / "c.parquet", columns=["game_hash"]).column(0).to_pylist()
    assert set(a) != set(c)


def test_wrong_board_or_shape_is_one_line_error_before_any_game(tmp_path):
    hexm = tmp_path / "hex.onnx"
    hexm.write_bytes(conv_model("hex8"))
    with pytest.raises(ValueError, match="is for board hex8, not square8"):
        load_model(str(hexm), "square8")
    bad = tmp_path / "bad.onnx"  # says history 3 but takes 3 frames (42 channels)
    bad.write_bytes(uniform_model("square8", history=2, meta={"ringrift.history_length": "3"}))
    with pytest.raises(ValueError, match=r"input features has shape \['N', 42, 8, 8\]"):
        load_model(str(bad), "square8")
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(ValueError, match="has no CUDAExecutionProvider"):
            load_model(str(hexm), "hex8", provider="cuda")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a loadable ONNX model"):
        load_model(str(junk), "square8")
    out = tmp_path / "p.parquet"
    base = [sys.executable, "-m", "ringrift", "selfplay", "--num-games", "1"]
    for args, msg in (
        (["--board-type", "square8", "--model", str(hexm)], "is for board hex8, not square8"),
        (["--board-type", "square8"], "engine mode neural needs --model"),
        (["--board-type", "hex8", "--model", str(hexm), "--nn-dirichlet-eps", "2"], "eps 2.0"),
    ):
        p = subprocess.run(
            base + ["--engine-mode", "neural", "--output", str(out), *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert p.returncode != 0
        assert msg in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert not out.exists()


class _Recorder:
    """The real model, keeping a copy of every batch it is given."""

    def __init__(self, model):
        self.model = model
        self.rows = []

    def __getattr__(self, name):
        return getattr(self.model, name)

    def run(self, f, g):
        self.rows += [(f[i].copy(), g[i].copy()) for i in range(len(f))]
        return self.model.run(f, g)


def _tensor_rows(rules, choices):
    """step -> (features, globals) as `ringrift tensors --sample-every 1` encodes them."""
    from ringrift.tensors import EncodeConfig, GameEncoder, GameSpec

    enc = GameEncoder(EncodeConfig(rules.board_type, sample_every=1))
    out = {}
    for ch in enc.chunks(GameSpec("g", rules.board_type, rules.num_players, choices)):
        for i in range(len(ch)):
            out[int(ch.meta[i, 0])] = (ch.features[i].copy(), ch.globals[i].copy())
    return out


@pytest.mark.parametrize("visits", [0, 1])
def test_network_input_is_the_training_tensors(tmp_path, visits):
    """What the net sees at a position is the row `ringrift tensors` writes for
    it: policy-only requests are the decision states; with one visit, each
    decision asks for the root, then the leaf under the move it then plays
    (the next state, its history running through the root)."""
    rules = Rules("square8", 2)
    rec = _Recorder(_model(tmp_path, "u.onnx", uniform_model("square8"), "square8"))
    opts = NeuralOptions(visits=visits, temperature=0.0, dirichlet_eps=0.0)
    games, _ = _play(rules, rec, opts, 1, 1, max_moves=120)
    _, choices, decision, *_ = games[0]
    rows = _tensor_rows(rules, choices)
    states, _ = replay(rules.geo, rules.new_game(), choices, np.arange(len(choices) + 1))
    want = []
    for t in np.flatnonzero(decision):
        if len(rules.legal(states[t])) > 1:
            want.append(t)
            if visits and states[t + 1][L.STATUS] == L.ST_ACTIVE:
                want.append(t + 1)
    assert len(rec.rows) == len(want) > 30
    compared = 0
    for (f, g), t in zip(rec.rows, want):
        if t in rows:  # not the state after the game's last step
            assert np.array_equal(f, rows[t][0]) and np.array_equal(g, rows[t][1]), t
            compared += 1
    assert compared >= len(want) - 1
    assert any(f[14:].any() for f, _ in rec.rows)  # history frames really compared
