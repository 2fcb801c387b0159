"""Replay one recorded game and encode its samples, the reference exporter's way.

A game is the list of legal-move indices chosen at every engine step
(bookkeeping steps included), as our Parquet ``history`` column stores it.
Every step is a candidate sample; step ``t`` is sampled when
``t % sample_every == 0``; the state encoded is the one before the move. Each
sampled state's frame enters the history (the previous ``history_length``
sampled frames, newest first, zeros before the game's first), even when its
move has no policy index and the sample itself is dropped.

``encode_steps`` works in chunks of at most ``cap`` samples so a long game on
a big board never needs its whole feature tensor in memory: it returns where
it stopped (state, step, history ring) and the caller calls again.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..engine.layout import CUR, F_TYPE, MF, PHASE
from ..engine.rules import MAX_MOVES_BUFFER, apply_in_place, legal_moves_into
from .encode import encode_frame
from .policy import policy_index


@njit(cache=True)
def _soft_policy(geo, s, out, k, pc, gx, gy, pidx, pprob, a0, a1, pol_idx, pol_val, npol):
    """Visit distribution at this step mapped through the policy index:
    moves sharing an index add up, moves without one are dropped, the rest is
    renormalised to sum 1. Returns the new fill of pol_idx / pol_val."""
    m = a1 - a0
    idx = np.empty(m, dtype=np.int64)
    pr = np.empty(m, dtype=np.float64)
    j = 0
    for a in range(a0, a1):
        li = pidx[a]
        if li < 0 or li >= k:
            raise ValueError("policy move index out of range")
        pi = policy_index(geo, s, out[li], pc, gx, gy)
        if pi < 0 or pprob[a] <= 0.0:
            continue
        idx[j] = pi
        pr[j] = pprob[a]
        j += 1
    order = np.argsort(idx[:j], kind="mergesort")
    tot = 0.0
    for a in range(j):
        tot += pr[a]
    # merge in float64, store float32 once
    acc = 0.0
    last = -1
    for a in range(j):
        o = order[a]
        if idx[o] != last:
            if last >= 0:
                pol_val[npol - 1] = acc / tot
            pol_idx[npol] = idx[o]
            npol += 1
            last = idx[o]
            acc = 0.0
        acc += pr[o]
    if last >= 0:
        pol_val[npol - 1] = acc / tot
    return npol


@njit(cache=True)
def encode_steps(
    geo,
    s,
    step,
    choices,
    every,
    kind,
    row,
    col,
    nb,
    pc,
    gx,
    gy,
    ring,
    nring,
    head,
    poff,
    pidx,
    pprob,
    soft,
    feats,
    glob,
    meta,
    pol_off,
    pol_idx,
    pol_val,
    cur,
    g,
):
    """Encode samples from engine step ``step`` (state s) on.

    feats (cap, C*(1+H), H, W), glob (cap, 20), meta (cap, 4) int32 = (move
    number, player to move, phase, move type); pol_off (cap+1) int64 CSR
    offsets into pol_idx / pol_val (capacity >= cap * max legal moves).
    ring (H, C, H, W) holds the history frames, ``head`` the newest slot.
    Stops when cap samples are filled or the game's moves run out.
    Returns (s, step, nring, head, samples filled, policy entries filled)."""
    cap = feats.shape[0]
    C = cur.shape[0]
    hl = ring.shape[0]
    nsteps = choices.shape[0]
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    s = s.copy()  # the caller's state stays as it is
    m = 0
    npol = 0
    pol_off[0] = 0
    while step < nsteps and m < cap:
        k = legal_moves_into(geo, s, out)
        ch = choices[step]
        if ch < 0 or ch >= k:
            raise ValueError("recorded move index out of range")
        if step % every == 0:
            encode_frame(s, kind, row, col, nb, cur, g)
            pi = policy_index(geo, s, out[ch], pc, gx, gy)
            if pi >= 0:
                feats[m, :C] = cur
                for a in range(hl):
                    lo = C * (a + 1)
                    if a < nring:
                        feats[m, lo : lo + C] = ring[(head - a) % hl]
                    else:
                        feats[m, lo : lo + C] = 0.0
                glob[m] = g
                meta[m, 0] = step
                meta[m, 1] = s[CUR]
                meta[m, 2] = s[PHASE]
                meta[m, 3] = out[ch, F_TYPE]
                a0 = poff[step] if soft else 0
                a1 = poff[step + 1] if soft else 0
                if a1 > a0:
                    npol = _soft_policy(
                        geo, s, out, k, pc, gx, gy, pidx, pprob, a0, a1, pol_idx, pol_val, npol
                    )
                    if pol_off[m] == npol:  # nothing mapped: fall back to one-hot
                        pol_idx[npol] = pi
                        pol_val[npol] = 1.0
                        npol += 1
                else:
                    pol_idx[npol] = pi
                    pol_val[npol] = 1.0
                    npol += 1
                m += 1
                pol_off[m] = npol
            if hl > 0:
                head = (head + 1) % hl
                ring[head] = cur
                if nring < hl:
                    nring += 1
        apply_in_place(geo, s, out[ch])
        step += 1
    return s, step, nring, head, m, npol
