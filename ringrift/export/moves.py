"""Move tables: every game's engine steps, replayed once, for the JSONL export.

A sample line holds its whole move history, and every history move's JSON
needs facts only a replay gives (the move behind each legal index, lines and
regions, ...). The export keeps replays across batches (fast._Store), which
is enough for rows in game order; but a shuffled aggregate spreads every
game over every export chunk, so each chunk job replays every game of the
dataset, and once the games outgrow the store, a game is replayed again for
many of its rows (on 1M square8 samples: 44% of the export's CPU).

A move table is made once per part (``ringrift moves``, in parallel, in game
order: each game replayed once) and given to every chunk job (``ringrift
export --moves``), which then copies a game's steps instead of replaying.
Nothing is trusted: a row uses the table only where its history's indices
equal the table's and its stored state's digest equals the digest the table
recorded for that step; anything else is replayed as without a table.

File: Parquet, one row per game (from its row with the longest history),
a row group per CHUNK_STEPS steps of games:

    game_id  string
    index    list<int16>   the legal-move index of each step
    move     list<int16>   steps x MF move records (engine/layout.py), flat
    facts    list<int16>   steps x NAUX JSON facts (export/kernels.py A_*),
                           flat; A_REG: -1, or 0 for a step with a territory
                           region (A_REGLEN cells)
    digest   list<uint64>  steps x 2: kernels.state_hash after each step
    regions  list<int16>   the game's territory regions' cells, in step order
                           (a region's cells in the reference's order)

The steps are the row's history, then the move played there (if any).

Narrow: the engine's moves and facts are int32, but every value in them is
a cell (< 469, hexagonal), -1, a move type, a player, a legal index (<
rules.MAX_MOVES_BUFFER = 8192), a line or region ordinal or length (below
the cell count) or a phase: all below 2^15, so the table keeps int16, 60
bytes a step loaded (was 104 with int32: 1.8 GB for 10M samples). Nothing
is narrowed unchecked: a value that does not fit int16, when a table is
made or loaded, is a one-line DataError naming the file; the copy into the
export's int32 store widens exactly (the same bytes as replaying).

Version 1 tables (int32, A_REG an offset) are refused with a one-line error
telling to make them again with ``ringrift moves``: the workflow makes its
tables in the same run as the export (temporary files), so an old one is a
hand-made leftover; replaying in its place would hide a many-fold slower
export.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..dataset.parts import DataError, atomic_output
from ..dataset.schema import (
    StateError,
    binary_parts,
    board_size,
    column_states,
    history_parts,
    state_from_bytes,
)
from ..engine import layout as L
from ..storage import one_line, open_parquet
from . import fast
from .kernels import (
    A_REG,
    A_REGLEN,
    NAUX,
    STEP_INT,
    MoveSteps,
    hash_keys,
    record_games,
)

TABLE_KEY = b"ringrift.move_table"
# 2: int16 index/move/facts/regions, A_REG a flag (1: int32, A_REG an offset)
TABLE_VERSION = 2
_NARROW = pa.int16()
assert np.dtype(_NARROW.to_pandas_dtype()) == np.dtype(STEP_INT)


def _table_schema(meta: dict) -> pa.Schema:
    return pa.schema(
        [
            ("game_id", pa.string()),
            ("index", pa.list_(_NARROW)),
            ("move", pa.list_(_NARROW)),
            ("facts", pa.list_(_NARROW)),
            ("digest", pa.list_(pa.uint64())),
            ("regions", pa.list_(_NARROW)),
        ],
        metadata={TABLE_KEY: json.dumps(meta, sort_keys=True).encode()},
    )


def narrow(values: np.ndarray, where: str, column: str) -> np.ndarray:
    """``values`` as the tables' int16, checked: a value outside int16 is a
    one-line DataError naming ``where`` (the file) and the column, never a
    wrapped value."""
    values = np.asarray(values)
    if values.dtype == STEP_INT:
        return values
    info = np.iinfo(STEP_INT)
    if values.size:
        lo, hi = values.min(), values.max()
        if lo < info.min or hi > info.max:
            bad = int(lo if lo < info.min else hi)
            at = int(np.flatnonzero(values.reshape(-1) == bad)[0])
            raise DataError(
                f"move table {where}: {column} value {bad} (at {at}) does not fit"
                f" {np.dtype(STEP_INT).name} [{info.min}, {info.max}]"
            )
    return values.astype(STEP_INT)


def _longest_rows(inp) -> dict:
    """game id -> (history length, row) of its row with the longest history
    (the first of equals), in the order games first appear."""
    best: dict = {}
    at = 0
    for batch in inp.batches(0, inp.num_rows, columns=("game_id", "history")):
        gc, gv = fast._codes(batch.column("game_id"))
        _, offs = binary_parts(batch.column("history"))
        lens = (offs[1:] - offs[:-1]) // 2  # uint16 indices
        rows = np.arange(at, at + batch.num_rows, dtype=np.int64)
        # per game of the batch: its longest row, the first of equals
        order = np.lexsort((rows, -lens, gc))
        first = np.ones(len(order), dtype=bool)
        first[1:] = gc[order][1:] != gc[order][:-1]
        for i in order[first].tolist():
            g = gv[gc[i]]
            ln = int(lens[i])
            got = best.get(g)
            if got is None or ln > got[0]:
                best[g] = (ln, at + i)
        at += batch.num_rows
    return best


def _gather(inp, rows: np.ndarray) -> pa.RecordBatch:
    """The given rows (sorted) of an input, in that order. Only the row
    groups between the first and the last row are read (a part holds each
    game's rows together, so a chunk of its games is one stretch of it)."""
    parts = []
    at = int(rows[0])
    for batch in inp.batches(at, int(rows[-1]) + 1):
        n = batch.num_rows
        a, b = np.searchsorted(rows, [at, at + n])
        if b > a:
            parts.append(batch.take(pa.array(rows[a:b] - at)))
        at += n
    return pa.Table.from_batches(parts).combine_chunks().to_batches()[0]


# Games are replayed and recorded CHUNK_STEPS steps at a time (the whole
# games that fit), each chunk written as it is done, so a part of any size
# takes about the same memory. Measured on a square8 part of 1M samples
# (14,000 random games sampled every step, 1.8M steps), peak RSS: 467 MB in
# chunks of 100k steps, 563 MB of 300k (~480 bytes a chunk step on ~420 MB),
# 831 MB in one piece; a part of an hour of the default self-play (~50M
# steps) would have taken tens of GB in one piece.
CHUNK_STEPS = 250_000


def _game_chunks(lens: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive games [a, b) of at most ``budget`` steps each (a game has
    at most its history's length + 1 steps), at least one game each."""
    out = []
    a = 0
    n = len(lens)
    ends = np.cumsum(lens + 1)
    while a < n:
        base = ends[a - 1] if a else 0
        b = int(np.searchsorted(ends, base + budget, side="right"))
        b = max(b, a + 1)
        out.append((a, b))
        a = b
    return out


def build_move_table(src: str, out: str, chunk_steps: int = CHUNK_STEPS) -> dict:
    """Write the move table of a sample file (a part, or any ringrift sample
    Parquet) to ``out``; returns counts. Games are recorded ``chunk_steps``
    steps at a time (memory), each chunk a row group; a table of one chunk
    is written in one go."""
    from .jsonl import _Input

    inp = _Input(src)
    best = _longest_rows(inp)
    if not best:
        raise DataError(f"{src} has no rows: no move table to make")
    games = list(best)
    pick = np.array([best[g][1] for g in games], dtype=np.int64)
    lens = np.array([best[g][0] for g in games], dtype=np.int64)
    del best
    chunks = _game_chunks(lens, chunk_steps)
    kinds: set = set()
    totals = {"steps": 0, "regions": 0}

    def recorded(a: int, b: int) -> pa.Table:
        table, chunk_kinds, steps, regions = _record_chunk(inp, src, out, games[a:b], pick[a:b])
        kinds.update(chunk_kinds)
        if len(kinds) != 1:
            raise DataError(
                f"{src} mixes rules (board, players, pie rule, LPS rounds): {sorted(kinds)}"
            )
        totals["steps"] += steps
        totals["regions"] += regions
        return table

    def meta() -> dict:
        board_type, n_players = next(iter(kinds))[:2]
        return {
            "version": TABLE_VERSION,
            "board_type": board_type,
            "num_players": int(n_players),
            "games": len(games),
            "steps": totals["steps"],
            "regions": totals["regions"],
        }

    options = dict(compression="zstd", write_page_checksum=True)
    if len(chunks) == 1:
        table = recorded(*chunks[0])
        counts = meta()
        table = table.replace_schema_metadata(_table_schema(counts).metadata)
        with atomic_output(out) as fh:
            pq.write_table(table, fh, **options)
        return {"input": src, "output": out, **counts}
    # several chunks: each written as it is done to a local scratch file;
    # the totals the file's metadata carries are known at the end, so the
    # row groups are then copied, one at a time, into the table
    with tempfile.TemporaryDirectory(prefix="ringrift-moves-") as tmp:
        scratch = os.path.join(tmp, "chunks.parquet")
        writer = None
        for a, b in chunks:
            table = recorded(a, b)
            if writer is None:
                writer = pq.ParquetWriter(scratch, table.schema, **options)
            writer.write_table(table, row_group_size=table.num_rows)
            del table
        writer.close()
        counts = meta()
        schema = _table_schema(counts)
        pf = pq.ParquetFile(scratch)
        with atomic_output(out) as fh:
            with pq.ParquetWriter(fh, schema, **options) as final:
                for g in range(pf.metadata.num_row_groups):
                    rg = pf.read_row_group(g)
                    final.write_table(rg, row_group_size=rg.num_rows)
    return {"input": src, "output": out, **counts}


def _record_chunk(inp, src: str, out: str, games: list, pick: np.ndarray) -> tuple:
    """(the table rows of these games, their rules' kinds (board, players,
    pie rule, LPS rounds), their steps, their region cells): each game
    replayed from its row with the longest history; no rows when the games
    mix rules."""
    from .jsonl import Replayer

    sorted_rows = np.sort(pick)
    batch = _gather(inp, sorted_rows)
    # the gathered batch is in row order; rows[i] = game i's row in it
    rows = np.searchsorted(sorted_rows, pick).astype(np.int64)
    bt = batch.column("board_type").cast(pa.string())
    nump = batch.column("num_players").to_numpy(zero_copy_only=False)
    boards = list(zip(bt.to_pylist(), nump.tolist()))
    try:
        if len(set(boards)) == 1:
            states = column_states(batch.column("state"), *board_size(*boards[0]))
        else:  # mixed rules, refused below: decode row by row, each on its board
            states = []
            for i, (v, b) in enumerate(zip(batch.column("state").to_pylist(), boards)):
                try:
                    states.append(state_from_bytes(v, *board_size(*b))[: L.HDR])
                except ValueError:
                    raise StateError(i) from None
    except StateError as exc:
        raise DataError(
            f"{src}: game {batch.column('game_id')[exc.row]}: stored state does not fit its board"
        ) from None
    header = np.asarray(states)[:, : L.HDR]
    kinds = set(
        zip(
            bt.to_pylist(),
            nump.tolist(),
            header[:, L.SWAP_EN].tolist(),
            header[:, L.LPS_REQ].tolist(),
        )
    )
    if len(kinds) != 1:
        return None, kinds, 0, 0  # the caller says which rules are mixed
    board_type, n_players, swap, lps = next(iter(kinds))
    rules = Replayer().rules_for(board_type, n_players, header[0])
    s0 = rules.new_game()
    slen = len(s0)
    hist = history_parts(batch.column("history"))
    if hist is None:
        raise DataError(f"{src}: a move history is not whole uint16 indices (corrupt data)")
    hv, ho = hist
    rmove_ok = ~batch.column("move").is_null().to_numpy(zero_copy_only=False)
    rmove = fast._fixed(batch.column("move"), L.MF, np.int32)
    steps = (ho[1:] - ho[:-1])[rows] + rmove_ok[rows]
    off = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(steps, out=off[1:])
    status, (mv, aux, idx, hsh, reg), new_reg, nreg = record_games(
        rules.geo, s0, rows, off, hv, ho, states, rmove, rmove_ok, hash_keys(slen)
    )
    if status < 0:
        g = games[-1 - status]
        raise DataError(
            f"{src}: game {g}: its recorded moves do not replay to its stored states (corrupt data)"
        )
    reg = reg.copy()
    for a, ln in new_reg[:nreg].tolist():  # the reference's region order
        reg[a : a + ln] = fast._region_order(rules.board, reg[a : a + ln].copy())
    # regions per game: the game's region steps' cells, in step order (as
    # record_games appended them); A_REG only says a step has one
    has = aux[:, A_REG] >= 0
    game_of = np.repeat(np.arange(len(rows)), steps)
    rbeg = np.zeros(len(rows) + 1, dtype=np.int64)
    per_game = np.bincount(game_of[has], weights=aux[has, A_REGLEN], minlength=len(rows))
    np.cumsum(per_game.astype(np.int64), out=rbeg[1:])
    assert rbeg[-1] == len(reg), "record_games: every region is a region step's"
    aux[has, A_REG] = 0
    # narrowed one by one, each int32 original dropped as its copy is made
    del batch, states, hv, has, game_of
    idx = narrow(idx, out, "index")
    mv = narrow(mv, out, "move")
    aux = narrow(aux, out, "facts")
    reg = narrow(reg, out, "regions")

    def listed(values, per_step: int, offsets=off):
        return pa.ListArray.from_arrays(
            pa.array(offsets * per_step, pa.int32()), pa.array(values.reshape(-1))
        )

    table = pa.Table.from_arrays(
        [
            pa.array(games, pa.string()),
            listed(idx, 1),
            listed(mv, L.MF),
            listed(aux, NAUX),
            listed(hsh, 2),
            pa.ListArray.from_arrays(pa.array(rbeg, pa.int32()), pa.array(reg)),
        ],
        schema=_table_schema({}),
    )
    return table, kinds, int(off[-1]), len(reg)


# A loaded table above this many bytes lives in a mapped scratch file, not in
# the heap: the kernel pages it in as it reads (STEP_BYTES a step: ~105 MB
# for 1M square8 samples) and can drop clean pages under memory pressure.
MAPPED_BYTES = 256 << 20
# a loaded step: move, facts and legal index narrowed, the digest's 2 x 8
# bytes (60; was 104 in int32); regions are apart (a few cells a game)
STEP_BYTES = np.dtype(STEP_INT).itemsize * (L.MF + NAUX + 1) + 16


class MoveTable:
    """The move tables of an export, loaded: every game's steps in flat
    arrays (``steps``, a kernels.MoveSteps) and where each game's are."""

    def __init__(self, uris: list[str], scratch: str | None = None):
        self.where: dict[str, tuple[int, int]] = {}
        metas = [_read_meta(uri) for uri in uris]
        total = sum(int(m["steps"]) for m in metas)
        self._dir = None
        if total * STEP_BYTES > MAPPED_BYTES:
            self._dir = tempfile.TemporaryDirectory(prefix="ringrift-moves-", dir=scratch)
        n_reg = sum(int(m["regions"]) for m in metas)
        mv = self._array("move", (total, L.MF), STEP_INT)
        aux = self._array("facts", (total, NAUX), STEP_INT)
        idx = self._array("index", (total,), STEP_INT)
        hsh = self._array("digest", (total, 2), np.uint64)
        reg = self._array("regions", (n_reg,), STEP_INT)
        rsteps, rbegs = [], []
        at = 0
        rat = 0
        for uri, meta in zip(uris, metas):
            # column by column, row group by row group, straight into place:
            # no whole table in memory besides the loaded one
            with open_parquet(uri, "move table") as pf:
                lens = _list_lengths(pf, uri, "index")
                n = int(lens.sum())
                if n != int(meta["steps"]):
                    raise DataError(
                        f"move table {uri}: {n} steps, its metadata says {meta['steps']}"
                    )
                starts = np.cumsum(lens) - lens + at
                gids = [g for c in _chunks(pf, uri, "game_id") for g in c.to_pylist()]
                for g, a, ln in zip(gids, starts.tolist(), lens.tolist()):
                    if g in self.where:
                        raise DataError(f"move table {uri}: game {g} is also in another move table")
                    self.where[g] = (a, ln)
                nr = int(meta["regions"])
                _fill(pf, uri, "facts", aux[at : at + n])
                _fill(pf, uri, "move", mv[at : at + n])
                _fill(pf, uri, "index", idx[at : at + n])
                _fill(pf, uri, "digest", hsh[at : at + n])
                _fill(pf, uri, "regions", reg[rat : rat + nr])
                rstep, rbeg = _region_steps(
                    uri, lens, aux[at : at + n], _list_lengths(pf, uri, "regions")
                )
            rsteps.append(rstep + at)
            rbegs.append(rbeg + rat)
            at += n
            rat += nr
        self.steps = MoveSteps(
            mv,
            aux,
            idx,
            hsh,
            reg,
            np.concatenate(rsteps or [np.zeros(0, np.int64)]),
            np.concatenate(rbegs or [np.zeros(0, np.int64)]),
        )

    def _array(self, name: str, shape: tuple, dtype) -> np.ndarray:
        if self._dir is None or not shape[0]:
            return np.zeros(shape, dtype=dtype)
        path = os.path.join(self._dir.name, name)
        return np.memmap(path, dtype=dtype, mode="w+", shape=shape)

    def spans(self, gids: list) -> np.ndarray:
        """(start, length) of each game's steps; (-1, 0) for a game without."""
        where = self.where
        return np.array([where.get(g, (-1, 0)) for g in gids], dtype=np.int64).reshape(-1, 2)


def _chunks(pf, uri: str, name: str):
    """A column of a move table, one row group at a time."""
    for i in range(pf.num_row_groups):
        try:
            col = pf.read_row_group(i, columns=[name]).column(0)
        except KeyError:
            raise DataError(f"move table {uri} has no column {name}") from None
        except Exception as exc:  # a bad page
            raise DataError(f"corrupt or unreadable move table {uri}: {one_line(exc)}") from None
        for chunk in col.chunks:
            if chunk.null_count:
                raise DataError(f"move table {uri}: {name} has nulls")
            yield chunk


def _list_lengths(pf, uri: str, name: str) -> np.ndarray:
    """The lengths of a list column's lists (one a game)."""
    parts = [pc.list_value_length(c).to_numpy(zero_copy_only=False) for c in _chunks(pf, uri, name)]
    return np.concatenate(parts or [np.zeros(0)]).astype(np.int64)


def _fill(pf, uri: str, name: str, dest: np.ndarray) -> None:
    """A list column's values into ``dest`` (as flat), narrowed to its type
    (checked, see narrow), which they must fill exactly."""
    flat = dest.reshape(-1)
    pos = 0
    for chunk in _chunks(pf, uri, name):
        v = chunk.flatten().to_numpy(zero_copy_only=False)
        if pos + len(v) <= len(flat):  # else only counted, for the error
            if flat.dtype == STEP_INT:
                flat[pos : pos + len(v)] = narrow(v, uri, name)
            else:
                flat[pos : pos + len(v)] = v.astype(flat.dtype, copy=False)
        pos += len(v)
    if pos != len(flat):
        raise DataError(f"move table {uri}: {name} has {pos} values, expected {len(flat)}")


def _region_steps(uri: str, lens: np.ndarray, facts: np.ndarray, reg_lens: np.ndarray) -> tuple:
    """(the steps with a territory region, where each one's cells begin in
    the file's ``regions``), checked: every game's regions (reg_lens cells)
    are its region steps' cells (A_REGLEN each), in step order."""
    has = facts[:, A_REG] >= 0
    rstep = np.flatnonzero(has).astype(np.int64)
    rlen = facts[has, A_REGLEN].astype(np.int64)
    game_of = np.repeat(np.arange(len(lens)), lens)[rstep]
    per_game = np.zeros(len(lens), dtype=np.int64)
    np.add.at(per_game, game_of, rlen)
    if (rlen <= 0).any() or not np.array_equal(per_game, reg_lens):
        raise DataError(f"move table {uri}: its regions are not its steps' territory regions")
    rbeg = np.zeros(len(rlen), dtype=np.int64)
    np.cumsum(rlen[:-1], out=rbeg[1:])
    return rstep, rbeg


def _read_meta(uri: str) -> dict:
    """A move table's metadata (checked: a ringrift move table of this version)."""
    with open_parquet(uri, "move table") as pf:
        meta = json.loads((pf.schema_arrow.metadata or {}).get(TABLE_KEY, b"null"))
        if not isinstance(meta, dict) or not {"version", "steps", "regions"} <= set(meta):
            raise DataError(f"{uri} is not a ringrift move table (`ringrift moves` writes them)")
        if meta.get("version") != TABLE_VERSION:
            raise DataError(
                f"move table {uri} has version {meta.get('version')}, expected {TABLE_VERSION}:"
                " make it again with `ringrift moves`"
            )
        return meta
