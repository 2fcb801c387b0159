"""Numba side of the neural players: many games advanced together, each until
it needs the network.

``advance`` walks every running game slot: it plays bookkeeping steps and the
moves of non-neural seats (``select_move``, as the plain game loop does), and
stops a game where a neural seat needs a position evaluated, writing that
position's input (our training tensors: frame + history frames + globals) as
the next row of the request batch. The Python driver runs the network on the
batch and calls ``advance`` again, which reads each game's result row and goes
on. Only the network call leaves Numba.

A neural seat with ``I_VISITS`` = 0 plays from the policy alone: the priors are
a softmax of the logits at the legal moves' policy indices, the move is
sampled from priors^(1/T) during the first ``I_TEMP_STEPS`` engine steps when
``F_TEMPERATURE`` > 0, else the most probable (first on ties); its policy
target is one-hot on the move played. With visits it runs PUCT (AlphaZero):

* the root is evaluated first (priors, optionally mixed with Dirichlet noise
  ``F_DIR_EPS`` / ``F_DIR_ALPHA``, and one visit of its value), then
  ``I_VISITS`` simulations each walk down to a leaf, evaluate it with the
  network (a finished game scores 1 for the winner, 0 for the others, 1/n
  each on a draw), expand it (one child per legal move, in legal-move order,
  prior from the network) and back its value vector up the path;
* the player to move at a node picks the child maximising
  ``Q + cpuct * P * sqrt(N_node) / (1 + N_child)``, Q from its own value
  sums, an unvisited child's Q = the node's own mean value for that player;
  ties go to the earlier legal move;
* the network's value v in [-1, 1] for the mover becomes (v + 1) / 2 for the
  mover and the rest shared equally by the others; a per-seat value head
  gives (v_p + 1) / 2 for every seat p;
* the policy target is the root's visit distribution; the move played is
  sampled from visits^(1/T) early (as above), else the most visited.

Moves without a policy index (hex swap_sides) get the lowest logit among the
legal moves. Several moves may share an index (hex choices, square line
options): each gets that index's logit. A leaf whose children do not fit the
tree (``I_MAX_NODES`` nodes, at least 8,193: any root fits) is evaluated but
not expanded.

Randomness: a game reseeds Numba's generator from (its seed, engine step,
purpose) right before every random draw it makes, so a game's moves do not
depend on which other games share the batch or in what order they run.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from ..engine.layout import CUR, F_TYPE, MF, MOVE_COUNT, NP, PSLOTS, ST_ACTIVE, STATUS
from ..engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into
from ..players.basic import one_hot
from ..players.mcts import no_memo, terminal_values
from ..players.params import (
    F_CPUCT,
    F_DIR_ALPHA,
    F_DIR_EPS,
    F_TEMPERATURE,
    I_TEMP_STEPS,
    I_VISITS,
    K_NEURAL,
)
from ..players.select import select_move
from ..selfplay.game import is_bookkeeping
from ..tensors.encode import encode_frame
from ..tensors.policy import policy_index

# slot status
READY = 0  # running; its pending result (if any) is in the batch
DONE = 1  # game over: read its record, then refill or leave empty
FULL = 2  # its record buffers need to grow before the next decision
EMPTY = 3  # no game

# slot phase
IDLE = 0
WAIT_POLICY = 1  # policy-only decision waiting for its position's result
WAIT_LEAF = 2  # PUCT waiting for a leaf (node 0 = the root) result
SEARCH = 3  # PUCT running simulations

# reseed purposes
R_SELECT = 0
R_SAMPLE = 1
R_NOISE = 2

Games = namedtuple(
    "Games",
    [
        "states",  # (G, S) int32: the state of each game
        "seed",  # (G,) int64
        "status",  # (G,) int32: READY / DONE / FULL / EMPTY
        "phase",  # (G,) int32
        "kinds",  # (G, PSLOTS) int32: per seat, as in play_game
        "ip",  # (G, PSLOTS, NI) int64
        "fp",  # (G, PSLOTS, NF) float64
        "w",  # (G, PSLOTS, NW) float64
        "choices",  # (G, cap) int32: chosen legal-move index per engine step
        "decision",  # (G, cap) bool
        "nsteps",  # (G,) int64
        "poff",  # (G, cap + 1) int64: policy CSR offsets per decision
        "ndec",  # (G,) int64
        "pidx",  # (G, pcap) int32: policy legal-move indices
        "pprob",  # (G, pcap) float32
        "npol",  # (G,) int64
        "ring",  # (G, hl, C, H, W) float32: earlier frames, newest at head
        "nring",  # (G,) int64
        "head",  # (G,) int64
    ],
)

Trees = namedtuple(
    "Trees",
    [
        "first",  # (G, cap) int32: first child, -1 = not expanded
        "nch",  # (G, cap) int32
        "mv",  # (G, cap, MF) int32: the move leading to the node
        "mi",  # (G, cap) int32: its index in the parent's legal moves
        "nvis",  # (G, cap) float64
        "wsum",  # (G, cap, PSLOTS) float64: value sums per player
        "prior",  # (G, cap) float64
        "used",  # (G,) int64: nodes in use
        "sims",  # (G,) int64: simulations started this decision
        "path",  # (G, D) int32: nodes from the root to the pending leaf
        "depth",  # (G,) int64: the pending leaf's depth
        "leaf",  # (G,) int64: the pending leaf's node
        "leaf_state",  # (G, S) int32
        "pst",  # (G, max(hl, 1), S) int32: states on the path, by depth % hl
    ],
)

Enc = namedtuple("Enc", ["kind", "row", "col", "nb", "pc", "gx", "gy"])

Batch = namedtuple(
    "Batch",
    [
        "feats",  # (G, C * (hl + 1), H, W) float32: request rows
        "glob",  # (G, 20) float32
        "game",  # (G,) int32: slot of each request row
        "row",  # (G,) int32: request row of each slot (its result row next call)
        "pol",  # (G, P) float32: policy logits of each request row (filled by Python)
        "val",  # (G, VW) float32: value of each request row
    ],
)

Scratch = namedtuple(
    "Scratch",
    [
        "out",  # (MAX_MOVES_BUFFER, MF) int32: legal moves
        "pol",  # (MAX_MOVES_BUFFER,) float64: a decision's policy target
        "pr",  # (MAX_MOVES_BUFFER,) float64: priors
        "wt",  # (MAX_MOVES_BUFFER,) float64: sampling weights
        "val",  # (PSLOTS,) float64: a value vector
        "cur",  # (C, H, W) float32: one encoded frame
        "gv",  # (NUM_GLOBALS,) float32: its globals
        "gtmp",  # (NUM_GLOBALS,) float32: a history frame's globals (discarded)
        "memo",  # mcts.Memo with no room: other seats' MCTS starts fresh trees
    ],
)


@njit(cache=True)
def _mix(seed, step, purpose):
    """A 31-bit seed from (game seed, engine step, purpose) (splitmix64 finaliser)."""
    x = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
    x += np.uint64(step) * np.uint64(0xBF58476D1CE4E5B9) + np.uint64(purpose)
    x ^= x >> np.uint64(31)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(29)
    return np.int64(x & np.uint64(0x7FFFFFFF))


@njit(cache=True)
def priors_from_logits(geo, s, moves, k, logits, enc, pr):
    """pr[:k] = softmax over the legal moves of their logits (float64)."""
    mn = np.inf
    for i in range(k):
        idx = policy_index(geo, s, moves[i], enc.pc, enc.gx, enc.gy)
        if idx >= 0:
            pr[i] = logits[idx]
            if pr[i] < mn:
                mn = pr[i]
        else:
            pr[i] = np.nan
    if mn == np.inf:
        mn = 0.0
    mx = -np.inf
    for i in range(k):
        if np.isnan(pr[i]):
            pr[i] = mn
        if pr[i] > mx:
            mx = pr[i]
    tot = 0.0
    for i in range(k):
        pr[i] = np.exp(pr[i] - mx)
        tot += pr[i]
    for i in range(k):
        pr[i] = pr[i] / tot


@njit(cache=True)
def values_from(vrow, np_, mover, out):
    """out[1..np_] in [0, 1] from the value head's row (see the module doc)."""
    if vrow.shape[0] == 1:
        vm = min(1.0, max(0.0, (np.float64(vrow[0]) + 1.0) / 2.0))
        rest = (1.0 - vm) / (np_ - 1)
        for p in range(1, np_ + 1):
            out[p] = vm if p == mover else rest
    else:
        for p in range(1, np_ + 1):
            out[p] = min(1.0, max(0.0, (np.float64(vrow[p - 1]) + 1.0) / 2.0))


@njit(cache=True)
def _argmax_first(x, k):
    b = 0
    for i in range(1, k):
        if x[i] > x[b]:
            b = i
    return b


@njit(cache=True)
def _sample_pow(x, k, temperature, wt):
    """An index drawn from x^(1/temperature) (x >= 0, not all 0)."""
    acc = 0.0
    for i in range(k):
        wt[i] = x[i] ** (1.0 / temperature) if x[i] > 0.0 else 0.0
        acc += wt[i]
    r = np.random.random() * acc
    last = 0
    for i in range(k):
        if wt[i] > 0.0:
            last = i
            r -= wt[i]
            if r < 0.0:
                return i
    return last


@njit(cache=True)
def _choose(g, games, s, x, k, wt):
    """The move played from weights x: drawn from x^(1/T) while the mover's
    temperature applies (the first I_TEMP_STEPS moves), else the first best."""
    me = s[CUR]
    temp = games.fp[g, me, F_TEMPERATURE]
    if temp > 0.0 and s[MOVE_COUNT] < games.ip[g, me, I_TEMP_STEPS]:
        np.random.seed(_mix(games.seed[g], games.nsteps[g], R_SAMPLE))
        return _sample_pow(x, k, temp, wt)
    return _argmax_first(x, k)


@njit(cache=True)
def _new_scratch(games, batch):
    C = batch.feats.shape[1] // (games.ring.shape[1] + 1)
    return Scratch(
        np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32),
        np.empty(MAX_MOVES_BUFFER, dtype=np.float64),
        np.empty(MAX_MOVES_BUFFER, dtype=np.float64),
        np.empty(MAX_MOVES_BUFFER, dtype=np.float64),
        np.zeros(PSLOTS),
        np.empty((C, batch.feats.shape[2], batch.feats.shape[3]), dtype=np.float32),
        np.empty(batch.glob.shape[1], dtype=np.float32),
        np.empty(batch.glob.shape[1], dtype=np.float32),
        no_memo(),
    )


@njit(cache=True)
def _encode_request(g, x, d, r, games, trees, enc, batch, scr):
    """Request row r = the network input for state x at depth d below the
    game's current state (its history: the path's states, then the game's)."""
    cur, gv, gtmp = scr.cur, scr.gv, scr.gtmp
    C = cur.shape[0]
    hl = games.ring.shape[1]
    encode_frame(x, enc.kind, enc.row, enc.col, enc.nb, cur, gv)
    batch.feats[r, :C] = cur
    batch.glob[r] = gv
    for a in range(hl):
        lo = C * (a + 1)
        if a < d:
            encode_frame(
                trees.pst[g, (d - 1 - a) % hl], enc.kind, enc.row, enc.col, enc.nb, cur, gtmp
            )
            batch.feats[r, lo : lo + C] = cur
        else:
            a2 = a - d
            if a2 < games.nring[g]:
                batch.feats[r, lo : lo + C] = games.ring[g, (games.head[g] - a2) % hl]
            else:
                batch.feats[r, lo : lo + C] = 0.0
    batch.game[r] = g
    batch.row[g] = r


@njit(cache=True)
def _record(g, games, k, i, is_decision, pol):
    t = games.nsteps[g]
    games.choices[g, t] = i
    games.decision[g, t] = is_decision
    games.nsteps[g] = t + 1
    if is_decision:
        n = games.npol[g]
        for j in range(k):
            if pol[j] > 0.0:
                games.pidx[g, n] = j
                games.pprob[g, n] = pol[j]
                n += 1
        games.npol[g] = n
        games.ndec[g] += 1
        games.poff[g, games.ndec[g]] = n


@njit(cache=True)
def _play(geo, g, games, enc, mv, scr):
    """Apply mv to game g; the state before it enters the history ring."""
    s = games.states[g]
    hl = games.ring.shape[1]
    if hl > 0:
        cur = scr.cur
        encode_frame(s, enc.kind, enc.row, enc.col, enc.nb, cur, scr.gv)
        h = (games.head[g] + 1) % hl
        games.ring[g, h] = cur
        games.head[g] = h
        if games.nring[g] < hl:
            games.nring[g] += 1
    games.states[g] = apply_move(geo, s, mv)


@njit(cache=True)
def _backup(g, trees, d, val):
    for j in range(d + 1):
        nd = trees.path[g, j]
        trees.nvis[g, nd] += 1.0
        for p in range(1, PSLOTS):
            trees.wsum[g, nd, p] += val[p]


@njit(cache=True)
def _select(g, trees, node, p, cpuct):
    a = trees.first[g, node]
    b = a + trees.nch[g, node]
    n = trees.nvis[g, node]
    sq = np.sqrt(n)
    fpu = trees.wsum[g, node, p] / n if n > 0.0 else 0.5
    best = a
    bestv = -np.inf
    for c in range(a, b):
        nc = trees.nvis[g, c]
        q = trees.wsum[g, c, p] / nc if nc > 0.0 else fpu
        u = q + cpuct * trees.prior[g, c] * sq / (1.0 + nc)
        if u > bestv:
            bestv = u
            best = c
    return best


@njit(cache=True)
def _consume_leaf(geo, g, games, trees, enc, batch, scr):
    """Expand the pending leaf with the network's priors, back its value up."""
    out, pr, val = scr.out, scr.pr, scr.val
    x = trees.leaf_state[g]
    node = trees.leaf[g]
    r = batch.row[g]
    kk = legal_moves_into(geo, x, out)
    if kk == 0:
        raise RuntimeError("active state without a legal move")
    me = games.states[g, CUR]
    u = trees.used[g]
    if node == 0 and u + kk > trees.first.shape[1]:
        raise RuntimeError("the search tree cannot hold the root's moves")
    if u + kk <= trees.first.shape[1]:
        priors_from_logits(geo, x, out, kk, batch.pol[r], enc, pr)
        eps = games.fp[g, me, F_DIR_EPS]
        if node == 0 and eps > 0.0:
            np.random.seed(_mix(games.seed[g], games.nsteps[g], R_NOISE))
            alpha = games.fp[g, me, F_DIR_ALPHA]
            tot = 0.0
            noise = np.empty(kk)
            for i in range(kk):
                noise[i] = np.random.gamma(alpha, 1.0)
                tot += noise[i]
            if tot > 0.0:
                for i in range(kk):
                    pr[i] = (1.0 - eps) * pr[i] + eps * noise[i] / tot
        trees.first[g, node] = u
        trees.nch[g, node] = kk
        for i in range(kk):
            c = u + i
            trees.first[g, c] = -1
            trees.nch[g, c] = 0
            trees.mv[g, c] = out[i]
            trees.mi[g, c] = i
            trees.nvis[g, c] = 0.0
            trees.wsum[g, c] = 0.0
            trees.prior[g, c] = pr[i]
        trees.used[g] = u + kk
    values_from(batch.val[r], x[NP], x[CUR], val)
    _backup(g, trees, trees.depth[g], val)


@njit(cache=True)
def _simulate(geo, g, games, trees, enc, batch, nreq, scr):
    """Run simulations until one needs the network (request row nreq written,
    returns True) or the decision's visits are spent (False)."""
    val = scr.val
    me = games.states[g, CUR]
    visits = games.ip[g, me, I_VISITS]
    cpuct = games.fp[g, me, F_CPUCT]
    hl = games.ring.shape[1]
    while trees.sims[g] < visits:
        x = games.states[g]
        node = 0
        d = 0
        trees.path[g, 0] = 0
        while trees.first[g, node] >= 0 and x[STATUS] == ST_ACTIVE:
            c = _select(g, trees, node, x[CUR], cpuct)
            if hl > 0:
                trees.pst[g, d % hl] = x
            x = apply_move(geo, x, trees.mv[g, c])
            node = c
            d += 1
            trees.path[g, d] = node
        trees.sims[g] += 1
        trees.depth[g] = d
        if x[STATUS] != ST_ACTIVE:
            terminal_values(x, val)
            _backup(g, trees, d, val)
            continue
        trees.leaf[g] = node
        trees.leaf_state[g] = x
        _encode_request(g, x, d, nreq, games, trees, enc, batch, scr)
        return True
    return False


@njit(cache=True)
def _finish_search(geo, g, games, trees, enc, scr):
    """Play the searched move: policy target = root visit distribution."""
    out, pol = scr.out, scr.pol
    s = games.states[g]
    k = legal_moves_into(geo, s, out)
    for i in range(k):
        pol[i] = 0.0
    a = trees.first[g, 0]
    tot = 0.0
    for c in range(a, a + trees.nch[g, 0]):
        tot += trees.nvis[g, c]
    for c in range(a, a + trees.nch[g, 0]):
        pol[trees.mi[g, c]] = trees.nvis[g, c] / tot
    i = _choose(g, games, s, pol, k, scr.wt)
    _record(g, games, k, i, True, pol)
    _play(geo, g, games, enc, out[i], scr)


@njit(cache=True)
def _play_from_policy(geo, g, games, enc, batch, scr):
    """A policy-only decision: play the move chosen from the network's priors
    (request row batch.row[g]); its policy target is one-hot."""
    out, pr, pol = scr.out, scr.pr, scr.pol
    s = games.states[g]
    k = legal_moves_into(geo, s, out)
    priors_from_logits(geo, s, out, k, batch.pol[batch.row[g]], enc, pr)
    i = _choose(g, games, s, pr, k, scr.wt)
    one_hot(pol, k, i)
    _record(g, games, k, i, True, pol)
    _play(geo, g, games, enc, out[i], scr)


@njit(cache=True)
def _new_search(g, trees, s):
    """An empty tree for a PUCT decision at s, its root the pending leaf."""
    trees.used[g] = 1
    trees.sims[g] = 0
    trees.first[g, 0] = -1
    trees.nch[g, 0] = 0
    trees.nvis[g, 0] = 0.0
    trees.wsum[g, 0] = 0.0
    trees.path[g, 0] = 0
    trees.depth[g] = 0
    trees.leaf[g] = 0
    trees.leaf_state[g] = s


@njit(cache=True)
def _run_game(geo, g, ph, nreq, games, trees, enc, batch, max_moves, scr):
    """Play game g on from phase ph (IDLE or SEARCH) until it needs the
    network (its request is row nreq), ends (DONE) or its record buffers are
    full (FULL). Returns (its phase, the request rows now used)."""
    out, pol = scr.out, scr.pol
    while True:
        if ph == SEARCH:
            if _simulate(geo, g, games, trees, enc, batch, nreq, scr):
                return WAIT_LEAF, nreq + 1
            _finish_search(geo, g, games, trees, enc, scr)
            ph = IDLE
        s = games.states[g]
        if s[STATUS] != ST_ACTIVE or s[MOVE_COUNT] >= max_moves:
            games.status[g] = DONE
            return ph, nreq
        k = legal_moves_into(geo, s, out)
        if k == 0:
            raise RuntimeError("active state without a legal move")
        if games.nsteps[g] >= games.choices.shape[1] or (games.npol[g] + k > games.pidx.shape[1]):
            games.status[g] = FULL
            return ph, nreq
        if k == 1 and is_bookkeeping(out[0, F_TYPE]):
            _record(g, games, k, 0, False, pol)
            _play(geo, g, games, enc, out[0], scr)
            continue
        p = s[CUR]
        kind = games.kinds[g, p]
        if kind != K_NEURAL or k == 1:
            np.random.seed(_mix(games.seed[g], games.nsteps[g], R_SELECT))
            i = select_move(
                geo, s, out, k, kind, games.ip[g, p], games.fp[g, p], games.w[g, p], pol, scr.memo
            )
            _record(g, games, k, i, True, pol)
            _play(geo, g, games, enc, out[i], scr)
            continue
        if games.ip[g, p, I_VISITS] == 0:
            ph = WAIT_POLICY
        else:
            _new_search(g, trees, s)  # PUCT: evaluate the root first
            ph = WAIT_LEAF
        _encode_request(g, s, 0, nreq, games, trees, enc, batch, scr)
        return ph, nreq + 1


@njit(cache=True)
def advance(geo, games, trees, enc, batch, max_moves):
    """Advance every READY slot until it needs the network, ends (DONE) or its
    record buffers are full (FULL). Returns the number of request rows."""
    scr = _new_scratch(games, batch)
    nreq = 0
    for g in range(games.states.shape[0]):
        if games.status[g] != READY:
            continue
        ph = games.phase[g]
        if ph == WAIT_POLICY:
            _play_from_policy(geo, g, games, enc, batch, scr)
            ph = IDLE
        elif ph == WAIT_LEAF:
            _consume_leaf(geo, g, games, trees, enc, batch, scr)
            ph = SEARCH
        batch.row[g] = -1
        ph, nreq = _run_game(geo, g, ph, nreq, games, trees, enc, batch, max_moves, scr)
        games.phase[g] = ph
    return nreq
