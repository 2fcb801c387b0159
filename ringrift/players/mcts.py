"""Jitted MCTS: UCT, or PUCT with heuristic priors, in a preallocated flat tree.

Every node keeps a value sum per player, and the player to move at a node
picks the child that is best for itself, so the same tree serves 2-4 players
and turns of several steps. A simulation walks down from the root by
selection, expands the leaf it reaches (one child per legal move) and scores
it, then backs the value vector up the path. Finished games score 1 for the
winner and 0 for the others (1/NP each when nobody won).

With priors (PUCT), expanding a node scores every child statically: the
priors are a softmax of the mover's value after each move, each child keeps
its static per-player values (sigmoid of the evaluation difference), and the
leaf is scored by its best child for the mover (a one-ply backup). Children
are stored best prior first. Without priors (UCT), children are uniform and
the leaf is scored by its static value.

Progressive widening (``widen`` > 0): a node with n visits only considers its
best max(1, widen * n) children by prior and visits each of them once before
comparing them. One-step values are poor for placements (a placement is only
as good as the move that must follow it), and a visited child's value (after
its follow-up) is not comparable with an unvisited one's static value, so
every candidate gets that follow-up first. ``widen`` = 0 is plain PUCT/UCT.

Optional rollouts (random or greedy, bounded length) run from the leaf before
it is scored. Memory is bounded: the tree holds at most ``max_nodes`` nodes;
a leaf whose children would not fit is scored without being expanded.

Tree reuse (``I_REUSE``): a search's tree outlives it in the game's Memo.
When the same seat searches next, the node that tree holds for the moves
played since (every seat's, bookkeeping included) becomes the root, with its
subtree, visits and values, and simulations only top the root up to
``I_VISITS`` visits. Most decisions follow one of the seat's own in the same
turn (a placement, then its movement), whose subtree the last search
explored. The reused nodes keep the priors and static values scored with the
weight noise of the decision that grew them.

The policy target is the root visit distribution, without the first visit of
each child when widening (that visit is exploration by construction). The
move played is the most visited one or, during the first I_TEMP_STEPS engine
steps of a game, a sample from visits^(1/T) when a temperature T is set.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from ..engine.jit import copy_into, kernel
from ..engine.layout import (
    CUR,
    F_PLAYER,
    F_TO,
    MF,
    MOVE_COUNT,
    NP,
    PSLOTS,
    ST_ACTIVE,
    STATUS,
    WINNER,
)
from ..engine.rules import MAX_MOVES_BUFFER, apply_in_place, legal_moves_into
from .basic import greedy_index
from .evaluate import player_scores, relative_value
from .params import (
    F_CPUCT,
    F_PRIOR_TEMP,
    F_TEMPERATURE,
    F_VALUE_SCALE,
    F_WIDEN,
    I_MAX_NODES,
    I_PRIORS,
    I_REUSE,
    I_ROLLOUT_KIND,
    I_ROLLOUT_LEN,
    I_TEMP_STEPS,
    I_VISITS,
    K_MCTS,
    ROLLOUT_HEURISTIC,
    WIN_SCORE,
)
from .scan import group_alloc, place_group, scan_alloc, scan_fill, scan_scores, worth_scanning


@kernel
def terminal_values(s, out):
    """out[p] for a finished game: 1 for the winner, 0 for the others; 1/NP
    each when nobody won."""
    np_ = s[NP]
    wn = s[WINNER]
    for p in range(1, np_ + 1):
        if wn == 0:
            out[p] = 1.0 / np_
        else:
            out[p] = 1.0 if p == wn else 0.0


@kernel
def leaf_values(geo, s, w, scale, sc, out):
    """out[p] for p in 1..NP: the value of s for p in [0, 1]."""
    if s[STATUS] == ST_ACTIVE:
        player_scores(geo, s, w, sc)
    leaf_values_from(s, sc, scale, out)


@kernel
def leaf_values_from(s, sc, scale, out):
    """As leaf_values, with the player scores of s already in sc."""
    if s[STATUS] != ST_ACTIVE:
        terminal_values(s, out)
        return
    active_values(sc, s[NP], scale, out)


@kernel
def active_values(sc, np_, scale, out):
    """out[p] for p in 1..np_: the value in [0, 1] of a game going on whose
    player scores are sc."""
    for p in range(1, np_ + 1):
        x = relative_value(sc, np_, p) / scale
        if x > 30.0:
            out[p] = 1.0
        elif x < -30.0:
            out[p] = 0.0
        else:
            out[p] = 1.0 / (1.0 + np.exp(-x))


@kernel
def rollout(geo, s, w, length, kind, buf, sc, vals):
    """Plays up to length moves on s, in place."""
    for _ in range(length):
        if s[STATUS] != ST_ACTIVE:
            break
        k = legal_moves_into(geo, s, buf)
        if k == 1:
            i = 0
        elif kind == ROLLOUT_HEURISTIC:
            i = greedy_index(geo, s, buf, k, w, s[CUR], sc, vals)
        else:
            i = np.random.randint(k)
        apply_in_place(geo, s, buf[i])


# The tree lives in flat arrays indexed by node (node 0 = the root); a node's
# children are the nodes first[node] .. first[node] + nch[node] - 1.
Tree = namedtuple(
    "Tree",
    [
        "first",  # int32: first child, -1 = not expanded
        "nch",  # int32: number of children
        "mv",  # int32 (cap, MF): the move leading to the node
        "mi",  # int32: that move's index in its parent's move list
        "nvis",  # float64: visits
        "wsum",  # float64 (cap, PSLOTS): value sum per player
        "prior",  # float64: prior probability
        "sv",  # float64 (cap, PSLOTS): static value per player (priors only)
    ],
)


@njit(cache=True)
def _new_tree(cap):
    return Tree(
        np.empty(cap, dtype=np.int32),
        np.empty(cap, dtype=np.int32),
        np.empty((cap, MF), dtype=np.int32),
        np.empty(cap, dtype=np.int32),
        np.empty(cap, dtype=np.float64),
        np.empty((cap, PSLOTS), dtype=np.float64),
        np.empty(cap, dtype=np.float64),
        np.empty((cap, PSLOTS), dtype=np.float64),
    )


# What one search reads besides the tree: its settings (from the player's
# parameter arrays) and its scratch arrays, allocated once per decision.
Search = namedtuple(
    "Search",
    [
        "use_priors",  # bool: PUCT with heuristic priors (else UCT)
        "cpuct",  # float64: exploration constant
        "widen",  # float64: progressive widening (0 = off)
        "ptemp",  # float64: softmax temperature of the priors (> 0)
        "scale",  # float64: leaf value = sigmoid(score difference / scale) (> 0)
        "rlen",  # int64: rollout steps after the leaf (0 = none)
        "rkind",  # int64: ROLLOUT_RANDOM / ROLLOUT_HEURISTIC
        "w",  # float64 (NW,): heuristic weights
    ],
)
Scratch = namedtuple(
    "Scratch",
    [
        "buf",  # int32 (MAX_MOVES_BUFFER, MF): a leaf's legal moves
        "tmp",  # float64 (1 + PSLOTS, MAX_MOVES_BUFFER): per-child values
        "sc",  # float64 (PSLOTS,): player scores
        "val",  # float64 (PSLOTS,): a value vector in [0, 1]
        "path",  # int32: the nodes from the root to the leaf
        "sn",  # scan.Scan: the recorded board pass of the state expanded
        "gr",  # scan.Group: scan_scores' scratch
        "child",  # int32 state: a child of the state expanded
        "leaf",  # int32 state: the leaf a simulation reached
        "order",  # int64 (2 * MAX_MOVES_BUFFER,): children by prior, and sort scratch
    ],
)


@njit(cache=True)
def _search_settings(iparams, fparams, w):
    """The Search of a player's parameter arrays (non-positive prior
    temperature and value scale mean 1)."""
    ptemp = fparams[F_PRIOR_TEMP]
    if ptemp <= 0.0:
        ptemp = 1.0
    scale = fparams[F_VALUE_SCALE]
    if scale <= 0.0:
        scale = 1.0
    return Search(
        iparams[I_PRIORS] != 0,
        fparams[F_CPUCT],
        fparams[F_WIDEN],
        ptemp,
        scale,
        iparams[I_ROLLOUT_LEN],
        iparams[I_ROLLOUT_KIND],
        w,
    )


@njit(cache=True)
def _new_scratch(s):
    return Scratch(
        np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32),
        np.empty((1 + PSLOTS, MAX_MOVES_BUFFER), dtype=np.float64),
        np.zeros(PSLOTS),
        np.zeros(PSLOTS),
        np.empty(4096, dtype=np.int32),
        scan_alloc(s),
        group_alloc(s),
        np.empty_like(s),
        np.empty_like(s),
        np.empty(2 * MAX_MOVES_BUFFER, dtype=np.int64),
    )


@kernel
def _static_children(geo, s, moves, k, mover, srch, scr):
    """Score every child of s statically: tmp[0, i] = the mover's value after
    moves[i] (+/- WIN_SCORE when it ends the game), tmp[1 + p, i] = the
    child's value for player p in [0, 1]. Returns the largest tmp[0, i].
    A cell's placements are scored together by the one-ply scan (the same
    scores bit for bit, without copying the state or rescanning the board):
    most children of a placement node are placements, and scoring children
    is most of a search."""
    raw = scr.tmp[0, :k]
    vv = scr.tmp[1 : 1 + PSLOTS, :k]
    sc = scr.sc
    val = scr.val
    sn = scr.sn
    gr = scr.gr
    np_ = s[NP]
    scanning = worth_scanning(s, moves, k)
    if scanning:
        scan_fill(geo, s, srch.w, sn)
    mx = -np.inf
    i = 0
    while i < k:
        g = place_group(s, moves, i, k, gr.rs) if scanning else 0
        if g > 0 and scan_scores(geo, s, sn, gr, moves[i, F_TO], moves[i, F_PLAYER], g, srch.w):
            for j in range(g):
                v = relative_value(gr.sc[j], np_, mover)
                active_values(gr.sc[j], np_, srch.scale, val)
                for p in range(PSLOTS):
                    vv[p, i + j] = val[p]
                raw[i + j] = v
                if v > mx:
                    mx = v
            i += g
            continue
        for j in range(i, i + max(g, 1)):
            ch = scr.child
            copy_into(ch, s)
            apply_in_place(geo, ch, moves[j])
            if ch[STATUS] != ST_ACTIVE:
                wn = ch[WINNER]
                v = WIN_SCORE if wn == mover else (-WIN_SCORE if wn != 0 else 0.0)
            else:
                player_scores(geo, ch, srch.w, sc)
                v = relative_value(sc, ch[NP], mover)
            leaf_values_from(ch, sc, srch.scale, val)
            for p in range(PSLOTS):
                vv[p, j] = val[p]
            raw[j] = v
            if v > mx:
                mx = v
        i += max(g, 1)
    return mx


@kernel
def _by_decreasing(x, k, order):
    """order[:k] = the indices of x[:k] by decreasing value, ties in index
    order: np.argsort(-x[:k], kind="mergesort"), without allocating (a
    bottom-up merge sort; order[k:2k] is scratch)."""
    for i in range(k):
        order[i] = i
    src = 0  # the sorted runs are in order[src:src + k]
    width = 1
    while width < k:
        dst = k - src
        for lo in range(0, k, 2 * width):
            mid = min(lo + width, k)
            hi = min(lo + 2 * width, k)
            i = lo
            j = mid
            o = lo
            while i < mid and j < hi:
                if x[order[src + j]] > x[order[src + i]]:
                    order[dst + o] = order[src + j]
                    j += 1
                else:
                    order[dst + o] = order[src + i]
                    i += 1
                o += 1
            while i < mid:
                order[dst + o] = order[src + i]
                i += 1
                o += 1
            while j < hi:
                order[dst + o] = order[src + j]
                j += 1
                o += 1
        src = dst
        width *= 2
    if src != 0:
        for i in range(k):
            order[i] = order[k + i]


@kernel
def _expand(geo, s, moves, k, tree, node, at, srch, scr):
    """Children at[0:k] of node for moves[:k], best prior first (mi = index
    into moves). With priors, returns the slot of the mover's best child."""
    first, nch, mv, mi, nvis, wsum, prior, sv = tree
    first[node] = at
    nch[node] = k
    for i in range(k):
        c = at + i
        nvis[c] = 0.0
        first[c] = -1
        nch[c] = 0
        for p in range(PSLOTS):
            wsum[c, p] = 0.0
    if not srch.use_priors:
        for i in range(k):
            copy_into(mv[at + i], moves[i])
            mi[at + i] = i
            prior[at + i] = 1.0 / k
        return -1
    # priors: a softmax of the mover's static value after each move
    mx = _static_children(geo, s, moves, k, s[CUR], srch, scr)
    raw = scr.tmp[0, :k]
    vv = scr.tmp[1 : 1 + PSLOTS, :k]
    tot = 0.0
    for i in range(k):
        raw[i] = np.exp((raw[i] - mx) / srch.ptemp)
        tot += raw[i]
    order = scr.order
    _by_decreasing(raw, k, order)
    for j in range(k):
        i = order[j]
        c = at + j
        copy_into(mv[c], moves[i])
        mi[c] = i
        prior[c] = raw[i] / tot
        for p in range(PSLOTS):
            sv[c, p] = vv[p, i]
    return at


@njit(cache=True, inline="always")
def _select(node, p, tree, srch):
    """The child of node that player p (to move there) explores next."""
    first, nch, nvis = tree.first, tree.nch, tree.nvis
    wsum, prior, sv = tree.wsum, tree.prior, tree.sv
    use_priors, cpuct, widen = srch.use_priors, srch.cpuct, srch.widen
    a = first[node]
    b = a + nch[node]
    if b - a == 1:
        return a
    n = nvis[node]
    if widen > 0.0:
        m = int(widen * n) + 1
        if m < b - a:
            b = a + m
        for c in range(a, b):  # every candidate gets its first visit in turn
            if nvis[c] == 0.0:
                return c
    best = a
    bestv = -np.inf
    sqn = np.sqrt(n + 1.0)
    lnn = np.log(n + 1.0)
    fpu = wsum[node, p] / n if n > 0 else 0.5
    for c in range(a, b):
        nc = nvis[c]
        if nc > 0:
            q = wsum[c, p] / nc
        elif use_priors:
            q = sv[c, p]
        else:
            q = fpu
        if use_priors:
            u = q + cpuct * prior[c] * sqn / (1.0 + nc)
        elif nc == 0:
            u = 1e9 + np.random.random()
        else:
            u = q + cpuct * np.sqrt(lnn / nc)
        if u > bestv:
            bestv = u
            best = c
    return best


@njit(cache=True, inline="always")
def _descend(geo, s0, tree, srch, path, s):
    """Selection: walk from the root to a leaf (unexpanded or finished),
    playing the way on s (a copy of s0); (its node, its depth), with the
    nodes on the way in path[:depth+1]."""
    node = 0
    copy_into(s, s0)
    depth = 0
    path[0] = 0
    while tree.first[node] >= 0 and s[STATUS] == ST_ACTIVE:
        c = _select(node, s[CUR], tree, srch)
        apply_in_place(geo, s, tree.mv[c])
        node = c
        if depth + 1 < path.shape[0]:
            depth += 1
            path[depth] = node
    return node, depth


@njit(cache=True, inline="always")
def _one_ply_value(tree, bc, kk, mover, val):
    """val = the static values of the mover's best child among bc .. bc+kk-1."""
    sv = tree.sv
    for c in range(bc, bc + kk):
        if sv[c, mover] > sv[bc, mover]:
            bc = c
    for p in range(1, PSLOTS):
        val[p] = sv[bc, p]


@njit(cache=True, inline="always")
def _backup(tree, path, depth, val):
    for j in range(depth + 1):
        nd = path[j]
        tree.nvis[nd] += 1.0
        for p in range(1, PSLOTS):
            tree.wsum[nd, p] += val[p]


@kernel
def _root_policy(tree, k, widen, cnt, pol):
    """pol[:k] = the root's visit distribution over the moves as given (root
    child c holds moves[mi[c]]), without each child's first visit when
    widening; False if no child was visited (pol all 0)."""
    tot = 0.0
    for c in range(1, 1 + k):
        cnt[tree.mi[c]] = tree.nvis[c]
        tot += tree.nvis[c]
    if widen > 0.0:
        extra = 0.0
        for i in range(k):
            if cnt[i] > 1.0:
                extra += cnt[i] - 1.0
        if extra > 0.0:
            tot = extra
            for i in range(k):
                cnt[i] = cnt[i] - 1.0 if cnt[i] > 1.0 else 0.0
    for i in range(k):
        pol[i] = 0.0
    if tot <= 0.0:
        return False
    for i in range(k):
        pol[i] = cnt[i] / tot
    return True


@kernel
def _sample(pol, k, temperature, wt):
    """A move index drawn from pol^(1/temperature)."""
    acc = 0.0
    for i in range(k):
        wt[i] = pol[i] ** (1.0 / temperature)
        acc += wt[i]
    r = np.random.random() * acc
    for i in range(k):
        r -= wt[i]
        if r < 0.0 and wt[i] > 0.0:
            return i
    for i in range(k - 1, -1, -1):
        if wt[i] > 0.0:
            return i
    return -1


@kernel
def _most_visited(tree, k, me):
    """The most visited root move; ties go to the higher value for me."""
    bi = tree.mi[1]
    bn = -1.0
    bq = -np.inf
    for c in range(1, 1 + k):
        n = tree.nvis[c]
        q = tree.wsum[c, me] / n if n > 0 else -1.0
        if n > bn or (n == bn and q > bq):
            bn = n
            bq = q
            bi = tree.mi[c]
    return bi


@kernel
def _simulate(geo, s0, tree, used, cap, srch, scr):
    """One simulation: descend to a leaf, expand it if its children fit
    (used + their number <= cap), roll out, score it and back the value up.
    Returns the nodes in use after it."""
    val = scr.val
    s = scr.leaf
    node, depth = _descend(geo, s0, tree, srch, scr.path, s)
    scored = False
    if s[STATUS] == ST_ACTIVE:
        kk = legal_moves_into(geo, s, scr.buf)
        if used + kk <= cap:
            bc = _expand(geo, s, scr.buf, kk, tree, node, used, srch, scr)
            used += kk
            if bc >= 0 and srch.rlen == 0:
                _one_ply_value(tree, bc, kk, s[CUR], val)
                scored = True
        if srch.rlen > 0:
            rollout(geo, s, srch.w, srch.rlen, srch.rkind, scr.buf, scr.sc, scr.tmp[0])
    if not scored:
        leaf_values(geo, s, srch.w, srch.scale, scr.sc, val)
    _backup(tree, scr.path, depth, val)
    return used


# ---- tree reuse ------------------------------------------------------------------------
# The steps the path can hold between two searches of the tree's seat; a
# longer gap (rare: a long chain capture by the others) starts a fresh tree.
PATH_CAP = 256
# Memo.meta: the buffer holding the last search's tree, the spare buffer, the
# seat that searched, and the steps played since (-1: no tree to follow).
M_TREE = 0
M_SPARE = 1
M_SEAT = 2
M_STEPS = 3
Memo = namedtuple(
    "Memo",
    # Tree's fields with a leading buffer axis (2, cap, ...): the last
    # search's tree and a spare (flat, not a Tree inside: Numba leaked a
    # nested tuple of arrays on select_move's paths that do not use it)
    list(Tree._fields)
    + [
        "meta",  # int64 (4,): M_TREE, M_SPARE, M_SEAT, M_STEPS
        "path",  # int32 (PATH_CAP,): the choices played since that search
        "srcof",  # int32 (cap,): reroot scratch: the old node of each new node
    ],
)


@njit(cache=True)
def new_memo(kinds, iparams, np_):
    """The Memo of one game: room for the last search's tree of an MCTS seat
    that reuses, of the largest such seat's capacity (no_memo when none
    does). One tree, not one per seat: another seat's search replaces it,
    so with several MCTS seats a seat reuses within its own turn only, and
    a worker holds two trees whatever the number of players."""
    cap = 1
    for p in range(1, np_ + 1):
        if kinds[p] == K_MCTS and iparams[p, I_REUSE] != 0:
            cap = max(cap, iparams[p, I_MAX_NODES])
    return _memo(cap)


@njit(cache=True)
def no_memo():
    """A Memo with no room: every search starts a fresh tree."""
    return _memo(1)


@njit(cache=True)
def _memo(cap):
    nb = 2 if cap > 1 else 1
    meta = np.zeros(4, dtype=np.int64)
    meta[M_SPARE] = nb - 1
    meta[M_STEPS] = -1
    return Memo(
        np.empty((nb, cap), dtype=np.int32),
        np.empty((nb, cap), dtype=np.int32),
        np.empty((nb, cap, MF), dtype=np.int32),
        np.empty((nb, cap), dtype=np.int32),
        np.empty((nb, cap), dtype=np.float64),
        np.empty((nb, cap, PSLOTS), dtype=np.float64),
        np.empty((nb, cap), dtype=np.float64),
        np.empty((nb, cap, PSLOTS), dtype=np.float64),
        meta,
        np.empty(PATH_CAP, dtype=np.int32),
        np.empty(cap, dtype=np.int32),
    )


@kernel
def memo_step(memo, choice):
    """Record a step played (its move's index in the legal list) on the path
    from the last search's root."""
    n = memo.meta[M_STEPS]
    if n >= 0:
        if n < PATH_CAP:
            memo.path[n] = choice
            memo.meta[M_STEPS] = n + 1
        else:
            memo.meta[M_STEPS] = -1


@njit(cache=True, inline="always")
def _buffer(memo, b):
    """Buffer b of the memo as a Tree."""
    return Tree(
        memo.first[b],
        memo.nch[b],
        memo.mv[b],
        memo.mi[b],
        memo.nvis[b],
        memo.wsum[b],
        memo.prior[b],
        memo.sv[b],
    )


@kernel
def _follow(tree, path, n):
    """The node reached from the root by the choices path[:n] (-1 when the
    tree stops before)."""
    node = 0
    for t in range(n):
        a = tree.first[node]
        if a < 0:
            return -1
        nxt = -1
        for c in range(a, a + tree.nch[node]):
            if tree.mi[c] == path[t]:
                nxt = c
                break
        if nxt < 0:
            return -1
        node = nxt
    return node


@kernel
def _copy_node(src, a, dst, b):
    copy_into(dst.mv[b], src.mv[a])
    dst.mi[b] = src.mi[a]
    dst.nvis[b] = src.nvis[a]
    dst.prior[b] = src.prior[a]
    for p in range(PSLOTS):
        dst.wsum[b, p] = src.wsum[a, p]
        dst.sv[b, p] = src.sv[a, p]


@kernel
def _reroot(src, node, dst, srcof):
    """dst := the subtree of src under node, node as the root (0), children
    blocks in breadth-first order (so the root's are 1..k); returns its
    nodes."""
    _copy_node(src, node, dst, 0)
    srcof[0] = node
    n = 1
    d = 0
    while d < n:
        q = srcof[d]
        a = src.first[q]
        if a < 0:
            dst.first[d] = -1
            dst.nch[d] = 0
        else:
            m = src.nch[q]
            dst.first[d] = n
            dst.nch[d] = m
            for j in range(m):
                _copy_node(src, a + j, dst, n + j)
                srcof[n + j] = a + j
            n += m
        d += 1
    return n


@kernel
def _same_root(tree, moves, k):
    """Does the tree's root hold k children for exactly these moves?"""
    if tree.first[0] != 1 or tree.nch[0] != k:
        return False
    for c in range(1, 1 + k):
        i = tree.mi[c]
        if i < 0 or i >= k:
            return False
        for f in range(MF):
            if tree.mv[c, f] != moves[i, f]:
                return False
    return True


@njit(cache=True)
def _seat_tree(memo, s0, moves, k):
    """(tree, nodes in use): the last search's tree rerooted at s0 when it
    was this seat's and holds s0 expanded, else a buffer to start afresh
    (0 nodes)."""
    meta = memo.meta
    tree = _buffer(memo, meta[M_TREE])
    n = meta[M_STEPS]
    if meta[M_SEAT] == s0[CUR] and n > 0:
        node = _follow(tree, memo.path, n)
        if node > 0 and tree.first[node] >= 0:
            dst = _buffer(memo, meta[M_SPARE])
            used = _reroot(tree, node, dst, memo.srcof)
            if _same_root(dst, moves, k):
                meta[M_TREE], meta[M_SPARE] = meta[M_SPARE], meta[M_TREE]
                return dst, used
    return tree, 0


@njit(cache=True)
def mcts_choose(geo, s0, moves, k, iparams, fparams, w, pol, memo):
    """(index of the move to play, nodes used); pol[:k] = the policy target.
    With I_REUSE and room in memo (new_memo), the search starts from the
    seat's last tree (module docstring)."""
    srch = _search_settings(iparams, fparams, w)
    cap = max(iparams[I_MAX_NODES], k + 1)
    temperature = fparams[F_TEMPERATURE]
    if s0[MOVE_COUNT] >= iparams[I_TEMP_STEPS]:
        temperature = 0.0

    scr = _new_scratch(s0)
    reuse = iparams[I_REUSE] != 0 and memo.srcof.shape[0] >= cap
    used = 0
    if reuse:
        tree, used = _seat_tree(memo, s0, moves, k)
    else:
        tree = _new_tree(cap)
    if used == 0:
        tree.nvis[0] = 0.0
        tree.wsum[0, :] = 0.0
        _expand(geo, s0, moves, k, tree, 0, 1, srch, scr)
        used = 1 + k
    for _ in range(iparams[I_VISITS] - int(tree.nvis[0])):
        used = _simulate(geo, s0, tree, used, cap, srch, scr)
    if reuse:
        memo.meta[M_SEAT] = s0[CUR]
        memo.meta[M_STEPS] = 0

    tmp = scr.tmp
    if not _root_policy(tree, k, srch.widen, tmp[0, :k], pol):
        bi = tree.mi[1]  # no visits: the best prior (first child)
        pol[bi] = 1.0
        return bi, used
    if temperature > 0.0:
        i = _sample(pol, k, temperature, tmp[1, :k])
        if i >= 0:
            return i, used
    return _most_visited(tree, k, s0[CUR]), used
