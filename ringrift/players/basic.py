"""Shared jitted helpers: one-hot policies, weight noise, the one-ply greedy
choice (the heuristic player's move, also used by heuristic rollouts) and a
cheap move-type ordering. The random player is a uniform draw in select.py."""

import numpy as np
from numba import njit

from ..engine.jit import kernel
from ..engine.layout import (
    MT_CHOOSE_LINE_OPTION,
    MT_CHOOSE_TERRITORY,
    MT_CONTINUE_CAPTURE,
    MT_ELIMINATE,
    MT_FORCED_ELIM,
    MT_MOVE_STACK,
    MT_OVERTAKING_CAPTURE,
    MT_PROCESS_LINE,
    MT_RECOVERY_SLIDE,
)
from .scan import scan_values

TIE = 1e-9


@kernel
def one_hot(pol, k, i):
    for j in range(k):
        pol[j] = 0.0
    pol[i] = 1.0


@njit(cache=True)
def noisy_weights(w, noise):
    """A copy of w with each weight scaled by 1 + noise * N(0, 1) (w itself
    when noise <= 0)."""
    if noise <= 0.0:
        return w
    out = w.copy()
    for i in range(w.shape[0]):
        out[i] = w[i] * (1.0 + noise * np.random.randn())
    return out


# _nrt=True stated: an njit function compiled first from a kernel's call
# (MCTS's heuristic rollout) would inherit the kernel's nrt=False, and its
# callees that allocate (exact_value's apply_move) would not compile
@njit(cache=True, _nrt=True)
def greedy_index(geo, s, moves, k, w, me, sc, vals):
    """Best move by the static value of the position after it, for player
    me; ties are broken uniformly at random. vals[:k] gets every value
    (scan_values: exactly evaluate's, so the choice and the tie draws are
    those of evaluating each move in turn)."""
    scan_values(geo, s, moves, k, w, me, sc, vals, 0)
    best = -np.inf
    bi = 0
    ties = 0
    for i in range(k):
        v = vals[i]
        if v > best + TIE:
            best = v
            bi = i
            ties = 1
        elif v >= best - TIE:
            ties += 1
            if np.random.randint(ties) == 0:
                bi = i
    return bi


@kernel
def move_type_priority(t):
    """Cheap move ordering: tactical and scoring moves first."""
    if t == MT_OVERTAKING_CAPTURE or t == MT_CONTINUE_CAPTURE:
        return 0
    if (
        t == MT_PROCESS_LINE
        or t == MT_CHOOSE_LINE_OPTION
        or t == MT_CHOOSE_TERRITORY
        or t == MT_RECOVERY_SLIDE
    ):
        return 1
    if t == MT_MOVE_STACK:
        return 2
    if t == MT_ELIMINATE or t == MT_FORCED_ELIM:
        return 3
    return 4
