"""The ``has_*`` predicates agree with the ``gen_*`` generators they shortcut.

Every "does a move of kind X exist" predicate in the engine answers without
building a list; the generator builds the list. They must agree on every state,
for every player, or the turn machine (which branches on the predicate) and the
legal-move list (built by the generator) drift apart. Seeded uniformly random
games on every board and player count visit placement, movement, capture and
chain-capture, line and territory decisions, recovery and forced elimination;
at every visited state and for every seat the pairs below are compared:

exact agreement, ``pred == (count of generated moves > 0)``
    move_from        has_move_from(c)           gen_moves_from(c), every stack c
    capture_from     has_capture_from(p, c)     gen_captures_from(p, c), every p, c
    movement         has_movement(p, -1)        gen_movement(p, -1)
    movement_must    has_movement(p, MUSTMOVE)  gen_movement(p, MUSTMOVE)
    captures         has_captures(p, -1)        gen_captures(p, -1)
    captures_must    has_captures(p, MUSTMOVE)  gen_captures(p, MUSTMOVE)
                     (both with CHAIN = -1: has_captures ignores the chain
                     cell; the engine calls it only outside chain captures)
    chain            has_capture_from(p, CHAIN) gen_captures(p, ...) in a chain
    placement        has_placement(p)           gen_placements(p)
    recovery         has_recovery(p)            the recovery_slide rows of
                     gen_recovery(p) (it also appends skip_recovery whenever p
                     is eligible, so "any row" would be the wrong reading)
    recovery_eligible recovery_eligible(p)      any row of gen_recovery(p); the
                     last row is then the one skip_recovery
    real_action      real_action(p)             placements + movement(-1) +
                     captures(MUSTMOVE) (the LPS "real action", no recovery)
    valid_action     valid_action(p)            placements + movement(must) +
                     captures(must) + recovery slides (the FE gate)
    line             _any_line_move (CUR = p)   _line_moves(p)
    territory        _any_territory_move        _territory_moves(p), with the
                     (CUR = p)                  NO_REGIONS cache cleared
    bare_board       bare_board_placement_exists  gen_placements(p) for a p with
                     rings in hand, on stackless states (the only ones it is
                     called on): the game start, and every 7th visited state
                     with its stacks stripped and a varying share of cells
                     collapsed (random play alone almost never empties the
                     board, let alone boxes in every open cell)
    any_rings        has_any_rings(p)           hand + rings on board > 0

documented looser relationships
    skip_placement   can_skip_placement(p) mirrors the reference's looser
                     reachability test (_loose_move_or_capture_from: the cell
                     at distance == height may hold a stack). So it implies
                     rings in hand; rings in hand plus a real movement or
                     capture (the generators) implies it; and with no stack
                     controlled it is exactly "hand > 0 and gen_recovery(p)
                     lists anything" (recovery eligibility).
    loose_from       _loose_move_or_capture_from(p, c) is implied by
                     has_move_from(c) or has_capture_from(p, c) for every
                     stack c of p (counted: how often it is strictly looser)

phase facts that tie a predicate taken at transition time to the generator on
the state it produced
    capture_phase    in capture, gen_captures_from(CUR, LAST_TO) lists a move
    chain_phase      in chain_capture, gen_captures(CUR, MUSTMOVE) lists one
    no_regions       the NO_REGIONS cache set => _any_territory_move is False
                     (and the phase is territory_processing)
    forced_elim      in forced_elimination the list is one row per controlled
                     stack when valid_action(CUR) is False, else exactly one
                     (random play reaches the second case only a few times per
                     thousand games, so only the first is required per case)
    untouched        no predicate or generator leaves the state changed
                     (has_placement/gen_placements place and lift rings)

Each predicate is counted with both outcomes per case and the test asserts both
were seen (the phase facts: that they were checked at all; every phase but
game_over visited; the skip test strictly looser at least once), so a run over
trivial states cannot pass. A failure names the board, the game's seed, the
move number, the phase, the seat, the pair and the cell; ``state_at`` rebuilds
that state.
"""

# ringrift first: it points NUMBA_CACHE_DIR at a folder keyed by the engine's
# source before numba reads its config. With numba imported first, the jitted
# helpers below (and the engine) would cache next to their source files, keyed
# by each file alone, and after an engine edit these checks would run machine
# code compiled against the old engine.
import ringrift  # noqa: F401

# isort: split
import time

import numpy as np
import pytest
from numba import njit

from ringrift.engine import Rules
from ringrift.engine.layout import (
    CHAIN,
    CUR,
    F_TYPE,
    HAND,
    HDR,
    LAST_TO,
    MF,
    MOVE_COUNT,
    MT_OVERTAKING_CAPTURE,
    MT_RECOVERY_SLIDE,
    MT_SKIP_RECOVERY,
    MUSTMOVE,
    NCELL,
    NO_REGIONS,
    NP,
    PH_CAPTURE,
    PH_CHAIN_CAPTURE,
    PH_FORCED_ELIM,
    PH_TERRITORY,
    PHASE,
    PHASE_NAMES,
    ST_ACTIVE,
    STATUS,
)
from ringrift.engine.movegen import (
    _loose_move_or_capture_from,
    bare_board_placement_exists,
    can_skip_placement,
    gen_captures,
    gen_captures_from,
    gen_movement,
    gen_moves_from,
    gen_placements,
    gen_recovery,
    has_capture_from,
    has_captures,
    has_move_from,
    has_movement,
    has_placement,
    has_recovery,
    recovery_eligible,
)
from ringrift.engine.rules import (
    MAX_MOVES_BUFFER,
    _any_line_move,
    _any_territory_move,
    _fe_moves,
    _line_moves,
    _territory_moves,
    apply_move,
    has_any_rings,
    legal_moves_into,
    real_action,
    valid_action,
)
from ringrift.engine.stacks import controls_any_stack, height, rings_on_board, top

PAIRS = (
    "move_from",
    "capture_from",
    "movement",
    "movement_must",
    "captures",
    "captures_must",
    "chain",
    "placement",
    "recovery",
    "recovery_eligible",
    "real_action",
    "valid_action",
    "line",
    "territory",
    "bare_board",
    "any_rings",
    "skip_placement",
    "loose_from",
    "capture_phase",
    "chain_phase",
    "no_regions",
    "forced_elim",
    "untouched",
)
(
    MOVE_FROM,
    CAPTURE_FROM,
    MOVEMENT,
    MOVEMENT_MUST,
    CAPTURES,
    CAPTURES_MUST,
    CHAIN_P,
    PLACEMENT,
    RECOVERY,
    RECOVERY_ELIGIBLE,
    REAL_ACTION,
    VALID_ACTION,
    LINE,
    TERRITORY,
    BARE_BOARD,
    ANY_RINGS,
    SKIP_PLACEMENT,
    LOOSE_FROM,
    CAPTURE_PHASE,
    CHAIN_PHASE,
    NO_REGIONS_P,
    FORCED_ELIM,
    UNTOUCHED,
) = range(len(PAIRS))
# predicates that must be seen both True and False in every case (any_rings
# only with more than two players: in a 2-player game the player who loses
# the last ring has lost); the facts below hold one way only and must merely
# have been checked
BOTH = (
    MOVE_FROM,
    CAPTURE_FROM,
    MOVEMENT,
    MOVEMENT_MUST,
    CAPTURES,
    CAPTURES_MUST,
    CHAIN_P,
    PLACEMENT,
    RECOVERY,
    RECOVERY_ELIGIBLE,
    REAL_ACTION,
    VALID_ACTION,
    LINE,
    TERRITORY,
    BARE_BOARD,
    SKIP_PLACEMENT,
    LOOSE_FROM,
)
CHECKED = (CAPTURE_PHASE, CHAIN_PHASE, NO_REGIONS_P, FORCED_ELIM, UNTOUCHED)
# fail record fields
F_PAIR, F_GAME, F_MOVE, F_SEAT, F_CELL, F_HAS, F_GEN, F_PHASE = range(8)
# extra counters (row len(PAIRS) of `counts`): states, checks, loose-only
# cases, then states per phase
X_STATES, X_CHECKS, X_LOOSER, X_PHASE = 0, 1, 2, 3
NCOLS = X_PHASE + len(PHASE_NAMES)


@njit(cache=True)
def _note(counts, fail, pair, has, ok, g, s, p, c, gen):
    counts[pair, 1 if has else 0] += 1
    counts[len(PAIRS), X_CHECKS] += 1
    if not ok and fail[F_PAIR] < 0:
        fail[F_PAIR] = pair
        fail[F_GAME] = g
        fail[F_MOVE] = s[MOVE_COUNT]
        fail[F_SEAT] = p
        fail[F_CELL] = c
        fail[F_HAS] = 1 if has else 0
        fail[F_GEN] = gen
        fail[F_PHASE] = s[PHASE]


@njit(cache=True)
def _slides(out, k):
    n = 0
    for i in range(k):
        if out[i, F_TYPE] == MT_RECOVERY_SLIDE:
            n += 1
    return n


@njit(cache=True)
def _check_bare(geo, s, out, counts, fail, g):
    """bare_board_placement_exists against gen_placements on a stackless copy
    of s with a share of open cells collapsed (the share varies by move)."""
    u = s.copy()
    n = u[NCELL]
    mc = u[MOVE_COUNT]
    for c in range(n):
        u[HDR + c] = 0
        u[HDR + 3 * n + c] = 0
    u[HDR + 4 * n :] = 0
    share = (mc * 37) % 101
    for c in range(n):
        if (((c + 1) * 2654435761 + mc * 40503) >> 5) % 100 < share:
            u[HDR + 2 * n + c] = 1
            u[HDR + n + c] = 0
    bare = bare_board_placement_exists(geo, u)
    for p in range(1, u[NP] + 1):
        if u[HAND + p] <= 0:
            u[HAND + p] = 1
        k = gen_placements(geo, u, p, out, 0)
        _note(counts, fail, BARE_BOARD, bare, bare == (k > 0), g, u, p, -1, k)


@njit(cache=True)
def check_state(geo, s, out, counts, fail, g):
    """Every pair on s for every seat; s is restored before returning."""
    ref = s.copy()
    n = s[NCELL]
    np_ = s[NP]
    must = s[MUSTMOVE]
    chain = s[CHAIN]
    cur = s[CUR]
    counts[len(PAIRS), X_STATES] += 1
    counts[len(PAIRS), X_PHASE + s[PHASE]] += 1
    any_stack = False
    for c in range(n):
        if height(s, c) > 0:
            any_stack = True
    # phase facts on the state as it stands
    ph = s[PHASE]
    if ph == PH_CAPTURE and s[LAST_TO] >= 0:
        k = gen_captures_from(geo, s, cur, s[LAST_TO], MT_OVERTAKING_CAPTURE, out, 0)
        h = has_capture_from(geo, s, cur, s[LAST_TO])
        _note(counts, fail, CAPTURE_PHASE, h, h and k > 0, g, s, cur, s[LAST_TO], k)
    if ph == PH_CHAIN_CAPTURE:
        k = gen_captures(geo, s, cur, must, out, 0)
        _note(counts, fail, CHAIN_PHASE, k > 0, k > 0, g, s, cur, chain, k)
    if s[NO_REGIONS] != 0:
        t = _any_territory_move(geo, s)
        ok = (not t) and ph == PH_TERRITORY
        _note(counts, fail, NO_REGIONS_P, t, ok, g, s, cur, -1, 0)
    if ph == PH_FORCED_ELIM:
        k = _fe_moves(geo, s, cur, out, 0)
        va = valid_action(geo, s, cur)
        nctl = 0
        for c in range(n):
            if height(s, c) > 0 and top(s, c) == cur:
                nctl += 1
        _note(counts, fail, FORCED_ELIM, va, k == (1 if va else nctl), g, s, cur, -1, k)
    if not any_stack:
        bare = bare_board_placement_exists(geo, s)
        for p in range(1, np_ + 1):
            if s[HAND + p] > 0:
                k = gen_placements(geo, s, p, out, 0)
                _note(counts, fail, BARE_BOARD, bare, bare == (k > 0), g, s, p, -1, k)
    # per cell
    for c in range(n):
        if height(s, c) == 0:
            continue
        owner = top(s, c)
        h = has_move_from(geo, s, c)
        k = gen_moves_from(geo, s, owner, c, out, 0)
        _note(counts, fail, MOVE_FROM, h, h == (k > 0), g, s, owner, c, k)
        for p in range(1, np_ + 1):
            hc = has_capture_from(geo, s, p, c)
            kc = gen_captures_from(geo, s, p, c, MT_OVERTAKING_CAPTURE, out, 0)
            _note(counts, fail, CAPTURE_FROM, hc, hc == (kc > 0), g, s, p, c, kc)
            if p == owner:
                lo = _loose_move_or_capture_from(geo, s, p, c)
                strict = h or hc
                _note(counts, fail, LOOSE_FROM, lo, lo or not strict, g, s, p, c, k + kc)
                if lo and not strict:
                    counts[len(PAIRS), X_LOOSER] += 1
    # per seat
    s[CHAIN] = -1
    for p in range(1, np_ + 1):
        kp = gen_placements(geo, s, p, out, 0)
        hp = has_placement(geo, s, p)
        _note(counts, fail, PLACEMENT, hp, hp == (kp > 0), g, s, p, -1, kp)
        km = gen_movement(geo, s, p, -1, out, 0)
        hm = has_movement(geo, s, p, -1)
        _note(counts, fail, MOVEMENT, hm, hm == (km > 0), g, s, p, -1, km)
        kc = gen_captures(geo, s, p, -1, out, 0)
        hc = has_captures(geo, s, p, -1)
        _note(counts, fail, CAPTURES, hc, hc == (kc > 0), g, s, p, -1, kc)
        kmm = km
        kcm = kc
        if must >= 0:
            kmm = gen_movement(geo, s, p, must, out, 0)
            h = has_movement(geo, s, p, must)
            _note(counts, fail, MOVEMENT_MUST, h, h == (kmm > 0), g, s, p, must, kmm)
            kcm = gen_captures(geo, s, p, must, out, 0)
            h = has_captures(geo, s, p, must)
            _note(counts, fail, CAPTURES_MUST, h, h == (kcm > 0), g, s, p, must, kcm)
        kr = gen_recovery(geo, s, p, out, 0)
        sl = _slides(out, kr)
        hr = has_recovery(geo, s, p)
        _note(counts, fail, RECOVERY, hr, hr == (sl > 0), g, s, p, -1, sl)
        el = recovery_eligible(s, p)
        ok = el == (kr > 0)
        if kr > 0:
            ok = ok and out[kr - 1, F_TYPE] == MT_SKIP_RECOVERY and sl == kr - 1
        _note(counts, fail, RECOVERY_ELIGIBLE, el, ok, g, s, p, -1, kr)
        ra = real_action(geo, s, p)
        _note(counts, fail, REAL_ACTION, ra, ra == (kp + km + kcm > 0), g, s, p, -1, kp + km + kcm)
        va = valid_action(geo, s, p)
        tot = kp + kmm + kcm + sl
        _note(counts, fail, VALID_ACTION, va, va == (tot > 0), g, s, p, -1, tot)
        cs = can_skip_placement(geo, s, p)
        hand = s[HAND + p] > 0
        ok = (not cs or hand) and (not (hand and km + kc > 0) or cs)
        if not controls_any_stack(s, p):
            ok = ok and cs == (hand and kr > 0)
        _note(counts, fail, SKIP_PLACEMENT, cs, ok, g, s, p, -1, km + kc)
        ar = has_any_rings(s, p)
        ok = ar == (s[HAND + p] + rings_on_board(s, p) > 0)
        _note(counts, fail, ANY_RINGS, ar, ok, g, s, p, -1, 0)
    s[CHAIN] = chain
    if chain >= 0:
        for p in range(1, np_ + 1):
            k = gen_captures(geo, s, p, must, out, 0)
            h = has_capture_from(geo, s, p, chain)
            _note(counts, fail, CHAIN_P, h, h == (k > 0), g, s, p, chain, k)
    # line and territory decisions, for each seat as the one to move
    nr = s[NO_REGIONS]
    s[NO_REGIONS] = 0
    for p in range(1, np_ + 1):
        s[CUR] = p
        k = _line_moves(geo, s, p, out, 0)
        h = _any_line_move(geo, s)
        _note(counts, fail, LINE, h, h == (k > 0), g, s, p, -1, k)
        k = _territory_moves(geo, s, p, out, 0)
        h = _any_territory_move(geo, s)
        _note(counts, fail, TERRITORY, h, h == (k > 0), g, s, p, -1, k)
    s[CUR] = cur
    s[NO_REGIONS] = nr
    same = True
    for i in range(s.shape[0]):
        if s[i] != ref[i]:
            same = False
            break
    _note(counts, fail, UNTOUCHED, same, same, g, s, cur, -1, 0)
    if not same:
        s[:] = ref


@njit(cache=True)
def run_games(geo, s0, n_games, seed0, max_moves, bare_every, counts, fail):
    """Seeded uniformly random games (game g uses seed seed0 + g); every state
    is checked. Stops at the first failure (fail[F_PAIR] >= 0)."""
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    for g in range(n_games):
        np.random.seed(seed0 + g)
        s = s0.copy()
        while s[STATUS] == ST_ACTIVE and s[MOVE_COUNT] < max_moves:
            check_state(geo, s, out, counts, fail, g)
            if s[MOVE_COUNT] % bare_every == 0:
                _check_bare(geo, s, out, counts, fail, g)
            if fail[F_PAIR] >= 0:
                return
            k = legal_moves_into(geo, s, out)
            s = apply_move(geo, s, out[np.random.randint(k)])


@njit(cache=True)
def state_at(geo, s0, seed, move):
    """The state at move number `move` of the game run_games plays with `seed`
    (the checks draw no random numbers, so the replay follows the same moves):
    to reproduce a reported disagreement."""
    np.random.seed(seed)
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    s = s0.copy()
    while s[STATUS] == ST_ACTIVE and s[MOVE_COUNT] < move:
        k = legal_moves_into(geo, s, out)
        s = apply_move(geo, s, out[np.random.randint(k)])
    return s


# board, players, games, seed: about 15 s in all on one core once compiled
CASES = [
    ("square8", 2, 100, 1000),
    ("square8", 3, 80, 2000),
    ("square8", 4, 60, 3000),
    ("hex8", 2, 100, 4000),
    ("hex8", 3, 80, 5000),
    ("hex8", 4, 60, 6000),
    ("square19", 2, 8, 7000),
    ("square19", 3, 5, 8000),
    ("square19", 4, 4, 9000),
    ("hexagonal", 2, 3, 10000),
    ("hexagonal", 3, 3, 11000),
    ("hexagonal", 4, 2, 12000),
]


def _describe(board, n, seed0, fail):
    pair = PAIRS[fail[F_PAIR]]
    return (
        f"{pair} disagrees on {board} {n}p, game seed {seed0 + fail[F_GAME]}, "
        f"move {fail[F_MOVE]} ({PHASE_NAMES[fail[F_PHASE]]}), player {fail[F_SEAT]}, "
        f"cell {fail[F_CELL]}: predicate {bool(fail[F_HAS])}, generator count {fail[F_GEN]} "
        f"(with r = Rules({board!r}, {n}), state_at(r.geo, r.new_game(), "
        f"{seed0 + fail[F_GAME]}, {fail[F_MOVE]}) rebuilds the state)"
    )


def check_games(board, n, games, seed):
    """(counts, fail, seconds) for `games` checked random games."""
    r = Rules(board, n)
    counts = np.zeros((len(PAIRS) + 1, NCOLS), dtype=np.int64)
    fail = np.full(8, -1, dtype=np.int64)
    t0 = time.perf_counter()
    run_games(r.geo, r.new_game(), games, seed, 100_000, 7, counts, fail)
    return counts, fail, time.perf_counter() - t0


@pytest.mark.parametrize("board,n,games,seed", CASES)
def test_has_predicates_agree_with_generators(board, n, games, seed, report_line):
    counts, fail, dt = check_games(board, n, games, seed)
    assert fail[F_PAIR] < 0, _describe(board, n, seed, fail)
    extra = counts[len(PAIRS)]
    report_line(
        f"movegen agreement {board} {n}p: {games} games, {extra[X_STATES]} states, "
        f"{extra[X_CHECKS]} checks, {dt:.1f}s"
    )
    table = {PAIRS[i]: counts[i, :2].tolist() for i in range(len(PAIRS))}
    both = BOTH + ((ANY_RINGS,) if n > 2 else ())
    unseen = [f"{PAIRS[i]}={v}" for i in both for j, v in enumerate("FT") if counts[i, j] == 0]
    unseen += [PAIRS[i] for i in CHECKED if counts[i, :2].sum() == 0]
    assert not unseen, f"{board} {n}p never saw {unseen}; [False, True] counts: {table}"
    # every phase but game_over was visited, and the skip test's looseness was used
    phases = extra[X_PHASE : X_PHASE + len(PHASE_NAMES) - 1]
    assert (phases > 0).all(), dict(zip(PHASE_NAMES, phases.tolist()))
    assert extra[X_LOOSER] > 0
