"""Jitted MCTS: UCT, or PUCT with heuristic priors, in a preallocated flat tree.

Every node keeps a value sum per player, and the player to move at a node
picks the child that is best for itself, so the same tree serves 2-4 players
and turns of several steps. A simulation walks down from the root by
selection, expands the leaf it reaches (one child per legal move; priors =
softmax of the mover's static value after each move), scores it (an optional
random or greedy rollout of bounded length, then the static evaluation turned
into per-player values in [0, 1]; finished games score 1 for the winner and 0
for the others) and backs the value vector up the path.

Memory is bounded: the tree holds at most ``max_nodes`` nodes; a leaf whose
children would not fit is scored without being expanded. The policy target
is the root visit distribution; the move played is the most visited one (or,
during the first I_TEMP_STEPS engine steps of a game, a sample from
visits^(1/T) when a temperature T is set).
"""
import numpy as np
from numba import njit

from ..engine.layout import CUR, MF, MOVE_COUNT, NP, STATUS, ST_ACTIVE, WINNER
from ..engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into
from .basic import greedy_index
from .evaluate import player_scores, relative_value
from .params import (
    F_CPUCT, F_PRIOR_TEMP, F_TEMPERATURE, F_VALUE_SCALE, I_MAX_NODES, I_PRIORS,
    I_ROLLOUT_KIND, I_ROLLOUT_LEN, I_TEMP_STEPS, I_VISITS, ROLLOUT_HEURISTIC,
)


@njit(cache=True)
def leaf_values(geo, s, w, scale, sc, out):
    """out[p] for p in 1..NP: the value of s for p in [0, 1]."""
    if s[STATUS] == ST_ACTIVE:
        player_scores(geo, s, w, sc)
    leaf_values_from(s, sc, scale, out)


@njit(cache=True)
def leaf_values_from(s, sc, scale, out):
    """As leaf_values, with the player scores of s already in sc."""
    np_ = s[NP]
    if s[STATUS] != ST_ACTIVE:
        wn = s[WINNER]
        for p in range(1, np_ + 1):
            if wn == 0:
                out[p] = 1.0 / np_
            else:
                out[p] = 1.0 if p == wn else 0.0
        return
    for p in range(1, np_ + 1):
        x = relative_value(sc, np_, p) / scale
        if x > 30.0:
            out[p] = 1.0
        elif x < -30.0:
            out[p] = 0.0
        else:
            out[p] = 1.0 / (1.0 + np.exp(-x))


@njit(cache=True)
def rollout(geo, s, w, length, kind, buf, sc, vals):
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
        s = apply_move(geo, s, buf[i])
    return s


@njit(cache=True)
def mcts_choose(geo, s0, moves, k, iparams, fparams, w, pol):
    """(index of the move to play, nodes used); pol[:k] = root visit shares."""
    visits = iparams[I_VISITS]
    rlen = iparams[I_ROLLOUT_LEN]
    rkind = iparams[I_ROLLOUT_KIND]
    use_priors = iparams[I_PRIORS] != 0
    cap = iparams[I_MAX_NODES]
    if cap < k + 1:
        cap = k + 1
    cpuct = fparams[F_CPUCT]
    ptemp = fparams[F_PRIOR_TEMP]
    if ptemp <= 0.0:
        ptemp = 1.0
    scale = fparams[F_VALUE_SCALE]
    if scale <= 0.0:
        scale = 1.0
    temperature = fparams[F_TEMPERATURE]
    if s0[MOVE_COUNT] >= iparams[I_TEMP_STEPS]:
        temperature = 0.0

    parent = np.empty(cap, dtype=np.int32)
    first = np.empty(cap, dtype=np.int32)
    nch = np.empty(cap, dtype=np.int32)
    mv = np.empty((cap, MF), dtype=np.int32)
    nvis = np.empty(cap, dtype=np.float64)
    wsum = np.empty((cap, 5), dtype=np.float64)
    prior = np.empty(cap, dtype=np.float64)
    sv = np.empty((cap, 5), dtype=np.float64)
    buf = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    vals = np.empty(MAX_MOVES_BUFFER, dtype=np.float64)
    sc = np.zeros(5)
    val = np.zeros(5)
    path = np.empty(4096, dtype=np.int32)

    # root and its children: the moves we were given
    parent[0] = -1
    first[0] = 1
    nch[0] = k
    nvis[0] = 0.0
    wsum[0, :] = 0.0
    me = s0[CUR]
    _init_children(geo, s0, moves, k, 1, 0, parent, first, nch, mv, nvis, wsum, prior, sv,
                   use_priors, w, me, ptemp, scale, sc, val)
    used = 1 + k

    for _ in range(visits):
        node = 0
        s = s0
        depth = 0
        path[0] = 0
        while first[node] >= 0 and s[STATUS] == ST_ACTIVE:
            p = s[CUR]
            a = first[node]
            b = a + nch[node]
            best = a
            if b - a > 1:
                bestv = -np.inf
                sqn = np.sqrt(nvis[node] + 1.0)
                lnn = np.log(nvis[node] + 1.0)
                fpu = 0.5
                if nvis[node] > 0:
                    fpu = wsum[node, p] / nvis[node]
                for c in range(a, b):
                    nc = nvis[c]
                    if nc > 0:
                        q = wsum[c, p] / nc
                    elif use_priors:
                        q = sv[c, p]  # the child's static value
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
            s = apply_move(geo, s, mv[best])
            node = best
            if depth + 1 < path.shape[0]:
                depth += 1
                path[depth] = node
        scored = False
        if s[STATUS] == ST_ACTIVE:
            kk = legal_moves_into(geo, s, buf)
            if used + kk <= cap:
                mover = s[CUR]
                _init_children(geo, s, buf, kk, used, node, parent, first, nch, mv, nvis,
                               wsum, prior, sv, use_priors, w, mover, ptemp, scale, sc, val)
                if use_priors and rlen == 0:
                    # one-ply backup: the value after the mover's best move
                    bc = used
                    for c in range(used, used + kk):
                        if sv[c, mover] > sv[bc, mover]:
                            bc = c
                    for p in range(1, 5):
                        val[p] = sv[bc, p]
                    scored = True
                used += kk
            if rlen > 0:
                s = rollout(geo, s, w, rlen, rkind, buf, sc, vals)
        if not scored:
            leaf_values(geo, s, w, scale, sc, val)
        for j in range(depth + 1):
            nd = path[j]
            nvis[nd] += 1.0
            for p in range(1, 5):
                wsum[nd, p] += val[p]

    # policy target and the move to play
    tot = 0.0
    for i in range(k):
        tot += nvis[1 + i]
    if tot <= 0.0:
        bi = 0
        bp = -1.0
        for i in range(k):
            if prior[1 + i] > bp:
                bp = prior[1 + i]
                bi = i
        for i in range(k):
            pol[i] = 0.0
        pol[bi] = 1.0
        return bi, used
    for i in range(k):
        pol[i] = nvis[1 + i] / tot
    if temperature > 0.0:
        acc = 0.0
        for i in range(k):
            vals[i] = (nvis[1 + i] / tot) ** (1.0 / temperature)
            acc += vals[i]
        r = np.random.random() * acc
        for i in range(k):
            r -= vals[i]
            if r < 0.0:
                return i, used
        return k - 1, used
    bi = 0
    bn = -1.0
    bq = -np.inf
    for i in range(k):
        c = 1 + i
        n = nvis[c]
        q = wsum[c, me] / n if n > 0 else -1.0
        if n > bn or (n == bn and q > bq):
            bn = n
            bq = q
            bi = i
    return bi, used


@njit(cache=True)
def _init_children(geo, s, moves, k, at, node, parent, first, nch, mv, nvis, wsum, prior, sv,
                   use_priors, w, mover, ptemp, scale, sc, val):
    first[node] = at
    nch[node] = k
    for i in range(k):
        c = at + i
        parent[c] = node
        first[c] = -1
        nch[c] = 0
        mv[c] = moves[i]
        nvis[c] = 0.0
        for p in range(5):
            wsum[c, p] = 0.0
        prior[c] = 1.0 / k
    if not use_priors:
        return
    # static value of every child: priors (softmax over the mover's value in
    # evaluation points) and per-player values in [0, 1]
    mx = -np.inf
    for i in range(k):
        c = at + i
        ch = apply_move(geo, s, moves[i])
        if ch[STATUS] != ST_ACTIVE:
            wn = ch[WINNER]
            v = 1.0e6 if wn == mover else (-1.0e6 if wn != 0 else 0.0)
        else:
            player_scores(geo, ch, w, sc)
            v = relative_value(sc, ch[NP], mover)
        leaf_values_from(ch, sc, scale, val)
        for p in range(5):
            sv[c, p] = val[p]
        prior[c] = v
        if v > mx:
            mx = v
    tot = 0.0
    for i in range(k):
        e = np.exp((prior[at + i] - mx) / ptemp)
        prior[at + i] = e
        tot += e
    for i in range(k):
        prior[at + i] /= tot
