"""Parquet samples -> ``.jsonl.gz`` lines in the seed's training-sample format.

One line per Parquet row, in input order::

    {"state": <GameState, snake_case, full move_history>, "outcome": ...,
     "board_type": ..., "game_id": ..., "move_number": ..., "ply_to_end": ...,
     "move": <the chosen move's JSON; absent on terminal samples>,
     "metadata": {"worker_id", "engine_mode", "difficulty_band", "seed",
                  "player_assignments": {"player_N": {"ai_type", "difficulty",
                                                      "model_id": null,
                                                      "elo_estimate": null}}}}

Each sample's state is rebuilt by replaying the row's ``history`` (legal-move
index per engine step) from a new game, and must equal the row's stored state
columns exactly; any difference (or an index that is not legal, or a chosen
move that is not legal in the rebuilt state) is corruption and raises a
one-line ``DataError`` naming the game. Rows are read in record batches,
never the whole dataset.

Two paths give the same bytes: ``fast.batch_lines`` (Numba; one replay per
game and job, kept across batches, JSON written from byte fragments) and
``sample_from_row`` + ``json.dumps`` here (plain Python, the reference). A
batch the fast path does not take (nulls, mixed boards, anything that does
not check out) is redone on the slow path, which names the problem.

Speed (benchmarks/data_path.py, square8 2p mixed/light, 2,000 games, one
core, CPU time after loading the kernels): a self-play part (game order) and
the shuffled aggregate both export at ~10,000-13,000 samples/s, ~15x and ~12x the
plain path. The aggregate's rate holds while the job's games fit the replay
store (fast.STORE_BYTES, ~11 KB a square8 game); on a chunk of a much larger
aggregate most rows replay their game alone again (engine move generation,
~3.4 us a step), as before. Chunk jobs scale that out.

``--chunk K/N`` exports the K-th (0-based) of N contiguous row ranges of the
inputs, in input order; each chunk is one complete gzip member, so the
concatenation of the chunks in order (``ringrift concat``) decompresses to
exactly the single-job export.

``metadata.seed`` is the game's own seed (``game_seed``: it alone reproduces
the game; rows of many workers are mixed in one file). ``ai_type`` comes from
the player ladder's kind for the seat's level, ``difficulty`` is the level.

The output appears complete or not at all: locally it is written to a
temporary file beside the target and renamed; on object storage it is written
to a local temporary file and uploaded as one object. Gzip headers carry no
timestamp, so the same input gives byte-identical output. Compression is
ISA-L's deflate at level 2 (the ``isal`` package; about 1.4 GB/s against
zlib level 6's 60-80 MB/s, which alone capped the export at ~2,000 samples/s,
for ~1.6x larger files); plain zlib at level 1 where isal is missing. Only
the compressed bytes depend on that choice, never the lines.
"""

from __future__ import annotations

import json
import sys
import time
from collections import OrderedDict
from contextlib import contextmanager

import fsspec
import numpy as np
import pyarrow as pa

from ..dataset.parts import DataError, atomic_output, verify_file
from ..dataset.schema import SCHEMA_VERSION, history_of, row_to_state
from ..engine import layout as L
from ..engine.api import Rules
from ..engine.rules import apply_move, legal_moves
from ..reference.move_json import move_to_json
from ..reference.state_json import state_to_json
from ..storage import one_line, open_parquet
from . import fast

try:  # ISA-L deflate: ~20x zlib level 6 on these lines (see the module doc)
    from isal import isal_zlib as _deflate

    GZIP_LEVEL = 2
except ImportError:  # pragma: no cover - isal is a dependency
    import zlib as _deflate

    GZIP_LEVEL = 1

BATCH_ROWS = 1024
CACHE_GAMES = 16
PROGRESS_INTERVAL = 10.0  # seconds between progress lines


# ---- replay with a small per-game cache -------------------------------------------


class _Replay:
    """Longest replayed history of one game: indices, move records, move JSON."""

    __slots__ = ("hist", "moves", "jsons", "final")

    def __init__(self):
        self.hist: list[int] = []
        self.moves: list[np.ndarray] = []
        self.jsons: list[dict] = []
        self.final = None


class Replayer:
    def __init__(self, cache_games: int = CACHE_GAMES):
        self._rules: dict[tuple, Rules] = {}
        self._cache: OrderedDict = OrderedDict()
        self._cache_games = cache_games
        self.fast_stores: dict = {}  # the fast path's replays (fast._Store) per rules
        self.move_table = None  # the games' steps (moves.MoveTable), if given

    def rules_for(self, board_type: str, num_players: int, header) -> Rules:
        key = (board_type, int(num_players), bool(header[L.SWAP_EN]), int(header[L.LPS_REQ]))
        r = self._rules.get(key)
        if r is None:
            r = Rules(board_type, int(num_players), swap_rule=key[2], lps_rounds=key[3])
            self._rules[key] = r
        return r

    def replay(self, rules: Rules, game_id: str, history) -> tuple[np.ndarray, list[dict]]:
        """State after `history` and the move JSON list of those steps."""
        history = [int(i) for i in history]
        ckey = (game_id, rules.board_type, rules.num_players, rules.swap_rule, rules.lps_rounds)
        ent = self._cache.get(ckey)
        if ent is None:
            ent = _Replay()
            self._cache[ckey] = ent
            while len(self._cache) > self._cache_games:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(ckey)
        common = 0
        lim = min(len(history), len(ent.hist))
        while common < lim and ent.hist[common] == history[common]:
            common += 1
        if common == len(history) == len(ent.hist) and ent.final is not None:
            return ent.final, ent.jsons[:common]
        # known prefix: apply the recorded moves, no move generation needed
        s = rules.new_game()
        for mv in ent.moves[:common]:
            s = apply_move(rules.geo, s, mv)
        if common == len(history):
            return s, ent.jsons[:common]
        # the rest: legal list, chosen index, move JSON
        del ent.hist[common:], ent.moves[common:], ent.jsons[common:]
        ent.final = None
        for step in range(common, len(history)):
            if rules.is_over(s):
                raise DataError(
                    f"game {game_id}: history continues after the game ended "
                    f"(step {step}; corrupt data)"
                )
            legal = legal_moves(rules.geo, s)
            i = history[step]
            if i >= len(legal):
                raise DataError(
                    f"game {game_id}: move index {i} at step {step} is not legal "
                    f"({len(legal)} legal moves; corrupt data)"
                )
            mv = legal[i].copy()
            ent.jsons.append(move_to_json(rules, s, mv, step + 1))
            ent.moves.append(mv)
            ent.hist.append(i)
            s = apply_move(rules.geo, s, mv)
        ent.final = s
        return s, ent.jsons[: len(history)]


# ---- sample lines -------------------------------------------------------------------

_KIND_CACHE: dict[tuple, str | None] = {}


def _ai_type(level: int, board_type: str):
    key = (int(level), board_type)
    if key not in _KIND_CACHE:
        try:
            from ..players.ladder import player_params
            from ..players.params import KIND_NAMES
        except ImportError:  # ladder not installed: the level alone
            _KIND_CACHE[key] = None
        else:
            _KIND_CACHE[key] = KIND_NAMES[int(player_params(int(level), board_type)[0])]
    return _KIND_CACHE[key]


def _metadata(row: dict) -> dict:
    n = int(row["num_players"])
    levels = list(row.get("seat_levels") or [])[:n]
    return {
        "worker_id": row["worker_id"],
        "engine_mode": row["engine_mode"],
        "difficulty_band": row["difficulty_band"],
        "seed": int(row["game_seed"]),
        "player_assignments": {
            f"player_{p}": {
                "ai_type": _ai_type(levels[p - 1], row["board_type"]) if p <= len(levels) else None,
                "difficulty": int(levels[p - 1]) if p <= len(levels) else None,
                "model_id": None,
                "elo_estimate": None,
            }
            for p in range(1, n + 1)
        },
    }


def sample_from_row(row: dict, replayer: Replayer | None = None) -> dict:
    """One Parquet row (dict) -> the seed's sample dict (checked by replay)."""
    replayer = replayer or Replayer(cache_games=1)
    gid = row["game_id"]
    try:
        stored = row_to_state(row)
        rules = replayer.rules_for(row["board_type"], row["num_players"], stored)
    except (ValueError, TypeError) as exc:
        raise DataError(f"game {gid}: {exc} (corrupt data)") from None
    try:
        history = history_of(row["history"])
    except (ValueError, TypeError):
        raise DataError(f"game {gid}: unreadable move history (corrupt data)") from None
    s, moves = replayer.replay(rules, gid, history)
    if stored.shape != s.shape or not np.array_equal(stored, s):
        raise DataError(
            f"game {gid}: stored state at step {len(moves)} differs from the "
            "state its history replays to (corrupt data)"
        )
    out = {
        "state": state_to_json(rules, s, moves, game_id=gid),
        "outcome": float(row["outcome"]),
        "board_type": rules.board_type,
        "game_id": gid,
        "move_number": int(row["move_number"]),
        "ply_to_end": int(row["ply_to_end"]),
    }
    mv = row.get("move")
    if mv is not None:
        mv = np.asarray(mv, dtype=np.int32)
        if not (legal_moves(rules.geo, s) == mv).all(axis=1).any():
            raise DataError(
                f"game {gid}: recorded move at step {len(moves)} is not legal "
                "in its state (corrupt data)"
            )
        out["move"] = move_to_json(rules, s, mv, len(moves) + 1)
    out["metadata"] = _metadata(row)
    return out


# ---- reading and writing -------------------------------------------------------------

# columns a sample line is built from (others, e.g. the policy, are not read)
REQUIRED_COLUMNS = (
    "game_id",
    "worker_id",
    "game_seed",
    "board_type",
    "num_players",
    "engine_mode",
    "difficulty_band",
    "seat_levels",
    "move_number",
    "ply_to_end",
    "outcome",
    "move",
    "history",
    "state",
)


def _check_columns(names, where: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in set(names)]
    if missing:
        raise DataError(
            f"{where} lacks the sample column(s) {', '.join(missing)} (not a ringrift sample file)"
        )


@contextmanager
def _open_parquet(uri: str):
    """A checked ringrift sample file; any failure is one DataError naming it."""
    with open_parquet(uri, "input") as pf:
        meta = pf.schema_arrow.metadata or {}
        version = meta.get(b"ringrift.schema_version")
        if version is None:
            raise DataError(f"{uri} is not a ringrift sample file (no schema version)")
        if int(version) != SCHEMA_VERSION:
            raise DataError(f"{uri} has schema version {int(version)}, expected {SCHEMA_VERSION}")
        _check_columns(pf.schema_arrow.names, uri)
        yield pf


class _Input:
    """One input (a pyarrow Table/RecordBatch or a Parquet URI): its row count
    and its record batches over a row range, reading only the sample columns."""

    def __init__(self, src):
        self.src = src
        if isinstance(src, pa.RecordBatch):
            src = pa.Table.from_batches([src])
            self.src = src
        if isinstance(src, pa.Table):
            _check_columns(src.schema.names, "input table")
            self.uri = None
            self.num_rows = src.num_rows
            return
        self.uri = str(src)
        verify_file(self.uri)  # content digest and versions before any row is read
        with _open_parquet(self.uri) as pf:
            self.num_rows = pf.metadata.num_rows

    def batches(self, lo: int, hi: int, columns=REQUIRED_COLUMNS):
        """Record batches of rows [lo, hi) of this input, in order."""
        if hi <= lo:
            return
        if self.uri is None:
            table = self.src.select(list(columns)).slice(lo, hi - lo)
            yield from table.to_batches(max_chunksize=BATCH_ROWS)
            return
        uri = self.uri
        with _open_parquet(uri) as pf:
            groups, start, first = [], 0, None
            for g in range(pf.metadata.num_row_groups):
                n = pf.metadata.row_group(g).num_rows
                if start < hi and start + n > lo:
                    groups.append(g)
                    first = start if first is None else first
                start += n
            at = first or 0
            try:
                for batch in pf.iter_batches(
                    batch_size=BATCH_ROWS, row_groups=groups, columns=list(columns)
                ):
                    a, b = max(lo, at), min(hi, at + batch.num_rows)
                    if b > a:
                        yield batch.slice(a - at, b - a)
                    at += batch.num_rows
                    if at >= hi:
                        break
            except DataError:
                raise
            except Exception as exc:  # a page or row group that does not decode
                raise DataError(f"corrupt or unreadable input {uri}: {one_line(exc)}") from None


def chunk_range(total: int, chunk: tuple[int, int] | None) -> tuple[int, int]:
    """Rows [lo, hi) of chunk (K, N): the K-th of N near-equal contiguous ranges."""
    if chunk is None:
        return 0, total
    k, n = chunk
    return k * total // n, (k + 1) * total // n


def parse_chunk(text: str) -> tuple[int, int]:
    """ "K/N" -> (K, N) with 0 <= K < N."""
    k, sep, n = str(text).partition("/")
    try:
        k, n = int(k), int(n)
    except ValueError:
        k = n = -1
    if not sep or n < 1 or not 0 <= k < n:
        raise DataError(f"--chunk must be K/N with 0 <= K < N (K counts from 0), got {text!r}")
    return k, n


class Progress:
    """A line with rate and ETA every `interval` seconds on stderr (when on)."""

    def __init__(self, total: int, enabled: bool, interval: float = 10.0, stream=None):
        self.total, self.enabled, self.interval = total, enabled, interval
        self.stream = stream or sys.stderr
        self.t0 = self.last = time.perf_counter()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last < self.interval:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        left = (self.total - done) / rate if rate > 0 else float("inf")
        pct = 100.0 * done / self.total if self.total else 100.0
        self.stream.write(
            f"export: {done:,}/{self.total:,} samples ({pct:.1f}%), "
            f"{rate:,.0f} samples/s, ETA {_duration(left)}\n"
        )
        self.stream.flush()


def _duration(sec: float) -> str:
    if sec == float("inf"):
        return "?"
    sec = int(sec + 0.5)
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _slow_lines(batch: pa.RecordBatch, replayer: Replayer) -> tuple[bytes, list[str], int]:
    out, games, terminal = [], [], 0
    for row in batch.to_pylist():
        sample = sample_from_row(row, replayer)
        out.append(json.dumps(sample, separators=(",", ":")).encode())
        out.append(b"\n")
        games.append(row["game_id"])
        terminal += "move" not in sample
    return b"".join(out), games, terminal


def sample_lines(batch: pa.RecordBatch, replayer: Replayer, use_fast: bool = True):
    """(bytes, game ids, terminal samples) of a batch's lines: the fast path,
    or the slow one for a batch the fast path does not take. The bytes may be
    a view of a reused buffer: use them before the next call."""
    if use_fast:
        got = fast.batch_lines(batch, replayer, _metadata)
        if got is not None:
            data, _ends, games, terminal = got
            return data, games, terminal
    return _slow_lines(batch, replayer)


class _Deflater:
    """gzip compression fed in fixed-size input blocks, so the compressed bytes
    depend on the lines alone, not on how they arrive in batches (ISA-L's
    output depends on the sizes of the calls)."""

    BLOCK = 4 << 20

    def __init__(self, raw):
        self.raw = raw
        self.comp = _deflate.compressobj(GZIP_LEVEL, _deflate.DEFLATED, 31)
        self.pending = bytearray()

    def write(self, data) -> None:
        data = memoryview(data).cast("B")
        i = 0
        if self.pending:
            i = min(len(data), self.BLOCK - len(self.pending))
            self.pending += data[:i]
            if len(self.pending) < self.BLOCK:
                return
            self.raw.write(self.comp.compress(self.pending))
            self.pending = bytearray()
        while len(data) - i >= self.BLOCK:
            self.raw.write(self.comp.compress(data[i : i + self.BLOCK]))
            i += self.BLOCK
        self.pending += data[i:]

    def close(self) -> None:
        if self.pending:
            self.raw.write(self.comp.compress(self.pending))
        self.raw.write(self.comp.flush())


def _load_kernels(inputs: list[_Input], lo: int, hi: int) -> None:
    """Load the fast path's kernels (Numba's cache) and tables on the first
    row of the range, before the export's clock starts: a fixed cost per
    process (~0.7 s CPU), reported apart from the per-sample rate. The row's
    line is thrown away; anything wrong with it shows again in the export."""
    start = 0
    for inp in inputs:
        a, b = max(lo, start) - start, min(hi, start + inp.num_rows) - start
        start += inp.num_rows
        if b > a:
            for batch in inp.batches(a, a + 1):
                try:
                    fast.batch_lines(batch, Replayer(), _metadata)
                except Exception:  # noqa: BLE001 - the export itself reports it
                    pass
                return


def export_samples(
    part_uris_or_tables,
    out_uri: str,
    *,
    chunk: tuple[int, int] | None = None,
    progress: bool = False,
    use_fast: bool = True,
    moves: list[str] | None = None,
) -> dict:
    """Write every row of the inputs (or of one chunk of them) as one JSON
    line; returns counts. ``moves``: move tables of the games (moves.py)."""
    inputs = [_Input(src) for src in part_uris_or_tables]
    total = sum(i.num_rows for i in inputs)
    lo, hi = chunk_range(total, chunk)
    c0 = time.process_time()
    if use_fast:
        _load_kernels(inputs, lo, hi)
    load_cpu = time.process_time() - c0
    replayer = Replayer()
    if moves and use_fast:
        from .moves import MoveTable

        replayer.move_table = MoveTable(list(moves))
    samples = 0
    games: set[str] = set()
    terminal = 0
    meter = Progress(hi - lo, progress, PROGRESS_INTERVAL)
    t0 = time.perf_counter()
    c0 = time.process_time()
    with atomic_output(out_uri) as raw:
        sink = _Deflater(raw) if out_uri.endswith(".gz") else raw
        start = 0
        for inp in inputs:
            a, b = max(lo, start) - start, min(hi, start + inp.num_rows) - start
            start += inp.num_rows
            for batch in inp.batches(a, b):
                for sub in fast.split_rows(batch):
                    data, gids, term = sample_lines(sub, replayer, use_fast)
                    sink.write(data)
                    samples += sub.num_rows
                    games.update(gids)
                    terminal += term
                    meter.update(samples)
        if sink is not raw:
            sink.close()
    return {
        "inputs": len(inputs),
        "samples": samples,
        "games": len(games),
        "terminal_samples": terminal,
        "output": out_uri,
        "rows": [lo, hi],
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "load_cpu_seconds": load_cpu,
        # game instances whose steps came from a move table, not a replay
        "table_extensions": sum(int(st.flags[1]) for st in replayer.fast_stores.values()),
    }


def _check_output(output: str) -> None:
    if not output or not (output.endswith(".jsonl.gz") or output.endswith(".jsonl")):
        raise DataError(f"output must be a .jsonl.gz (or .jsonl) path or URI, got {output!r}")


def main_export(
    inputs: list[str],
    output: str,
    *,
    chunk: str | None = None,
    progress: bool = False,
    full: bool = False,
    moves: list[str] | None = None,
):
    """CLI entry: `ringrift export --output OUT [--chunk K/N] [--moves T...] INPUT...`; returns
    the number of samples written (the counts dict with ``full=True``)."""
    if not inputs:
        raise DataError("no input files to export")
    _check_output(output)
    parsed = parse_chunk(chunk) if chunk is not None else None
    if parsed is not None and not output.endswith(".gz"):
        raise DataError("--chunk writes gzip members: the output must end in .jsonl.gz")
    res = export_samples(inputs, output, chunk=parsed, progress=progress, moves=moves)
    return res if full else int(res["samples"])


# ---- concatenating chunk pieces ---------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"
COPY_BYTES = 8 << 20


def concat_pieces(pieces: list[str], output: str) -> dict:
    """Concatenate gzip files (members) into one .jsonl.gz: gunzip of the
    result is the pieces' lines in the order given. Every piece must exist
    and start like a gzip file; the output appears complete or not at all."""
    if not pieces:
        raise DataError("no pieces to concatenate")
    if not output or not output.endswith(".jsonl.gz"):
        raise DataError(f"output must be a .jsonl.gz path or URI, got {output!r}")
    total = 0
    with atomic_output(output) as out:
        for uri in pieces:
            try:
                with fsspec.open(uri, "rb") as fh:
                    head = fh.read(COPY_BYTES)
                    if head[:2] != _GZIP_MAGIC:
                        raise DataError(f"{uri} is not a gzip file (piece of an export expected)")
                    while head:
                        out.write(head)
                        total += len(head)
                        head = fh.read(COPY_BYTES)
            except DataError:
                raise
            except FileNotFoundError:
                raise DataError(f"piece not found: {uri}") from None
            except Exception as exc:
                raise DataError(f"cannot read piece {uri}: {one_line(exc)}") from None
    return {"pieces": len(pieces), "bytes": total, "output": output}
