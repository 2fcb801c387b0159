"""AI players and the ladder: legal moves only, determinism, budgets, policies,
mode / band validation."""

import json
from importlib import resources

import numpy as np
import pytest
from numba import njit

from ringrift.engine import layout as L
from ringrift.engine.api import Rules
from ringrift.engine.geometry import BOARD_TYPES
from ringrift.engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into
from ringrift.players import params as P
from ringrift.players.evaluate import (
    DEAD,
    _cell_terms,
    _material_terms,
    _region_terms,
    player_scores,
)
from ringrift.players.ladder import (
    BANDS,
    ENGINE_MODES,
    LEVEL_VERSION,
    LEVELS,
    MCTS_LEVELS,
    NEURAL_MODE,
    check_mode_and_band,
    player_params,
    players_version,
    profile_weights,
    seat_levels,
    seatable_levels,
)
from ringrift.players.mcts import (
    M_SEAT,
    M_STEPS,
    M_TREE,
    PATH_CAP,
    _by_decreasing,
    mcts_choose,
    memo_step,
    new_memo,
    no_memo,
)
from ringrift.players.minimax import minimax_choose
from ringrift.players.select import select_move
from ringrift.selfplay.game import play_game, replay_final
from ringrift.selfplay.worker import params_for


def small(kind_name, board="square8"):
    """A player of the given kind with tiny budgets (fast tests)."""
    kind = P.KIND_NAMES.index(kind_name)
    ip = np.zeros(P.NI, dtype=np.int64)
    fp = np.zeros(P.NF, dtype=np.float64)
    if kind == P.K_MINIMAX:
        ip[P.I_DEPTH], ip[P.I_NODES], ip[P.I_BEAM] = 3, 60, 3
    elif kind == P.K_MCTS:
        ip[P.I_VISITS], ip[P.I_ROLLOUT_LEN], ip[P.I_PRIORS], ip[P.I_MAX_NODES] = 10, 4, 1, 4000
        fp[P.F_CPUCT], fp[P.F_PRIOR_TEMP], fp[P.F_VALUE_SCALE] = 1.5, 8.0, 30.0
        fp[P.F_WIDEN] = 0.5
        ip[P.I_REUSE] = 1
    elif kind == P.K_HEURISTIC:
        fp[P.F_RANDOMNESS], fp[P.F_NOISE] = 0.1, 0.1
    return kind, ip, fp, np.array(profile_weights(board))


def seats(players):
    """Per-seat arrays as the worker builds them (row 0 unused)."""
    n = len(players)
    kinds = np.zeros(n + 1, dtype=np.int32)
    ip = np.zeros((n + 1, P.NI), dtype=np.int64)
    fp = np.zeros((n + 1, P.NF), dtype=np.float64)
    w = np.zeros((n + 1, P.NW), dtype=np.float64)
    for i, (k, a, b, c) in enumerate(players, start=1):
        kinds[i], ip[i], fp[i], w[i] = k, a, b, c
    return kinds, ip, fp, w


def check_game(rules, s0, out, kinds):
    """Every recorded choice is a legal index; policies are distributions;
    non-MCTS policies are one-hot on the move played."""
    final, choices, decision, poff, pidx, pprob = out
    assert (choices >= 0).all()
    assert np.array_equal(replay_final(rules.geo, s0, choices), final)  # raises if out of range
    dec = np.flatnonzero(decision)
    assert len(poff) == len(dec) + 1
    s = s0
    di = 0
    for step, c in enumerate(choices):
        legal = rules.legal(s)
        assert 0 <= c < len(legal)
        if decision[step]:
            a, b = poff[di], poff[di + 1]
            probs = pprob[a:b]
            assert abs(float(probs.sum()) - 1.0) < 1e-4 and (probs > 0).all()
            assert (pidx[a:b] < len(legal)).all()
            if kinds[s[L.CUR]] != P.K_MCTS:
                assert b - a == 1 and pidx[a] == c
            else:
                assert c in pidx[a:b]
            di += 1
        s = rules.apply(s, legal[c])  # apply() re-checks legality
    assert np.array_equal(s, final)


LINEUPS = {
    2: [("heuristic", "minimax"), ("mcts", "random")],
    3: [("heuristic", "minimax", "mcts")],
    4: [("random", "heuristic", "minimax", "mcts")],
}


@pytest.mark.parametrize("board", BOARD_TYPES)
@pytest.mark.parametrize("n", [2, 3, 4])
def test_players_only_play_legal_moves(board, n):
    rules = Rules(board, n)
    big = board in ("square19", "hexagonal")
    for lineup in LINEUPS[n]:
        kinds, ip, fp, w = seats([small(name, board) for name in lineup])
        s0 = rules.new_game()
        # full games on the small boards; a long prefix on the big ones
        out = play_game(rules.geo, s0, kinds, ip, fp, w, 11, 120 if big else 5000)
        if not big:
            assert out[0][L.STATUS] == L.ST_COMPLETED
        check_game(rules, s0, out, kinds)


@pytest.mark.parametrize("level", LEVELS)
def test_every_ladder_level_plays_a_legal_game(level):
    rules = Rules("square8", 2)
    kinds, ip, fp, w = params_for([level, 1], "square8")
    s0 = rules.new_game()
    out = play_game(rules.geo, s0, kinds, ip, fp, w, 5, 40 if level >= 7 else 5000)
    check_game(rules, s0, out, kinds)


def test_same_seed_same_game_and_other_seed_differs():
    rules = Rules("hex8", 3)
    kinds, ip, fp, w = seats(
        [small("heuristic", "hex8"), small("minimax", "hex8"), small("mcts", "hex8")]
    )
    a = play_game(rules.geo, rules.new_game(), kinds, ip, fp, w, 42, 5000)
    b = play_game(rules.geo, rules.new_game(), kinds, ip, fp, w, 42, 5000)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    c = play_game(rules.geo, rules.new_game(), kinds, ip, fp, w, 43, 5000)
    assert not np.array_equal(a[1], c[1])


def _midgame_states(board, n, count, seed=3):
    """States from a random game, every few steps (interesting positions)."""
    rules = Rules(board, n)
    rng = np.random.default_rng(seed)
    s = rules.new_game()
    out = []
    while s[L.STATUS] == L.ST_ACTIVE and len(out) < count:
        legal = rules.legal(s)
        if len(legal) > 1 and rng.random() < 0.3:
            out.append(s)
        s = rules.apply(s, legal[rng.integers(len(legal))])
    return rules, out


@pytest.mark.parametrize("board,n", [("square8", 2), ("hex8", 3), ("square8", 4)])
def test_minimax_respects_node_budget(board, n):
    rules, states = _midgame_states(board, n, 25)
    w = np.array(profile_weights(board))
    for depth, budget, beam in [(2, 40, 4), (3, 100, 3), (4, 200, 0)]:
        ip = np.zeros(P.NI, dtype=np.int64)
        ip[P.I_DEPTH], ip[P.I_NODES], ip[P.I_BEAM] = depth, budget, beam
        for s in states:
            moves = rules.legal(s)
            k = len(moves)
            vals = np.empty(k)
            i, nodes = minimax_choose(rules.geo, s, moves, k, ip, w, vals)
            assert 0 <= i < k
            # the one-ply scan of the root, then the budget (plus at most one
            # step per open frame when it runs out)
            assert k <= nodes <= k + budget + depth + 2, (depth, budget, k, nodes)


@pytest.mark.parametrize(
    "priors,rollout,widen", [(1, 0, 0.0), (0, 6, 0.0), (1, 3, 0.0), (1, 0, 0.5)]
)
def test_mcts_respects_visit_and_memory_budgets(priors, rollout, widen):
    rules, states = _midgame_states("square8", 2, 15)
    w = np.array(profile_weights("square8"))
    for visits, cap in [(1, 10), (20, 300), (64, 100000)]:
        ip = np.zeros(P.NI, dtype=np.int64)
        ip[P.I_VISITS], ip[P.I_ROLLOUT_LEN], ip[P.I_PRIORS], ip[P.I_MAX_NODES] = (
            visits,
            rollout,
            priors,
            cap,
        )
        ip[P.I_ROLLOUT_KIND] = P.ROLLOUT_HEURISTIC if rollout == 3 else P.ROLLOUT_RANDOM
        fp = np.zeros(P.NF)
        fp[P.F_CPUCT], fp[P.F_PRIOR_TEMP], fp[P.F_VALUE_SCALE] = 1.5, 8.0, 30.0
        fp[P.F_WIDEN] = widen
        for s in states:
            moves = rules.legal(s)
            k = len(moves)
            pol = np.full(k, -1.0)
            i, used = mcts_choose(rules.geo, s, moves, k, ip, fp, w, pol, no_memo())
            assert 0 <= i < k
            assert used <= max(cap, k + 1)
            assert abs(pol.sum() - 1.0) < 1e-9 and (pol >= 0).all()
            if widen == 0.0:  # the policy is the root visit distribution
                counts = pol * visits
                assert np.allclose(counts, np.round(counts)) and round(counts.sum()) == visits
            assert pol[i] == pol.max()  # no temperature: the most visited move


@njit(cache=True)
def _seed_numba(x):
    np.random.seed(x)


def _reusing_seats(visits):
    """Two PUCT seats with tree reuse, no noise and no temperature."""
    kind, ip, fp, w = small("mcts")
    ip[P.I_VISITS], ip[P.I_ROLLOUT_LEN], ip[P.I_MAX_NODES] = visits, 0, 200_000
    return seats([(kind, ip, fp, w), (kind, ip.copy(), fp, w)])


def _subtree(memo, b, node):
    """Buffer b's subtree under node as nested tuples (slow oracle)."""
    a, m = int(memo.first[b][node]), int(memo.nch[b][node])
    return (
        int(memo.mi[b][node]),
        tuple(memo.mv[b][node]),
        float(memo.nvis[b][node]),
        tuple(memo.wsum[b][node]),
        float(memo.prior[b][node]),
        tuple(memo.sv[b][node]),
        () if a < 0 else tuple(_subtree(memo, b, c) for c in range(a, a + m)),
    )


def _follow_oracle(memo, b, path):
    node = 0
    for choice in path:
        a, m = int(memo.first[b][node]), int(memo.nch[b][node])
        hits = [c for c in range(a, a + m) if a >= 0 and memo.mi[b][c] == choice]
        if not hits:
            return -1
        node = hits[0]
    return node


def _visit_policy(counts, widen):
    """The root policy of child visit counts (first visits dropped when widening)."""
    counts = np.asarray(counts, dtype=np.float64)
    if widen > 0 and (counts > 1).any():
        counts = np.where(counts > 1, counts - 1, 0.0)
    return counts / counts.sum()


def test_mcts_reuse_starts_from_the_seats_subtree():
    """A seat's next search starts from the node its last tree holds for the
    steps played since: with no simulation to run it is exactly that subtree
    (nested walk of both trees), and its policy the subtree's visits; with
    more visits to make, the root is topped up to I_VISITS and no child loses
    a visit. After the other seat's search the tree is not followed: the
    search is the same as on a new tree."""
    rules = Rules("square8", 2)
    kinds, ip, fp, w = _reusing_seats(300)
    widen = fp[1, P.F_WIDEN]
    memo = new_memo(kinds, ip, 2)
    _seed_numba(3)
    s = rules.new_game()
    exact = topped = fresh = 0
    while s[L.STATUS] == L.ST_ACTIVE and min(exact, topped, fresh) < 3:
        moves = rules.legal(s)
        k = len(moves)
        i = 0
        if k > 1:
            p = s[L.CUR]
            b, n = memo.meta[M_TREE], memo.meta[M_STEPS]
            mine = memo.meta[M_SEAT] == p and n > 0
            node = _follow_oracle(memo, b, memo.path[:n]) if mine else -1
            ipp = ip[p].copy()
            pol = np.zeros(k)
            if node > 0 and memo.first[b][node] >= 0:
                want = _subtree(memo, b, node)
                m = memo.nvis[b][node]
                kids = [c[2] for c in want[6]]
                ipp[P.I_VISITS] = 1 if exact <= topped else int(m) + 40
                i, _ = mcts_choose(rules.geo, s, moves, k, ipp, fp[p], w[p], pol, memo)
                nb = memo.meta[M_TREE]
                assert nb != b
                got = _subtree(memo, nb, 0)
                if ipp[P.I_VISITS] == 1:
                    assert got == want
                    counts = np.zeros(k)
                    for c in want[6]:
                        counts[c[0]] = c[2]
                    assert np.array_equal(pol, _visit_policy(counts, widen))
                    exact += 1
                else:
                    assert got[2] == ipp[P.I_VISITS]
                    now = [c[2] for c in got[6]]
                    assert sum(now) == sum(kids) + 40
                    assert all(x >= y for x, y in zip(now, kids))
                    topped += 1
            else:
                other = memo.meta[M_SEAT] not in (0, p)
                _seed_numba(11 + k)
                i, _ = mcts_choose(rules.geo, s, moves, k, ipp, fp[p], w[p], pol, memo)
                if other:  # the other seat's tree is not followed: a fresh search
                    _seed_numba(11 + k)
                    alone = np.zeros(k)
                    j, _ = mcts_choose(rules.geo, s, moves, k, ipp, fp[p], w[p], alone, no_memo())
                    assert j == i and np.array_equal(alone, pol)
                    fresh += 1
        s = rules.apply(s, moves[i])
        memo_step(memo, i)
    assert exact >= 3 and topped >= 3 and fresh >= 3


def test_mcts_fresh_tree_in_a_memo_equals_a_new_tree():
    """A search that cannot reuse (a seat's first, or no step since) plays
    exactly as one on a new tree, whatever the memo's buffers held before."""
    rules, states = _midgame_states("square8", 2, 8)
    kinds, ip, fp, w = _reusing_seats(200)
    memo = new_memo(kinds, ip, 2)
    for s in states:
        moves = rules.legal(s)
        k = len(moves)
        p = s[L.CUR]
        got = []
        for m in (no_memo(), memo):
            _seed_numba(5)
            pol = np.zeros(k)
            i, used = mcts_choose(rules.geo, s, moves, k, ip[p], fp[p], w[p], pol, m)
            got.append((i, used, pol))
        assert got[0][:2] == got[1][:2] and np.array_equal(got[0][2], got[1][2])


def test_memo_path_holds_path_cap_steps():
    kinds, ip, fp, w = _reusing_seats(10)
    memo = new_memo(kinds, ip, 2)
    memo_step(memo, 3)
    assert memo.meta[M_STEPS] == -1  # no search yet: nothing to follow
    memo.meta[M_STEPS] = 0  # as a search leaves it
    for j in range(PATH_CAP):
        memo_step(memo, j % 7)
    assert memo.meta[M_STEPS] == PATH_CAP
    assert list(memo.path) == [j % 7 for j in range(PATH_CAP)]
    memo_step(memo, 0)  # one more: too far to follow, the next search starts fresh
    assert memo.meta[M_STEPS] == -1


def test_select_move_policy_and_single_move():
    rules, states = _midgame_states("square8", 2, 10)
    for name in ("random", "heuristic", "minimax", "mcts"):
        kind, ip, fp, w = small(name)
        for s in states:
            moves = rules.legal(s)
            k = np.int64(len(moves))
            pol = np.full(len(moves), -1.0)
            i = select_move(rules.geo, s, moves, k, np.int32(kind), ip, fp, w, pol, no_memo())
            assert 0 <= i < k
            assert abs(pol.sum() - 1.0) < 1e-9 and (pol >= 0).all() and pol[i] > 0
            if name != "mcts":
                assert pol[i] == 1.0
        pol = np.zeros(4)
        assert (
            select_move(
                rules.geo,
                states[0],
                rules.legal(states[0])[:1],
                np.int64(1),
                np.int32(kind),
                ip,
                fp,
                w,
                pol,
                no_memo(),
            )
            == 0
        )
        assert pol[0] == 1.0


def test_heuristic_takes_an_immediate_win():
    """From a position one move from a ring-elimination win, the greedy player
    (no randomness) plays a winning move."""
    rules = Rules("square8", 2)
    kind, ip, fp, w = small("heuristic")
    fp[:] = 0.0
    rng = np.random.default_rng(0)
    found = 0
    for game in range(40):
        s = rules.new_game()
        while s[L.STATUS] == L.ST_ACTIVE and found < 5:
            legal = rules.legal(s)
            wins = [
                j
                for j, m in enumerate(legal)
                if (lambda t: t[L.STATUS] == L.ST_COMPLETED and t[L.WINNER] == s[L.CUR])(
                    rules.apply(s, m)
                )
            ]
            if wins and len(wins) < len(legal):
                pol = np.zeros(len(legal))
                i = select_move(
                    rules.geo,
                    s,
                    legal,
                    np.int64(len(legal)),
                    np.int32(kind),
                    ip,
                    fp,
                    w,
                    pol,
                    no_memo(),
                )
                assert i in wins
                found += 1
            s = rules.apply(s, legal[rng.integers(len(legal))])
        if found >= 5:
            break
    assert found > 0


# ---- ladder ------------------------------------------------------------------


def test_modes_and_bands_are_validated():
    for mode in ENGINE_MODES:
        for band in BANDS:
            check_mode_and_band(mode, band)
    with pytest.raises(ValueError) as exc:
        check_mode_and_band("minimax", "light")
    msg = str(exc.value)
    assert "'minimax'" in msg and "mixed, random, heuristic, mcts, diverse" in msg
    assert "\n" not in msg
    with pytest.raises(ValueError) as exc:
        seat_levels("mixed", "canonical", 2, np.random.default_rng(0))
    msg = str(exc.value)
    assert "'canonical'" in msg and "light, full" in msg and "\n" not in msg
    with pytest.raises(ValueError, match="valid levels: 1-10"):
        player_params(11, "square8")
    with pytest.raises(ValueError, match="valid board types"):
        player_params(2, "square7")


def test_players_version_and_seatable_levels():
    """Every level seat_levels draws is one seatable_levels names; the players'
    version is the highest of those levels' play versions."""
    rng = np.random.default_rng(4)
    for mode in ENGINE_MODES:
        for band in BANDS:
            can = seatable_levels(mode, band)
            if mode != NEURAL_MODE:
                for _ in range(30):
                    assert set(seat_levels(mode, band, 4, rng)) <= set(can), (mode, band)
            want = max([LEVEL_VERSION[lv] for lv in can] + [1])
            assert players_version(mode, band) == want
    assert players_version("mixed", "full") == players_version("mcts", "light") == 2
    assert players_version("mixed", "light") == players_version("random", "full") == 1
    assert players_version(NEURAL_MODE, "full") == 1


def test_seat_levels_by_mode_and_band():
    rng = np.random.default_rng(1)
    for _ in range(50):
        assert set(seat_levels("mixed", "light", 4, rng)) <= {1, 2, 3, 4}
        assert set(seat_levels("mixed", "full", 3, rng)) <= set(range(1, 11))
        assert seat_levels("random", "full", 3, rng) == [1, 1, 1]
        assert seat_levels("heuristic", "light", 2, rng) == [2, 2]
        assert set(seat_levels("mcts", "full", 4, rng)) <= set(MCTS_LEVELS)
        assert seat_levels("mcts", "light", 2, rng) == [5, 5]
        d = seat_levels("diverse", "light", 4, rng)
        assert sorted(d) == [1, 2, 3, 4]
        d = seat_levels("diverse", "full", 3, rng)
        assert len(set(d)) == 3
    seen = {tuple(seat_levels("mixed", "light", 2, rng)) for _ in range(200)}
    assert len(seen) == 16  # every pairing happens
    a = [seat_levels("mixed", "full", 4, np.random.default_rng(9)) for _ in range(3)]
    assert a[0] == a[1] == a[2]


def test_player_params_shapes_and_kinds():
    kinds = []
    for level in LEVELS:
        kind, ip, fp, w = player_params(level, "hex8")
        assert ip.dtype == np.int64 and fp.dtype == np.float64 and w.dtype == np.float64
        assert ip.ndim == fp.ndim == w.ndim == 1 and len(w) == P.NW
        kinds.append(kind)
    assert kinds == [P.K_RANDOM, P.K_HEURISTIC, P.K_MINIMAX, P.K_MINIMAX] + [P.K_MCTS] * 6
    visits = [player_params(lv, "square8")[1][P.I_VISITS] for lv in MCTS_LEVELS]
    assert visits == sorted(visits) and len(set(visits)) == len(visits)


@pytest.mark.parametrize("board", BOARD_TYPES)
def test_shipped_profiles(board):
    text = resources.files("ringrift.players").joinpath("profiles", f"{board}.json").read_text()
    data = json.loads(text)
    assert data["board_type"] == board
    assert set(data["weights"]) == set(P.WEIGHT_NAMES)
    assert len(profile_weights(board)) == P.NW


@pytest.mark.parametrize(
    "board,n", [("square8", 2), ("hex8", 3), ("square19", 2), ("hexagonal", 4)]
)
def test_scan_values_equal_evaluate_after_apply_bit_for_bit(board, n):
    """The placement shortcut of the one-ply scan gives exactly the floats of
    evaluate(apply_move(...)) (greedy ties and minimax's ordering depend on
    them), in random games up to their end, with noisy weights."""
    from ringrift.engine.rules import apply_move, legal_moves
    from ringrift.players.scan import (
        exact_value,
        scan_alloc,
        scan_fill,
        scan_value,
        scan_values,
        worth_scanning,
    )

    rules = Rules(board, n)
    rng = np.random.default_rng(7)
    base = np.array(profile_weights(board))
    checked = placements = 0
    for game in range(3 if board in ("square8", "hex8") else 1):
        s = rules.new_game()
        sn = scan_alloc(s)
        step = 0
        while s[L.STATUS] == L.ST_ACTIVE and step < 3000:
            ms = legal_moves(rules.geo, s)
            nplace = int(np.count_nonzero(ms[:, L.F_TYPE] == L.MT_PLACE_RING))
            if nplace >= 8 and step % 3 == 0:
                w = base * (1.0 + 0.3 * rng.standard_normal(base.shape[0]))
                me = int(rng.integers(1, n + 1))
                for ply in (0, 1):
                    got = np.full(ms.shape[0], np.nan)
                    scan_values(rules.geo, s, ms, ms.shape[0], w, me, np.zeros(L.PSLOTS), got, ply)
                    want = np.array(
                        [exact_value(rules.geo, s, m, w, me, np.zeros(L.PSLOTS), ply) for m in ms]
                    )
                    assert np.array_equal(got.view(np.int64), want.view(np.int64)), (step, ply)
                # a cell's placements are scored together: any order of the
                # moves, with its counts apart or reversed, gives the same
                perm = rng.permutation(ms.shape[0]) if ply == 0 else np.arange(ms.shape[0])[::-1]
                got = np.full(ms.shape[0], np.nan)
                scan_values(
                    rules.geo, s, ms[perm], ms.shape[0], w, me, np.zeros(L.PSLOTS), got, ply
                )
                assert np.array_equal(got.view(np.int64), want[perm].view(np.int64)), (step, ply)
                # minimax's leaves: one Scan reused across states
                if worth_scanning(s, ms, ms.shape[0]):
                    scan_fill(rules.geo, s, w, sn)
                    got = [
                        scan_value(rules.geo, s, sn, m, w, me, np.zeros(L.PSLOTS), 2) for m in ms
                    ]
                    want = [exact_value(rules.geo, s, m, w, me, np.zeros(L.PSLOTS), 2) for m in ms]
                    assert np.array_equal(
                        np.array(got).view(np.int64), np.array(want).view(np.int64)
                    )
                checked += 1
                placements += nplace
            s = apply_move(rules.geo, s, ms[rng.integers(ms.shape[0])])
            step += 1
    assert checked >= 5 and placements >= 100


@pytest.mark.parametrize(
    "board,n", [("square8", 2), ("hex8", 3), ("square19", 2), ("hexagonal", 4)]
)
def test_mcts_child_values_equal_apply_and_player_scores_bit_for_bit(board, n):
    """MCTS scores every child of a node it expands (priors and one-ply
    values); a cell's placements take the scan's shortcut together. Every
    child's prior input and per-player value equal the plain path's floats:
    apply_move, then player_scores (or the terminal values of a finished
    game)."""
    from ringrift.engine.rules import apply_move, legal_moves
    from ringrift.players.evaluate import player_scores, relative_value
    from ringrift.players.mcts import (
        _new_scratch,
        _search_settings,
        _static_children,
        leaf_values_from,
    )
    from ringrift.players.scan import worth_scanning

    rules = Rules(board, n)
    rng = np.random.default_rng(11)
    _, ip, fp, base = player_params(MCTS_LEVELS[0], board)
    checked = scanned = 0
    s = rules.new_game()
    scr = _new_scratch(s)
    step = 0
    while s[L.STATUS] == L.ST_ACTIVE and step < 1500:
        ms = legal_moves(rules.geo, s)
        k = ms.shape[0]
        if step % 4 == 0 and k > 1:
            # the generator's order, then shuffled (a cell's counts apart)
            if step % 8 == 4:
                ms = ms[rng.permutation(k)]
            w = base * (1.0 + 0.3 * rng.standard_normal(base.shape[0]))
            srch = _search_settings(ip, fp, w)
            mover = int(s[L.CUR])
            mx = _static_children(rules.geo, s, ms, k, mover, srch, scr)
            want_raw = np.empty(k)
            want_val = np.empty((L.PSLOTS, k))
            sc = np.zeros(L.PSLOTS)
            val = np.zeros(L.PSLOTS)
            for i in range(k):
                ch = apply_move(rules.geo, s, ms[i])
                if ch[L.STATUS] != L.ST_ACTIVE:
                    wn = ch[L.WINNER]
                    want_raw[i] = P.WIN_SCORE if wn == mover else (-P.WIN_SCORE if wn else 0.0)
                else:
                    player_scores(rules.geo, ch, w, sc)
                    want_raw[i] = relative_value(sc, n, mover)
                leaf_values_from(ch, sc, srch.scale, val)
                want_val[:, i] = val
            got_raw = scr.tmp[0, :k]
            got_val = scr.tmp[1 : 1 + L.PSLOTS, :k]
            assert np.array_equal(got_raw.view(np.int64), want_raw.view(np.int64)), step
            players = slice(1, n + 1)
            assert np.array_equal(
                got_val[players].view(np.int64), want_val[players].view(np.int64)
            ), step
            assert mx == want_raw.max()
            checked += 1
            scanned += bool(worth_scanning(s, ms, k))
        s = apply_move(rules.geo, s, ms[rng.integers(k)])
        step += 1
    assert checked >= 20 and scanned >= 5, (checked, scanned)


def test_children_order_is_the_stable_argsort():
    """MCTS orders children by prior with its own merge sort (no allocation);
    it must be np.argsort(-x, kind="mergesort"): ties in index order, every
    length (odd, powers of two, one), many ties and none."""
    rng = np.random.default_rng(5)
    order = np.full(2 * 600, -1, dtype=np.int64)
    for k in (1, 2, 3, 7, 8, 64, 65, 255, 600):
        for x in (
            rng.random(k),
            rng.integers(0, 3, k).astype(np.float64),  # many ties
            np.zeros(k),
            np.exp(-np.arange(k, dtype=np.float64)),  # already in order
            np.arange(k, dtype=np.float64),  # reversed
        ):
            _by_decreasing(x, k, order)
            assert np.array_equal(order[:k], np.argsort(-x, kind="mergesort")), (k, x[:10])


@njit(cache=True)
def _scores_with_every_region_term(geo, s, w, sc):
    """player_scores as defined: the region terms counted in every capture,
    line and territory state of a mover with a stack, with no shortcut."""
    sc[:] = 0.0
    nstacks = np.zeros(L.PSLOTS, dtype=np.int64)
    nrings = np.zeros(L.PSLOTS, dtype=np.int64)
    _cell_terms(geo, s, w, sc, nstacks, nrings)
    _material_terms(s, w, nstacks, nrings, sc)
    ph = s[L.PHASE]
    counted = ph == L.PH_LINE or ph == L.PH_TERRITORY
    counted = counted or ph == L.PH_CAPTURE or ph == L.PH_CHAIN_CAPTURE
    terms = 0  # 1 when a region term counted
    if w[P.W_REGION] != 0.0 and nstacks[s[L.CUR]] > 0 and counted:
        before = sc.copy()
        _region_terms(geo, s, w, sc)
        terms = 0 if np.array_equal(before, sc) else 1
    for p in range(1, s[L.NP] + 1):
        if nrings[p] == 0 and s[L.HAND + p] == 0:
            sc[p] = DEAD
    return terms


@njit(cache=True)
def _region_shortcut_check(geo, s0, w, games, seed0, counts):
    """counts: [states compared, ones player_scores skipped the regions of
    (territory phase, NO_REGIONS set), ones with a region term]; returns the
    (game, move) of the first state whose scores differ, or (-1, -1)."""
    out = np.empty((MAX_MOVES_BUFFER, L.MF), dtype=np.int32)
    got = np.zeros(L.PSLOTS)
    want = np.zeros(L.PSLOTS)
    for g in range(games):
        np.random.seed(seed0 + g)
        s = s0.copy()
        while s[L.STATUS] == L.ST_ACTIVE and s[L.MOVE_COUNT] < 100_000:
            player_scores(geo, s, w, got)
            counts[2] += _scores_with_every_region_term(geo, s, w, want)
            counts[0] += 1
            if s[L.PHASE] == L.PH_TERRITORY and s[L.NO_REGIONS] != 0:
                counts[1] += 1
            if not np.array_equal(got, want):
                return g, s[L.MOVE_COUNT]
            k = legal_moves_into(geo, s, out)
            s = apply_move(geo, s, out[np.random.randint(k)])
    return -1, -1


@pytest.mark.parametrize("board,n,games", [("square8", 2, 30), ("hex8", 3, 20), ("square19", 4, 2)])
def test_scores_skip_only_region_terms_that_count_nothing(board, n, games):
    """player_scores skips the region search where the line phase's exit has
    just found no region to process (NO_REGIONS): the scores must equal,
    bit for bit, those that count the region terms everywhere."""
    r = Rules(board, n)
    w = np.array(profile_weights(board))
    w[P.W_REGION] = 1.0  # the terms must count, whatever the profile says
    counts = np.zeros(3, dtype=np.int64)
    g, move = _region_shortcut_check(r.geo, r.new_game(), w, games, 40, counts)
    assert g < 0, f"{board} {n}p game seed {40 + g} move {move}: scores differ"
    assert counts[1] > 0 and counts[2] > 0, counts  # the shortcut taken; terms that count
