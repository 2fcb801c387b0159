"""Jitted self-play of one game, and exact replay of a recorded game.

A game is recorded as the index of the chosen move in the legal list at every
engine step (bookkeeping steps included), so replaying those indices from the
initial state rebuilds every state exactly. Steps whose only legal move is a
bookkeeping move are applied automatically (the reference's self-play host does
the same); every other step is a decision by the seat's player.
"""

import numpy as np
from numba import njit

from ..engine.layout import (
    CUR,
    F_TYPE,
    MF,
    MOVE_COUNT,
    MT_NO_LINE,
    MT_NO_MOVEMENT,
    MT_NO_PLACEMENT,
    MT_NO_TERRITORY,
    NP,
    ST_ACTIVE,
    STATUS,
)
from ..engine.rules import MAX_MOVES_BUFFER, apply_in_place, legal_moves_into
from ..players.mcts import memo_step, new_memo
from ..players.select import select_move


@njit(cache=True)
def is_bookkeeping(t):
    return t == MT_NO_PLACEMENT or t == MT_NO_MOVEMENT or t == MT_NO_LINE or t == MT_NO_TERRITORY


@njit(cache=True)
def play_game(geo, s0, kinds, iparams, fparams, weights, seed, max_moves):
    """Play one game. Returns (final state, choice per step, decision flag per
    step, policy offsets per decision, policy move indices, policy probs)."""
    np.random.seed(seed)
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    pol = np.empty(MAX_MOVES_BUFFER, dtype=np.float64)
    cap = 1024
    choices = np.empty(cap, dtype=np.int32)
    decision = np.empty(cap, dtype=np.bool_)
    poff = np.zeros(cap + 1, dtype=np.int64)
    pidx = np.empty(cap * 4, dtype=np.int32)
    pprob = np.empty(cap * 4, dtype=np.float32)
    nsteps = 0
    ndec = 0
    npol = 0
    s = s0.copy()  # played in place from here
    memo = new_memo(kinds, iparams, s[NP])
    while s[STATUS] == ST_ACTIVE and s[MOVE_COUNT] < max_moves:
        k = legal_moves_into(geo, s, out)
        if k == 0:
            raise RuntimeError("active state without a legal move")
        if nsteps == choices.shape[0]:
            choices = np.concatenate((choices, np.empty(cap, dtype=np.int32)))
            decision = np.concatenate((decision, np.empty(cap, dtype=np.bool_)))
            poff = np.concatenate((poff, np.zeros(cap, dtype=np.int64)))
            cap *= 2
        if k == 1 and is_bookkeeping(out[0, F_TYPE]):
            choices[nsteps] = 0
            decision[nsteps] = False
        else:
            p = s[CUR]
            i = select_move(geo, s, out, k, kinds[p], iparams[p], fparams[p], weights[p], pol, memo)
            choices[nsteps] = i
            decision[nsteps] = True
            for j in range(k):
                if pol[j] > 0.0:
                    if npol == pidx.shape[0]:
                        pidx = np.concatenate((pidx, np.empty(npol, dtype=np.int32)))
                        pprob = np.concatenate((pprob, np.empty(npol, dtype=np.float32)))
                    pidx[npol] = j
                    pprob[npol] = pol[j]
                    npol += 1
            ndec += 1
            poff[ndec] = npol
        apply_in_place(geo, s, out[choices[nsteps]])
        memo_step(memo, choices[nsteps])
        nsteps += 1
    return (
        s,
        choices[:nsteps].copy(),
        decision[:nsteps].copy(),
        poff[: ndec + 1].copy(),
        pidx[:npol].copy(),
        pprob[:npol].copy(),
    )


@njit(cache=True)
def replay_span(geo, s, step0, choices, want):
    """Continue a replay from state ``s`` before step ``step0``: the states
    before the steps listed (ascending, all >= step0) in ``want``, the chosen
    move at each, and the state before the last listed step (to continue from
    there). Replaying a game in spans bounds the states held at once (a
    hexagonal state is ~360 KiB)."""
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    states = np.empty((want.shape[0], s.shape[0]), dtype=np.int32)
    moves = np.full((want.shape[0], MF), -1, dtype=np.int32)
    s = s.copy()  # the caller's state stays as it is
    j = 0
    for step in range(step0, choices.shape[0] + 1):
        while j < want.shape[0] and want[j] == step:
            states[j] = s
            if step < choices.shape[0]:
                legal_moves_into(geo, s, out)
                moves[j] = out[choices[step]]
            j += 1
        if step == choices.shape[0] or j == want.shape[0]:
            break
        k = legal_moves_into(geo, s, out)
        if choices[step] >= k:
            raise ValueError("recorded move index out of range")
        apply_in_place(geo, s, out[choices[step]])
    return states, moves, s


def replay(geo, s0, choices, want):
    """States before the steps listed (ascending) in `want`, and the chosen move
    at each of them, by replaying `choices` from s0."""
    states, moves, _ = replay_span(geo, s0, 0, choices, want)
    return states, moves


@njit(cache=True)
def replay_final(geo, s0, choices):
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    s = s0.copy()
    for step in range(choices.shape[0]):
        k = legal_moves_into(geo, s, out)
        if choices[step] >= k:
            raise ValueError("recorded move index out of range")
        apply_in_place(geo, s, out[choices[step]])
    return s
