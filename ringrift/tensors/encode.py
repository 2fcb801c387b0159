"""Jitted feature planes and global vectors, bit-exact with the reference's
training encoders, read straight from our flat engine state.

Three encoders (``KIND_*``):

* square boards -- the reference's legacy ``NeuralNetAI._extract_features``
  (14 planes indexed ``[plane, x, y]``; planes 10, 11, 13 stay zero, plane 12
  is all ones);
* hex v2 -- ``HexStateEncoder`` (10 planes indexed ``[plane, y + r, x + r]``);
* hex v3 -- ``HexStateEncoderV3`` (16 planes; planes 14/15 mark every board
  cell: the reference looks its own cell up with a 2-coordinate key that never
  matches a hex key, so "no stack, not collapsed" is always true there).

Every value is computed in float64 and stored into float32, as the reference's
Python does, and sums run in the reference's neighbour order, so the results
are the same bits. Neighbour tables (``nb``) list each cell's neighbours in the
order of the reference's ``BoardGeometry.get_adjacent_positions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from ..engine.geometry import board
from ..engine.layout import (
    CUR,
    ELIM,
    HAND,
    LPS_CONSEC,
    LPS_CONSEC_P,
    LPS_REQ,
    NCELL,
    NP,
    PH_CAPTURE,
    PH_CHAIN_CAPTURE,
    PH_FORCED_ELIM,
    PH_LINE,
    PH_MOVEMENT,
    PH_RING_PLACEMENT,
    PH_TERRITORY,
    PHASE,
    RPP,
    TERR,
    TTHR,
    VTHR,
    o_collapsed,
    o_height,
    o_marker,
    o_pool,
    o_start,
)

KIND_SQUARE = 0
KIND_HEX_V2 = 1
KIND_HEX_V3 = 2
BASE_CHANNELS = (14, 10, 16)
NUM_GLOBALS = 20

# the reference's neighbour orders
_SQ_NB = tuple((dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy)
_HEX_NB = ((1, 0, -1), (-1, 0, 1), (0, 1, -1), (0, -1, 1), (1, -1, 0), (-1, 1, 0))


@dataclass(frozen=True)
class Tables:
    """Per-board lookup tables for the jitted encoders and policy mapping."""

    board_type: str
    size: int  # H = W of the planes (8, 19, 9, 25)
    row: np.ndarray  # (n,) plane row of each cell
    col: np.ndarray  # (n,) plane column of each cell
    gx: np.ndarray  # (n,) canonical x of the policy encoders
    gy: np.ndarray  # (n,) canonical y
    nb: np.ndarray  # (n, 8) neighbours in reference order, -1 padded


@lru_cache(maxsize=None)
def tables(board_type: str) -> Tables:
    b = board(board_type)
    n = b.ncell
    nb = np.full((n, 8), -1, dtype=np.int32)
    gx = np.empty(n, dtype=np.int32)
    gy = np.empty(n, dtype=np.int32)
    for c, co in enumerate(b.coords):
        if b.is_hex:
            r = (b.size - 1) // 2
            gx[c], gy[c] = co[0] + r, co[1] + r
            for d, (dx, dy, dz) in enumerate(_HEX_NB):
                nb[c, d] = b.index.get(f"{co[0] + dx},{co[1] + dy},{co[2] + dz}", -1)
        else:
            gx[c], gy[c] = co
            for d, (dx, dy) in enumerate(_SQ_NB):
                nb[c, d] = b.index.get(f"{co[0] + dx},{co[1] + dy}", -1)
    if b.is_hex:
        row, col = gy.copy(), gx.copy()  # hex planes are [y, x]
    else:
        row, col = gx.copy(), gy.copy()  # the legacy square planes are [x, y]
    return Tables(board_type, b.size, row, col, gx, gy, nb)


def encoder_kind(board_type: str, encoder: str) -> int:
    is_hex = board(board_type).is_hex
    if not is_hex:
        if encoder not in ("v2", None, ""):
            raise ValueError(
                f"encoder {encoder!r} is for hex boards; {board_type} uses the "
                "square encoder (leave --encoder at v2)"
            )
        return KIND_SQUARE
    if encoder in ("v2", None, ""):
        return KIND_HEX_V2
    if encoder == "v3":
        return KIND_HEX_V3
    raise ValueError(f"unknown encoder {encoder!r}; valid encoders: v2, v3")


@njit(cache=True, inline="always")
def _top(s, c, n):
    h = s[o_height(n) + c]
    return s[o_pool(n) + s[o_start(n) + c] + h - 1]


@njit(cache=True)
def _threat_opponent(s, cp):
    """select_threat_opponent: the first seat (in seat order) with the highest
    victory progress (eliminations, territory, last-player-standing streak)."""
    best = -1
    best_prog = -1.0
    for pid in range(1, s[NP] + 1):
        if pid == cp:
            continue
        ep = s[ELIM + pid] / s[VTHR]
        tp = s[TERR + pid] / s[TTHR]
        ep = max(0.0, min(1.0, ep))
        tp = max(0.0, min(1.0, tp))
        prog = max(ep, tp)
        lps = 0.0
        rounds = s[LPS_CONSEC]
        if s[LPS_CONSEC_P] == pid and rounds > 0:
            req = s[LPS_REQ]
            if req <= 0:
                req = 3
            if rounds >= req or req == 1:
                lps = 1.0
            else:
                frac = min(1.0, max(0.0, rounds / (req - 1.0)))
                lps = 0.90 + 0.09 * frac
        prog = max(prog, lps)
        if prog > best_prog:
            best_prog = prog
            best = pid
    return best


@njit(cache=True)
def encode_frame(s, kind, row, col, nb, frame, g):
    """Fill frame (C, H, W) and g (20,) for the player to move in s."""
    frame[:] = 0.0
    g[:] = 0.0
    n = s[NCELL]
    cp = s[CUR]
    oh = o_height(n)
    mk = o_marker(n)
    co = o_collapsed(n)
    hexb = kind != KIND_SQUARE
    nnb = 6 if hexb else 8
    maxnb = 6.0 if hexb else 8.0
    half = maxnb / 2.0
    my_terr = 0
    opp_terr = 0
    my_mk = 0
    opp_mk = 0
    my_st = 0
    opp_st = 0
    for c in range(n):
        r = row[c]
        q = col[c]
        h = s[oh + c]
        if h > 0:
            own = _top(s, c, n) == cp
            libs = 0
            for d in range(nnb):
                x = nb[c, d]
                if x >= 0 and s[oh + x] == 0 and s[co + x] == 0:
                    libs += 1
            if own:
                my_st += 1
                frame[0, r, q] = min(h / 5.0, 1.0)
                frame[6, r, q] = min(libs / maxnb, 1.0)
            else:
                opp_st += 1
                frame[1, r, q] = min(h / 5.0, 1.0)
                frame[7, r, q] = min(libs / maxnb, 1.0)
        mv = s[mk + c]
        if mv != 0:
            cnt = 0
            for d in range(nnb):
                x = nb[c, d]
                if x >= 0 and s[mk + x] == mv:
                    cnt += 1
            if mv == cp:
                my_mk += 1
                frame[2, r, q] = 1.0
                frame[8, r, q] = min(cnt / half, 1.0)
            else:
                opp_mk += 1
                frame[3, r, q] = 1.0
                frame[9, r, q] = min(cnt / half, 1.0)
        cv = s[co + c]
        if cv != 0:
            if cv == cp:
                my_terr += 1
                frame[4, r, q] = 1.0
            else:
                opp_terr += 1
                frame[5, r, q] = 1.0
        if kind == KIND_HEX_V3:
            fr = 0
            en = 0
            fh = 0.0
            eh = 0.0
            acc = 0
            for d in range(6):
                x = nb[c, d]
                if x < 0:
                    continue
                hx = s[oh + x]
                if hx > 0:
                    if _top(s, x, n) == cp:
                        fr += 1
                        fh += hx / 5.0
                    else:
                        en += 1
                        eh += hx / 5.0
                mx = s[mk + x]
                if mx != 0:
                    if mx == cp:
                        fr += 1
                    else:
                        en += 1
                if s[co + x] == 0:
                    acc += 1
            if fr > 0 and en > 0:
                frame[10, r, q] = min(fr / 3.0, 1.0)
                frame[11, r, q] = min(en / 3.0, 1.0)
            frame[12, r, q] = min(fh / 6.0, 1.0)
            frame[13, r, q] = min(eh / 6.0, 1.0)
            frame[14, r, q] = 1.0
            frame[15, r, q] = acc / 6.0
    if kind == KIND_SQUARE:
        frame[12] = 1.0

    # ---- globals ----
    ph = s[PHASE]
    if kind == KIND_SQUARE:
        if ph == PH_RING_PLACEMENT:
            g[0] = 1.0
        elif ph == PH_MOVEMENT:
            g[1] = 1.0
        elif ph == PH_CAPTURE:
            g[2] = 1.0
        elif ph == PH_LINE:
            g[3] = 1.0
        elif ph == PH_TERRITORY:
            g[4] = 1.0
    else:
        if ph == PH_RING_PLACEMENT:
            g[0] = 1.0
        elif ph == PH_MOVEMENT:
            g[1] = 1.0
        elif ph == PH_CAPTURE or ph == PH_CHAIN_CAPTURE:
            g[2] = 1.0
        elif ph == PH_LINE:
            g[3] = 1.0
        elif ph == PH_TERRITORY or ph == PH_FORCED_ELIM:
            g[4] = 1.0
    np_ = s[NP]
    if np_ <= 2:
        opp = 1 if cp != 1 else 2
    else:
        opp = _threat_opponent(s, cp)
    rpp = float(s[RPP])
    g[5] = s[HAND + cp] / rpp
    g[7] = s[ELIM + cp] / rpp
    if opp > 0:
        g[6] = s[HAND + opp] / rpp
        g[8] = s[ELIM + opp] / rpp
    g[9] = 1.0
    chain = 1.0 if ph == PH_CHAIN_CAPTURE else 0.0
    forced = 1.0 if ph == PH_FORCED_ELIM else 0.0
    if kind == KIND_SQUARE:
        g[10] = chain
        g[11] = forced
    elif kind == KIND_HEX_V2:
        g[10] = 1.0 if np_ == 3 else 0.0
        g[11] = 1.0 if np_ == 4 else 0.0
        g[12] = min(my_terr / 397.0, 1.0)
        g[13] = min(opp_terr / 397.0, 1.0)
        g[14] = min(my_mk / 50.0, 1.0)
        g[15] = min(opp_mk / 50.0, 1.0)
        g[16] = min(my_st / 30.0, 1.0)
        g[17] = min(opp_st / 30.0, 1.0)
        g[18] = chain
        g[19] = forced
    else:
        tot_mk = my_mk + opp_mk
        tot_st = my_st + opp_st
        tot_terr = my_terr + opp_terr
        g[10] = min(tot_mk / 50.0, 1.0)
        g[11] = min(tot_st / 30.0, 1.0)
        if tot_terr > 0:
            g[12] = my_terr / tot_terr
        if tot_mk > 0:
            g[13] = my_mk / tot_mk
        if tot_st > 0:
            g[14] = my_st / tot_st
        g[15] = chain
        g[16] = forced
