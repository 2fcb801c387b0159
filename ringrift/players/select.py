"""One entry point for every player kind, called by the jitted game loop.

    i = select_move(geo, s, moves, k, kind, iparams, fparams, weights, policy_out, memo)

returns the index of the chosen move among moves[:k] and fills policy_out[:k]
with the policy target: one-hot on the chosen move for random, heuristic and
minimax players, the root visit distribution for MCTS. Every kind first
plays a uniformly random move with probability fparams[F_RANDOMNESS] (policy
one-hot on it) and redraws its weight noise per decision. All randomness
comes from Numba's np.random (seeded once per game by the caller). ``memo``
(mcts.new_memo, one per game, told every step played with mcts.memo_step)
keeps the last MCTS search's tree for its seat's next search.
"""

import numpy as np
from numba import njit

from ..engine.layout import CUR, PSLOTS
from .basic import greedy_index, noisy_weights, one_hot
from .mcts import mcts_choose
from .minimax import minimax_choose
from .params import F_NOISE, F_RANDOMNESS, K_HEURISTIC, K_MCTS, K_MINIMAX, K_RANDOM


@njit(cache=True)
def select_move(geo, s, moves, k, kind, iparams, fparams, weights, policy_out, memo):
    if k <= 1:
        one_hot(policy_out, k, 0)
        return 0
    if kind == K_RANDOM or (
        fparams[F_RANDOMNESS] > 0.0 and np.random.random() < fparams[F_RANDOMNESS]
    ):
        i = np.random.randint(k)
        one_hot(policy_out, k, i)
        return i
    w = noisy_weights(weights, fparams[F_NOISE])
    if kind == K_HEURISTIC:
        sc = np.zeros(PSLOTS)
        vals = np.empty(k, dtype=np.float64)
        i = greedy_index(geo, s, moves, k, w, s[CUR], sc, vals)
        one_hot(policy_out, k, i)
        return i
    if kind == K_MINIMAX:
        vals = np.empty(k, dtype=np.float64)
        i, _ = minimax_choose(geo, s, moves, k, iparams, w, vals)
        one_hot(policy_out, k, i)
        return i
    if kind == K_MCTS:
        i, _ = mcts_choose(geo, s, moves, k, iparams, fparams, w, policy_out, memo)
        return i
    raise ValueError("unknown player kind")


__all__ = ["select_move"]
