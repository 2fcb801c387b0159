"""Shared jitted helpers and the two cheap players: random and one-ply greedy."""
import numpy as np
from numba import njit

from ..engine.layout import (
    F_TYPE, MT_NO_LINE, MT_NO_MOVEMENT, MT_NO_PLACEMENT, MT_NO_TERRITORY,
)
from ..engine.rules import apply_move
from .evaluate import evaluate

TIE = 1e-9


@njit(cache=True)
def is_bookkeeping(t):
    return t == MT_NO_PLACEMENT or t == MT_NO_MOVEMENT or t == MT_NO_LINE or t == MT_NO_TERRITORY


@njit(cache=True)
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


@njit(cache=True)
def random_index(k):
    return np.random.randint(k)


@njit(cache=True)
def greedy_index(geo, s, moves, k, w, me, sc, vals):
    """Best move by the static value of the position after it, for player
    me; ties are broken uniformly at random. vals[:k] gets every value."""
    best = -np.inf
    bi = 0
    ties = 0
    for i in range(k):
        c = apply_move(geo, s, moves[i])
        v = evaluate(geo, c, w, me, sc)
        vals[i] = v
        if v > best + TIE:
            best = v
            bi = i
            ties = 1
        elif v >= best - TIE:
            ties += 1
            if np.random.randint(ties) == 0:
                bi = i
    return bi


@njit(cache=True)
def move_type_priority(t):
    """Cheap move ordering: tactical and scoring moves first."""
    if t == 5 or t == 6:      # overtaking / continue capture
        return 0
    if t == 8 or t == 9 or t == 11 or t == 16:  # lines, territory, recovery
        return 1
    if t == 3:                # move stack
        return 2
    if t == 14 or t == 15:    # eliminations
        return 3
    return 4


@njit(cache=True)
def forced_type(moves, k):
    return k == 1 and is_bookkeeping(moves[0, F_TYPE])
