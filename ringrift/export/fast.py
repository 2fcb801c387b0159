"""The fast path of the JSONL export, per record batch (kernels in kernels.py).

``batch_lines`` turns a batch into the bytes of its sample lines, the same as
``jsonl.sample_from_row`` + ``json.dumps`` row by row, or returns None for a
batch it does not take (the caller then uses that slow path). See kernels.py
for how.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset.schema import binary_parts, board_size, history_parts, unpack_states
from ..engine import layout as L
from ..reference.json_common import region_in_reference_order
from .kernels import (
    NAUX,
    Tables,
    hash_keys,
    no_move_steps,
    render_batch,
    replay_cached,
)

# ---- the per-batch driver -------------------------------------------------------------------

_TABLES: dict[tuple, Tables] = {}
_REGION_ORDER: dict[tuple, np.ndarray] = {}
_REGION_CACHE_MAX = 200_000
_SEED_SENTINEL = 8_765_432_109_876_543_210  # stands for the seed in metadata templates
_META_CACHE: dict[tuple, tuple[bytes, bytes]] = {}

# a batch is split when its lines would need more than this (big boards)
MAX_LINE_BYTES = 96 << 20
BYTES_PER_MOVE = 700  # a history move's JSON, for sizing sub-batches


# Reused output/state buffers: fresh ones would cost a page fault per 4 KiB on
# every batch (measured ~20 us per sample); the lines returned by batch_lines
# live in "buf" until the next call.
_WORKSPACE: dict[str, np.ndarray] = {}


def _workspace(name: str, size: int, dtype) -> np.ndarray:
    got = _WORKSPACE.get(name)
    if got is None or got.shape[0] < size or got.dtype != dtype:
        got = np.empty(max(size, 1 << 16), dtype=dtype)
        _WORKSPACE[name] = got
    return got


def _codes(col: pa.Array) -> tuple[np.ndarray, list]:
    """Dictionary codes of a (dictionary or plain) column and its values."""
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    return (col.indices.to_numpy(zero_copy_only=False).astype(np.int64), col.dictionary.to_pylist())


def _fixed(col: pa.Array, width: int, dtype) -> np.ndarray | None:
    """(rows, width) numpy view of a fixed-size-list column (nulls as 0)."""
    if not pa.types.is_fixed_size_list(col.type) or col.type.list_size != width:
        return None
    vals = col.values.slice(col.offset * width, len(col) * width)
    if vals.null_count:
        vals = vals.fill_null(0)
    return vals.to_numpy(zero_copy_only=False).astype(dtype, copy=False).reshape(len(col), width)


def _metadata_pieces(metadata_fn, worker, mode, band, board_type, n, levels) -> tuple[bytes, bytes]:
    key = (worker, mode, band, board_type, n, levels)
    got = _META_CACHE.get(key)
    if got is None:
        md = metadata_fn(
            {
                "num_players": n,
                "seat_levels": list(levels),
                "worker_id": worker,
                "engine_mode": mode,
                "difficulty_band": band,
                "game_seed": _SEED_SENTINEL,
                "board_type": board_type,
            }
        )
        text = json.dumps(md, separators=(",", ":"))
        mark = f'"seed":{_SEED_SENTINEL}'
        if text.count(mark) != 1:
            raise AssertionError("seed sentinel not unique in metadata")
        i = text.index(mark) + len('"seed":')
        got = (text[:i].encode(), text[i + len(str(_SEED_SENTINEL)) :].encode())
        _META_CACHE[key] = got
    return got


def _region_order(board, cells: np.ndarray) -> np.ndarray:
    key = (board.name, cells.tobytes())
    got = _REGION_ORDER.get(key)
    if got is None:
        if len(_REGION_ORDER) >= _REGION_CACHE_MAX:
            _REGION_ORDER.clear()
        got = np.asarray(region_in_reference_order(board, cells.tolist()), dtype=np.int32)
        _REGION_ORDER[key] = got
    return got


# replays kept across batches: bytes per store entry (move, facts, legal
# index, state digest, the render's per-entry slots) and the budget of a store
ENTRY_BYTES = 4 * (L.MF + NAUX + 1) + 16 + 16
STORE_BYTES = 192 << 20
FINAL_BYTES = 64 << 20  # the states where games stopped (packed), per store
JSON_BYTES = 160 << 20  # the moves' JSON, per store


def rules_key(rules) -> tuple:
    return (rules.board_type, rules.num_players, rules.swap_rule, rules.lps_rounds)


class _Store:
    """The replays of one export job (one rules set) kept across its batches,
    so that a game whose samples are spread over many batches (a shuffled
    aggregate) is replayed once, not once per batch: per game one instance,
    a run of entries (move, facts, legal index, digest of the state after it)
    in flat arrays. Within STORE_BYTES; when full, the games used longest ago
    are dropped (they are replayed again if they come back)."""

    def __init__(self, slen: int, budget: int | None = None):
        self.budget = max(256, (budget or STORE_BYTES) // ENTRY_BYTES)
        self.keys = hash_keys(slen)
        # [0]: rows out of game order; [1]: instances extended from a move table
        self.flags = np.zeros(2, dtype=np.int64)
        self._alloc(self.budget)  # pages are only touched as used: no growing
        # the moves' JSON: reserved at once (pages are only touched as used),
        # so it is never copied to a bigger buffer
        self.scratch = np.empty(JSON_BYTES + (64 << 20), dtype=np.uint8)
        self.clear()

    def _alloc(self, cap: int) -> None:
        self.cap = cap
        self.mv = np.empty((cap, L.MF), dtype=np.int32)
        self.aux = np.empty((cap, NAUX), dtype=np.int32)
        self.idx = np.empty(cap, dtype=np.int32)
        self.hsh = np.empty((cap, 2), dtype=np.uint64)
        self.ent_beg = np.empty(cap, dtype=np.int64)
        self.ent_end = np.empty(cap, dtype=np.int64)

    def clear(self) -> None:
        self.top = 0
        self.spos = 0
        self.reg = np.empty(1 << 12, dtype=np.int32)
        self.rtop = 0
        self.games: dict = {}  # game id -> slot
        self.sl_start = np.zeros(1 << 10, dtype=np.int64)
        self.sl_len = np.zeros(1 << 10, dtype=np.int64)
        self.sl_hashed = np.zeros(1 << 10, dtype=np.int64)
        self.sl_used = np.zeros(1 << 10, dtype=np.int64)
        self.fin_off = np.full(1 << 10, -1, dtype=np.int64)
        self.fin_len = np.zeros(1 << 10, dtype=np.int64)
        if getattr(self, "fpool", None) is None:
            self.fpool = np.empty(FINAL_BYTES // 4 + (1 << 16), dtype=np.int32)
        self.ftop = 0
        self.batch = 0

    def slots(self, gids: list) -> np.ndarray:
        """The slot of each game id (new games get an empty one)."""
        games = self.games
        out = np.empty(len(gids), dtype=np.int64)
        for i, g in enumerate(gids):
            s = games.get(g)
            if s is None:
                s = games[g] = len(games)
            out[i] = s
        n = len(games)
        if n > len(self.sl_start):
            size = max(n, 2 * len(self.sl_start))
            for name in ("sl_start", "sl_len", "sl_hashed", "sl_used", "fin_off", "fin_len"):
                old = getattr(self, name)
                new = np.full(size, -1 if name == "fin_off" else 0, dtype=np.int64)
                new[: len(old)] = old
                setattr(self, name, new)
        self.batch += 1
        self.sl_used[out] = self.batch
        return out

    def reserve(self, need: int) -> None:
        """Room for `need` more entries: grow up to the budget, else keep
        the games used most recently in half of it (or start afresh). Rows
        in game order only ever come back to the last game of a batch: then
        a few batches' worth are kept."""
        limit = self.budget if self.flags[0] else min(self.budget, max(4 * need, 1 << 14))
        if self.top + need > limit:
            if need <= limit // 2:
                self._compact(limit // 2 - need)
            else:  # one batch needs more than the budget: it alone
                self.clear()
        if self.top + need <= self.cap:
            return
        cap = self.cap
        while cap < self.top + need:
            cap *= 2
        self._grow(max(min(cap, self.budget), self.top + need))

    def reserve_states(self, need: int) -> None:
        """Room for `need` more words of packed states: when the pool would
        pass FINAL_BYTES, the kept states are dropped (an optimisation only)."""
        if self.ftop + need <= len(self.fpool):
            return
        if 4 * (self.ftop + need) > FINAL_BYTES:
            self.fin_off[:] = -1
            self.ftop = 0
        size = len(self.fpool)
        while size < self.ftop + need:
            size *= 2
        if size > len(self.fpool):
            pool = np.empty(size, dtype=np.int32)
            pool[: self.ftop] = self.fpool[: self.ftop]
            self.fpool = pool

    def _entries(self) -> tuple:
        return (self.mv, self.aux, self.idx, self.hsh, self.ent_beg, self.ent_end)

    def _grow(self, cap: int) -> None:
        old = self._entries()
        self._alloc(cap)
        t = self.top
        for dst, src in zip(self._entries(), old):
            dst[:t] = src[:t]

    def reserve_json(self) -> None:
        """Forget the moves' JSON once it passes JSON_BYTES (written again
        when needed), or after every batch for rows in game order (nothing
        to reuse: the same memory is written again, warm)."""
        if self.spos > (JSON_BYTES if self.flags[0] else 0):
            self.ent_beg[: self.top] = -1
            self.spos = 0

    def _compact(self, keep: int) -> None:
        """Keep the instances of the most recently used games that fit in
        `keep` entries, moved to the front; forget the others."""
        n = len(self.games)
        lens = self.sl_len[:n]
        recent = np.lexsort((-np.arange(n), -self.sl_used[:n]))  # latest first
        recent = recent[lens[recent] > 0]
        fit = recent[np.cumsum(lens[recent]) <= max(keep, 0)]
        if len(fit) == 0 or self.rtop > 16 * self.cap:
            self.clear()
            return
        starts, ln = self.sl_start[fit], lens[fit]
        new_start = np.zeros(len(fit), dtype=np.int64)
        np.cumsum(ln[:-1], out=new_start[1:])
        take = np.repeat(starts - new_start, ln) + np.arange(int(ln.sum()))
        for arr in self._entries():
            arr[: len(take)] = arr[take]
        names = list(self.games)
        self.games = {names[s]: i for i, s in enumerate(fit.tolist())}
        m = len(fit)
        self.sl_start[:m], self.sl_len[:m] = new_start, ln
        for a in (self.sl_hashed, self.sl_used, self.fin_off, self.fin_len):
            a[:m] = a[fit]
        for a in (self.sl_start, self.sl_len, self.sl_hashed, self.sl_used, self.fin_len):
            a[m:] = 0
        self.fin_off[m:] = -1
        self.top = int(ln.sum())


_NO_TABLE = None


def _table_rows(table, gvals: list, gcodes: np.ndarray) -> tuple:
    """(the table's steps, each row's (start, length) in it; -1: none)."""
    global _NO_TABLE
    if table is None:
        if _NO_TABLE is None:
            _NO_TABLE = no_move_steps()
        return _NO_TABLE, np.full((len(gcodes), 2), -1, dtype=np.int64)
    return table.steps, table.spans(gvals)[gcodes]


def batch_lines(batch: pa.RecordBatch, replayer, metadata_fn):
    """(bytes of the batch's lines, line ends, game ids, terminal samples), or
    None when the batch must take the slow path."""
    B = batch.num_rows
    if B == 0:
        return None
    cols = {name: batch.column(name) for name in batch.schema.names}
    for name, col in cols.items():
        if name != "move" and col.null_count:
            return None
    bt_codes, bt_vals = _codes(cols["board_type"])
    np_arr = cols["num_players"].to_numpy(zero_copy_only=False)
    if len(set(bt_codes.tolist())) != 1 or (np_arr != np_arr[0]).any():
        return None
    board_type = bt_vals[int(bt_codes[0])]
    try:
        n, m = board_size(board_type, int(np_arr[0]))
    except (ValueError, TypeError):
        return None
    slen = L.state_words(n, m)
    states = _workspace("states", B * slen, np.int32)[: B * slen].reshape(B, slen)
    data, offsets = binary_parts(cols["state"])
    if unpack_states(data, offsets, states) >= 0:
        return None
    header = states[:, : L.HDR]
    if (header[:, L.SWAP_EN] != header[0, L.SWAP_EN]).any() or (
        header[:, L.LPS_REQ] != header[0, L.LPS_REQ]
    ).any():
        return None
    try:
        rules = replayer.rules_for(board_type, int(np_arr[0]), header[0])
    except (ValueError, TypeError):
        return None
    key = (rules.board_type, rules.num_players)
    tab = _TABLES.get(key)
    if tab is None:
        tab = _TABLES[key] = Tables(rules)
    s0 = rules.new_game()
    hist = history_parts(cols["history"])
    rmove = _fixed(cols["move"], L.MF, np.int32)
    levels = _fixed(cols["seat_levels"], L.MAX_PLAYERS, np.int64)
    if any(x is None for x in (hist, rmove, levels)):
        return None
    rmove_ok = ~cols["move"].is_null().to_numpy(zero_copy_only=False)
    hv, ho = hist
    lens = ho[1:] - ho[:-1]
    gcodes, gvals = _codes(cols["game_id"])
    total = int(lens.sum())
    stores = replayer.fast_stores
    store = stores.get(rules_key(rules))
    if store is None:
        store = stores[rules_key(rules)] = _Store(slen)
    used, ginv = np.unique(gcodes, return_inverse=True)
    ngames = len(used)
    if not store.flags[0] and int(np.count_nonzero(np.diff(gcodes))) + 1 > ngames:
        store.flags[0] = 1  # games interleave (a shuffled input): digest from the start
    store.reserve(total)
    rslot = store.slots([gvals[i] for i in used.tolist()])[ginv.reshape(-1)]
    order = np.lexsort((lens, rslot))
    store.reserve_states(ngames * L.state_words(n, int(s0[L.NP]) * int(s0[L.RPP])))
    rm_aux = np.full((B, NAUX), -1, dtype=np.int32)
    row_inst = np.zeros(B, dtype=np.int64)
    new_reg = np.empty((total + B + 1, 2), dtype=np.int64)
    status, store.top, store.reg, store.rtop, nreg, store.ftop = replay_cached(
        rules.geo,
        s0,
        order,
        rslot,
        hv,
        ho,
        states,
        rmove,
        rmove_ok,
        store.sl_start,
        store.sl_len,
        store.sl_hashed,
        store.fin_off,
        store.fin_len,
        store.fpool,
        store.mv,
        store.aux,
        store.idx,
        store.hsh,
        store.keys,
        store.flags,
        store.top,
        store.ftop,
        store.reg,
        store.rtop,
        new_reg,
        rm_aux,
        row_inst,
        store.ent_beg,
        store.ent_end,
        *_table_rows(replayer.move_table, gvals, gcodes),
    )
    if status < 0:
        store.clear()
        return None
    reg = store.reg
    # new territory regions in the reference's order (CPython set order: see
    # reference/json_common.py); stored ones are in that order already
    board = rules.board
    for a, ln in new_reg[:nreg].tolist():
        reg[a : a + ln] = _region_order(board, reg[a : a + ln].copy())
    # the zobrist field: blake2b of the (checked) state, as state_json._zobrist
    zob = np.zeros(B, dtype=np.uint64)
    raw = memoryview(states).cast("B")
    w = slen * 4
    blake2b = hashlib.blake2b
    for r in np.flatnonzero(lens > 0).tolist():
        zob[r] = int.from_bytes(blake2b(raw[r * w : (r + 1) * w], digest_size=8).digest(), "little")
    # per-batch strings: game ids, outcomes, metadata around the seed
    pieces: list[bytes] = [json.dumps(g).encode() for g in gvals]
    gid_s = gcodes
    outcome = cols["outcome"].to_numpy(zero_copy_only=False)
    ou, oinv = np.unique(outcome, return_inverse=True)
    out_s = len(pieces) + oinv.astype(np.int64)
    pieces += [json.dumps(float(v)).encode() for v in ou]
    wc, wv = _codes(cols["worker_id"])
    ec, ev = _codes(cols["engine_mode"])
    dc, dv = _codes(cols["difficulty_band"])
    # one int64 key per (worker, mode, band, levels) for np.unique (axis=0 is slow)
    lv = (levels & 0xFF).astype(np.int64)
    mkey = (
        (((wc * len(ev) + ec) * len(dv) + dc) << 32)
        | (lv[:, 0] << 24)
        | (lv[:, 1] << 16)
        | (lv[:, 2] << 8)
        | lv[:, 3]
    )
    mu, first, minv = np.unique(mkey, return_index=True, return_inverse=True)
    minv = minv.reshape(-1).astype(np.int64)
    nump = int(np_arr[0])
    meta_pre = np.empty(B, dtype=np.int64)
    meta_post = np.empty(B, dtype=np.int64)
    base = len(pieces)
    for r in first.tolist():
        pre, post = _metadata_pieces(
            metadata_fn,
            wv[wc[r]],
            ev[ec[r]],
            dv[dc[r]],
            board_type,
            nump,
            tuple(levels[r, :nump].tolist()),
        )
        pieces += [pre, post]
    meta_pre[:] = base + 2 * minv
    meta_post[:] = base + 2 * minv + 1
    spool = np.frombuffer(b"".join(pieces), dtype=np.uint8)
    soff = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pieces], out=soff[1:])
    seed = cols["game_seed"].to_numpy(zero_copy_only=False).astype(np.int64)
    move_number = cols["move_number"].to_numpy(zero_copy_only=False).astype(np.int64)
    ply = cols["ply_to_end"].to_numpy(zero_copy_only=False).astype(np.int64)
    line_end = np.empty(B, dtype=np.int64)
    buf = _workspace("buf", total * BYTES_PER_MOVE + B * 8192, np.uint8)
    store.reserve_json()
    buf, store.scratch, end, store.spos = render_batch(
        buf,
        store.scratch,
        states,
        ho,
        row_inst,
        store.ent_beg,
        store.ent_end,
        store.spos,
        store.mv,
        store.aux,
        reg,
        rmove,
        rmove_ok,
        rm_aux,
        spool,
        soff,
        gid_s,
        out_s,
        meta_pre,
        meta_post,
        seed,
        move_number,
        ply,
        zob,
        rules.geo,
        tab.pool,
        tab.poff,
        tab.var_frag,
        tab.var_hole,
        tab.var_nseg,
        tab.pos_buf,
        tab.pos_len,
        tab.key_buf,
        tab.key_len,
        line_end,
    )
    _WORKSPACE["buf"] = buf  # keep what the kernel grew
    return memoryview(buf)[:end], line_end, gvals, int(B - rmove_ok.sum())


def split_rows(batch: pa.RecordBatch):
    """The batch, or consecutive slices of it whose lines fit in about
    MAX_LINE_BYTES (long histories: big boards)."""
    B = batch.num_rows
    if B == 0:
        return
    try:
        _, offs = binary_parts(batch.column("history"))
    except (KeyError, TypeError, pa.ArrowInvalid):
        yield batch
        return
    cost = np.cumsum((offs[1:] - offs[:-1]) // 2 * BYTES_PER_MOVE + 8192)
    if cost[-1] <= MAX_LINE_BYTES:
        yield batch
        return
    start = 0
    base = 0
    for i in range(B):
        if cost[i] - base > MAX_LINE_BYTES and i > start:
            yield batch.slice(start, i - start)
            start = i
            base = cost[i - 1]
    yield batch.slice(start, B - start)
