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
never the whole dataset; replays of recently seen games are cached, so the
samples of one game share the work.

``metadata.seed`` is the game's own seed (``game_seed``: it alone reproduces
the game; rows of many workers are mixed in one file). ``ai_type`` comes from
the player ladder's kind for the seat's level, ``difficulty`` is the level.

The output appears complete or not at all: locally it is written to a
temporary file beside the target and renamed; on object storage it is written
to a local temporary file and uploaded as one object. Gzip headers carry no
timestamp, so the same input gives byte-identical output.
"""
from __future__ import annotations

import gzip
import json
from collections import OrderedDict

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..dataset.parts import DataError, atomic_output
from ..dataset.schema import SCHEMA_VERSION, row_to_state
from ..engine import layout as L
from ..engine.api import Rules
from ..engine.rules import apply_move, legal_moves
from .move_json import move_to_json
from .state_json import state_to_json

BATCH_ROWS = 1024
CACHE_GAMES = 16


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
                raise DataError(f"game {game_id}: history continues after the game ended "
                                f"(step {step}; corrupt data)")
            legal = legal_moves(rules.geo, s)
            i = history[step]
            if i >= len(legal):
                raise DataError(f"game {game_id}: move index {i} at step {step} is not legal "
                                f"({len(legal)} legal moves; corrupt data)")
            mv = legal[i].copy()
            ent.jsons.append(move_to_json(rules, s, mv, step + 1))
            ent.moves.append(mv)
            ent.hist.append(i)
            s = apply_move(rules.geo, s, mv)
        ent.final = s
        return s, ent.jsons[:len(history)]


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
            } for p in range(1, n + 1)
        },
    }


def sample_from_row(row: dict, replayer: Replayer | None = None) -> dict:
    """One Parquet row (dict) -> the seed's sample dict (checked by replay)."""
    replayer = replayer or Replayer(cache_games=1)
    gid = row["game_id"]
    header = row["header"]
    if header is None or len(header) != L.HDR:
        raise DataError(f"game {gid}: sample has no valid state header (corrupt data)")
    try:
        rules = replayer.rules_for(row["board_type"], row["num_players"], header)
    except ValueError as exc:
        raise DataError(f"game {gid}: {exc}") from None
    s, moves = replayer.replay(rules, gid, row["history"] or [])
    try:
        stored = row_to_state(row)
    except (ValueError, TypeError, IndexError) as exc:
        raise DataError(f"game {gid}: unreadable stored state ({exc}; corrupt data)") from None
    if stored.shape != s.shape or not np.array_equal(stored, s):
        raise DataError(f"game {gid}: stored state at step {len(moves)} differs from the "
                        "state its history replays to (corrupt data)")
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
            raise DataError(f"game {gid}: recorded move at step {len(moves)} is not legal "
                            "in its state (corrupt data)")
        out["move"] = move_to_json(rules, s, mv, len(moves) + 1)
    out["metadata"] = _metadata(row)
    return out


# ---- reading and writing -------------------------------------------------------------

# columns a sample line is built from (others, e.g. the policy, are not exported)
REQUIRED_COLUMNS = (
    "game_id", "worker_id", "game_seed", "board_type", "num_players", "engine_mode",
    "difficulty_band", "seat_levels", "move_number", "ply_to_end", "outcome", "move",
    "history", "header", "height", "marker", "collapsed", "stamp", "rings",
)


def _check_columns(names, where: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in set(names)]
    if missing:
        raise DataError(f"{where} lacks the sample column(s) {', '.join(missing)} "
                        "(not a ringrift sample file)")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _batches(src):
    """Record batches of one input: a pyarrow Table/RecordBatch or a URI."""
    if isinstance(src, pa.Table):
        _check_columns(src.schema.names, "input table")
        yield from src.to_batches(max_chunksize=BATCH_ROWS)
        return
    if isinstance(src, pa.RecordBatch):
        _check_columns(src.schema.names, "input batch")
        yield src
        return
    uri = str(src)
    try:
        with fsspec.open(uri, "rb") as fh:
            pf = pq.ParquetFile(fh)
            meta = pf.schema_arrow.metadata or {}
            version = meta.get(b"ringrift.schema_version")
            if version is None:
                raise DataError(f"{uri} is not a ringrift sample file (no schema version)")
            if int(version) != SCHEMA_VERSION:
                raise DataError(f"{uri} has schema version {int(version)}, "
                                f"expected {SCHEMA_VERSION}")
            _check_columns(pf.schema_arrow.names, uri)
            yield from pf.iter_batches(batch_size=BATCH_ROWS)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"input not found: {uri}") from None
    except Exception as exc:  # corrupt file, bad URI, storage access/credentials, ...
        raise DataError(f"corrupt or unreadable input {uri}: {_one_line(exc)}") from None


def export_samples(part_uris_or_tables, out_uri: str) -> dict:
    """Write every row of the inputs as one JSON line; returns counts."""
    inputs = list(part_uris_or_tables)
    replayer = Replayer()
    samples = 0
    games: set[str] = set()
    terminal = 0
    with atomic_output(out_uri) as raw:
        sink = (gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
                if out_uri.endswith(".gz") else raw)
        try:
            for src in inputs:
                for batch in _batches(src):
                    for row in batch.to_pylist():
                        sample = sample_from_row(row, replayer)
                        sink.write(json.dumps(sample, separators=(",", ":")).encode())
                        sink.write(b"\n")
                        samples += 1
                        games.add(row["game_id"])
                        terminal += "move" not in sample
        finally:
            if sink is not raw:
                sink.close()
    return {"inputs": len(inputs), "samples": samples, "games": len(games),
            "terminal_samples": terminal, "output": out_uri}


def main_export(inputs: list[str], output: str) -> int:
    """CLI entry: `ringrift export --output OUT INPUT...`; returns the number of
    samples written (``export_samples`` returns the fuller counts)."""
    if not inputs:
        raise DataError("no input files to export")
    if not output or not (output.endswith(".jsonl.gz") or output.endswith(".jsonl")):
        raise DataError(f"output must be a .jsonl.gz (or .jsonl) path or URI, got {output!r}")
    return int(export_samples(inputs, output)["samples"])
