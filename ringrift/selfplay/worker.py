"""Self-play worker: play games, pick samples, write one Parquet part.

Same flags and meaning as the seed's worker. Everything random derives from
(--seed, game index), so the same flags give byte-identical output.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .. import __version__
from ..dataset.schema import ENGINE_VERSION, SCHEMA_VERSION, pack_states
from ..engine import layout as L
from ..engine.api import Rules, final_ranks
from ..neural.options import NeuralOptions
from ..players.ladder import (
    NEURAL_LEVEL,
    NEURAL_MODE,
    load_profile,
    player_params,
    players_version,
    profile_weights,
    seat_levels,
    weights_digest,
)
from ..players.params import WEIGHT_NAMES
from ..storage import redact_uri
from .game import play_game, replay_span
from .seeds import GAME_SEEDS, game_seed

FIRST_LAST = 5  # the reference always keeps the first and last 5 positions
# Sampled states replayed at a time (bytes): a whole square8 game, ~20 states of
# a hexagonal one, so big boards do not hold a game's every state at once.
REPLAY_BYTES = 8 << 20


@dataclass
class WorkerConfig:
    num_games: int
    board_type: str
    num_players: int
    output: str
    seed: int = 0
    engine_mode: str = "mixed"
    difficulty_band: str = "light"
    sample_every_n_moves: int = 10
    max_moves: int = 10_000
    worker_id: str = ""
    swap_rule: bool = False
    game_offset: int = 0
    heuristic_profile: str = ""  # weight profile file/URI; "" = the board's shipped one
    model: str = ""  # ONNX model file/URI of engine mode "neural"
    neural: NeuralOptions = field(default_factory=NeuralOptions)
    extra: dict = field(default_factory=dict)


def default_worker_id() -> str:
    return os.environ.get("WORKER_ID") or f"worker_{uuid.uuid4().hex[:8]}"


def sample_positions(ndec: int, every: int) -> list[int]:
    """Positions 0..ndec (ndec = the terminal position) kept as samples."""
    return [i for i in range(ndec + 1) if i < FIRST_LAST or i > ndec - FIRST_LAST or i % every == 0]


def params_for(levels, board_type, weights=None, neural: NeuralOptions | None = None):
    """Per-seat parameter arrays; ``weights`` is one vector for every seat or a
    list with one vector (or None = shipped profile) per seat; ``neural``: the
    settings of NEURAL_LEVEL seats."""
    n = len(levels)
    if weights is None or np.ndim(weights[0]) == 0:
        weights = [weights] * n

    def seat(lv, w):
        if lv != NEURAL_LEVEL:
            return player_params(lv, board_type, w)
        kind, ip, fp = (neural or NeuralOptions()).params()
        w = profile_weights(board_type) if w is None else w
        return kind, ip, fp, np.array(w, dtype=np.float64)

    built = [seat(lv, w) for lv, w in zip(levels, weights)]
    ni = max(len(b[1]) for b in built)
    nf = max(len(b[2]) for b in built)
    nw = max(len(b[3]) for b in built)
    kinds = np.zeros(n + 1, dtype=np.int32)
    ip = np.zeros((n + 1, max(ni, 1)), dtype=np.int64)
    fp = np.zeros((n + 1, max(nf, 1)), dtype=np.float64)
    w = np.zeros((n + 1, max(nw, 1)), dtype=np.float64)
    for seat, (kind, i, f, ww) in enumerate(built, start=1):
        kinds[seat] = kind
        ip[seat, : len(i)] = i
        fp[seat, : len(f)] = f
        w[seat, : len(ww)] = ww
    return kinds, ip, fp, w


def play_one(
    rules: Rules, cfg: WorkerConfig, g: int, schema: pa.Schema, weights=None
) -> tuple[pa.Table, dict]:
    """Play game g: its samples as a table of ``schema`` (built column by
    column, no Python per sample), and a summary. ``weights``: heuristic
    weights for every seat (None = the board's shipped profile)."""
    seed = game_seed(cfg.seed, g)
    rng = np.random.default_rng(seed)
    levels = seat_levels(cfg.engine_mode, cfg.difficulty_band, rules.num_players, rng)
    kinds, ip, fp, w = params_for(levels, rules.board_type, weights)
    record = play_game(rules.geo, rules.new_game(), kinds, ip, fp, w, seed, cfg.max_moves)
    return game_table(rules, cfg, g, schema, levels, record)


def game_table(
    rules: Rules, cfg: WorkerConfig, g: int, schema: pa.Schema, levels, record, engine_mode=None
) -> tuple[pa.Table, dict]:
    """Game g's samples as a table of ``schema`` from its record (play_game's
    result), and a summary; ``engine_mode``: the column's value (default the
    config's engine mode)."""
    seed = game_seed(cfg.seed, g)
    final, choices, decision, poff, pidx, pprob = record
    s0 = rules.new_game()
    steps = len(choices)
    dec_steps = np.flatnonzero(decision)
    ndec = len(dec_steps)
    keep = np.array(sample_positions(ndec, cfg.sample_every_n_moves), dtype=np.int64)
    terminal = keep == ndec
    want = np.where(terminal, steps, dec_steps[np.minimum(keep, max(ndec - 1, 0))] if ndec else 0)
    completed = final[L.STATUS] == L.ST_COMPLETED
    winner = int(final[L.WINNER]) if completed else 0
    n = rules.num_players
    ranks = final_ranks(final) if completed else [1] * n
    values = [1.0 - 2.0 * (r - 1) / (n - 1) for r in ranks] if completed else [0.0] * n
    pad = [0] * (4 - n)
    victory = L.END_REASON_NAMES[int(final[L.END_REASON])] if completed else "max_moves"
    digest = hashlib.blake2b(choices.astype(np.uint16).tobytes(), digest_size=8)
    ghash = int.from_bytes(digest.digest(), "little")
    game_id = f"{cfg.worker_id}_{g}_{digest.hexdigest()[:8]}"

    # the sampled states, replayed a span at a time and packed at once
    span = max(1, REPLAY_BYTES // (s0.size * s0.itemsize))
    packed, moves, header = [], [], []
    s, at = s0, 0
    for j in range(0, len(want), span):
        states, mv, s = replay_span(rules.geo, s, at, choices, want[j : j + span])
        at = int(want[min(j + span, len(want)) - 1])
        packed.append(pack_states(states))
        moves.append(mv)
        header.append(states[:, : L.HDR])
    header = np.concatenate(header)
    k = len(keep)
    mover = header[:, L.CUR]
    if completed:
        outcome = (mover == winner).astype(np.float32)
    else:
        outcome = np.full(k, 0.5, dtype=np.float32)
    pstart = poff[np.minimum(keep, ndec)]
    plen = np.where(terminal, 0, poff[np.minimum(keep + 1, ndec)] - pstart)
    const = {
        "game_id": game_id,
        "worker_id": cfg.worker_id,
        "game_index": g,
        "game_seed": seed,
        "game_hash": ghash,
        "board_type": rules.board_type,
        "num_players": n,
        "engine_mode": engine_mode or cfg.engine_mode,
        "difficulty_band": cfg.difficulty_band,
        "game_decisions": ndec,
        "game_steps": steps,
        "victory_type": victory,
        "winner": winner,
    }
    per_game = {
        "seat_levels": list(levels) + pad,
        "values": values + [0.0] * len(pad),
        "ranks": list(ranks) + pad,
    }
    cols = {
        "move_number": keep,
        "ply_to_end": ndec - keep,
        "step": want,
        "player_to_move": mover,
        "phase": header[:, L.PHASE],
        "outcome": outcome,
        "move": _fixed(np.concatenate(moves), schema.field("move").type, mask=terminal),
        "policy_index": _lists(pidx, pstart, plen, schema.field("policy_index").type),
        "policy_prob": _lists(pprob, pstart, plen, schema.field("policy_prob").type),
        "history": _prefixes(choices.astype("<u2"), want),
        "state": _packed(packed),
    }
    arrays = []
    for f in schema:
        if f.name in const:
            arrays.append(pa.array([const[f.name]] * k, type=f.type))
        elif f.name in per_game:
            row = np.array(per_game[f.name], dtype=f.type.value_type.to_pandas_dtype())
            arrays.append(_fixed(np.tile(row, (k, 1)), f.type))
        else:
            c = cols[f.name]
            arrays.append(c if isinstance(c, pa.Array) else pa.array(c, type=f.type))
    table = pa.Table.from_arrays(arrays, schema=schema)
    return table, {
        "winner": winner,
        "steps": steps,
        "decisions": ndec,
        "samples": k,
        "victory_type": victory,
    }


def _fixed(rows: np.ndarray, typ: pa.DataType, mask=None) -> pa.Array:
    """A k x width array as a fixed-size list column (``mask``: null rows)."""
    values = pa.array(rows.ravel(), type=typ.value_type)
    if mask is not None and mask.any():
        return pa.FixedSizeListArray.from_arrays(values, type=typ, mask=pa.array(mask))
    return pa.FixedSizeListArray.from_arrays(values, type=typ)


def _binary(data: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """A binary column: row r is the bytes data[offsets[r]:offsets[r + 1]]."""
    return pa.Array.from_buffers(
        pa.binary(),
        len(offsets) - 1,
        [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data.view(np.uint8))],
    )


def _packed(chunks: list) -> pa.Array:
    """The ``state`` column from pack_states results, in order."""
    offsets, base = [np.zeros(1, np.int64)], 0
    for data, ends in chunks:
        offsets.append(ends[1:] + base)
        base += len(data)
    return _binary(np.concatenate([d for d, _ in chunks]), np.concatenate(offsets))


def _spans(values: np.ndarray, start, length) -> tuple[np.ndarray, np.ndarray]:
    """(values[start[r] : start[r] + length[r]] of every row r concatenated,
    the rows' offsets in it); ``start`` may be one start for all rows."""
    length = np.asarray(length, dtype=np.int64)
    offsets = np.zeros(len(length) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    rel = np.arange(offsets[-1]) - np.repeat(offsets[:-1], length)
    return values[np.repeat(np.broadcast_to(start, length.shape), length) + rel], offsets


def _prefixes(values: np.ndarray, length) -> pa.Array:
    """A binary column whose row r holds the bytes of values[:length[r]]."""
    flat, offsets = _spans(values, 0, length)
    return _binary(np.ascontiguousarray(flat), offsets * values.itemsize)


def _lists(values: np.ndarray, start, length, typ: pa.DataType) -> pa.Array:
    """A list column whose row r is values[start[r] : start[r] + length[r]]."""
    flat, offsets = _spans(values, start, length)
    return pa.ListArray.from_arrays(
        pa.array(offsets.astype(np.int32)), pa.array(flat, type=typ.value_type), type=typ
    )


OUTPUT_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz")


def game_settings(cfg: WorkerConfig, weights) -> dict:
    """Everything that decides a part's games (with its game range): two parts
    with equal settings hold the same bytes."""
    out = {
        "board_type": cfg.board_type,
        "num_players": cfg.num_players,
        "engine_mode": cfg.engine_mode,
        "difficulty_band": cfg.difficulty_band,
        "sample_every_n_moves": cfg.sample_every_n_moves,
        "max_moves": cfg.max_moves,
        "seed": cfg.seed,
        "swap_rule": cfg.swap_rule,
        "worker_id": cfg.worker_id,
        "game_offset": cfg.game_offset,
        "games": cfg.num_games,
    }
    if weights is not None:
        out["heuristic_weights_digest"] = weights_digest(weights)
    out["game_seeds"] = GAME_SEEDS  # older parts' games differ: never taken over
    version = players_version(cfg.engine_mode, cfg.difficulty_band)
    if version > 1:  # absent for version 1: older parts of those modes stay valid
        out["players_version"] = version
    if cfg.engine_mode == NEURAL_MODE:
        from ..neural.model import model_digest, read_model_bytes

        out["model_digest"] = model_digest(read_model_bytes(cfg.model))
        out["neural"] = cfg.neural.settings()
    return out


def _neural_games(cfg: WorkerConfig, rules: Rules, schema: pa.Schema, weights, info: dict):
    """(table, summary) of every game, in game order, all seats playing the
    dataset's model, cfg.neural.batch games at a time."""
    from ..neural.driver import NeuralPlay
    from ..neural.model import load_model

    opts = cfg.neural
    model = load_model(cfg.model, rules.board_type, threads=opts.threads, provider=opts.provider)
    info["model"] = model.describe()
    column = f"neural:{model.digest}"
    levels = seat_levels(cfg.engine_mode, cfg.difficulty_band, rules.num_players, None)
    kinds, ip, fp, w = params_for(levels, rules.board_type, weights, opts)
    jobs = (
        (g, game_seed(cfg.seed, g), kinds, ip, fp, w)
        for g in range(cfg.game_offset, cfg.game_offset + cfg.num_games)
    )
    slots = min(opts.batch, cfg.num_games)
    play = NeuralPlay(rules, model, slots, opts.batch, cfg.max_moves, opts.visits, opts.max_nodes)
    done = {}
    nxt = cfg.game_offset
    for g, record in play.run(jobs):
        done[g] = record
        while nxt in done:  # tables leave in game order, whatever order games end in
            yield game_table(rules, cfg, nxt, schema, levels, done.pop(nxt), column)
            nxt += 1
    info["inference"] = {
        "positions": play.positions,
        "calls": play.calls,
        "seconds_net": play.seconds_net,
        "seconds_engine": play.seconds_engine,
    }


def run_worker(cfg: WorkerConfig, progress=None) -> dict:
    """Play the games and write the part (Parquet), or the seed's JSONL
    (``.jsonl`` / ``.jsonl.gz`` outputs: the lines ``ringrift export`` writes
    for the same part)."""
    if cfg.output.endswith(".parquet"):
        return _play_into(cfg, cfg.output, progress)
    import tempfile

    from ..export.jsonl import export_samples

    with tempfile.TemporaryDirectory(prefix="ringrift-selfplay-") as tmp:
        part = os.path.join(tmp, "part.parquet")
        stats = _play_into(cfg, part, progress)
        export_samples([part], cfg.output)
    return stats


def _play_into(cfg: WorkerConfig, output: str, progress) -> dict:
    from ..dataset.parts import PartWriter

    rules = Rules(cfg.board_type, cfg.num_players, swap_rule=cfg.swap_rule)
    weights = load_profile(cfg.heuristic_profile, cfg.board_type) if cfg.heuristic_profile else None
    wins = {str(p): 0 for p in range(1, cfg.num_players + 1)}
    draws = 0
    decisions = 0
    samples = 0
    victory = {}
    t0 = time.perf_counter()
    writer = PartWriter(output, rules.board.ncell)
    info = {}
    if cfg.engine_mode == NEURAL_MODE:
        games = _neural_games(cfg, rules, writer.schema, weights, info)
    else:
        games = (
            play_one(rules, cfg, cfg.game_offset + j, writer.schema, weights)
            for j in range(cfg.num_games)
        )
    try:
        for j, (table, res) in enumerate(games):
            writer.add(table)  # rows leave memory a row group at a time
            samples += res["samples"]
            if res["winner"]:
                wins[str(res["winner"])] += 1
            else:
                draws += 1
            decisions += res["decisions"]
            victory[res["victory_type"]] = victory.get(res["victory_type"], 0) + 1
            if progress:
                progress(j + 1, cfg.num_games, samples)
        dt = time.perf_counter() - t0
        stats = {
            **game_settings(cfg, weights),
            "games": cfg.num_games,
            "samples": samples,
            "schema_version": SCHEMA_VERSION,
            "engine_version": ENGINE_VERSION,
            "package_version": __version__,
            "wins_by_seat": wins,
            "draws": draws,
            "victory_types": dict(sorted(victory.items())),
            "avg_decisions_per_game": decisions / cfg.num_games,
        }
        if "model" in info:
            stats["model"] = info["model"]
        if weights is not None:
            stats["heuristic_profile"] = {
                "uri": redact_uri(cfg.heuristic_profile),
                "weights": dict(zip(WEIGHT_NAMES, weights)),
            }
        stats["digest"] = writer.close(stats)
    except BaseException as exc:
        writer.abort(exc)
        raise
    timing = {
        "seconds": dt,
        "games_per_s": cfg.num_games / dt if dt else 0.0,
        "samples_per_s": samples / dt if dt else 0.0,
    }
    if "inference" in info:
        timing["inference"] = info["inference"]
    return {**stats, **timing}


def reuse_part(cfg: WorkerConfig, pattern: str) -> str | None:
    """A finished part matching ``pattern`` (e.g. the same part in another
    worker's folder, after the dataset's worker count changed) whose recorded
    settings are exactly those of this run: its bytes are what this run would
    write, so it is moved to the output instead of being replayed. Returns the
    part it came from, or None."""
    import fsspec

    from ..dataset.parts import DataError, atomic_write_bytes, is_local, read_bytes, verify_bytes

    weights = load_profile(cfg.heuristic_profile, cfg.board_type) if cfg.heuristic_profile else None
    want = game_settings(cfg, weights)
    fs, out_path = fsspec.core.url_to_fs(cfg.output)
    try:
        fs_pat, pat = fsspec.core.url_to_fs(pattern)
        found = sorted(fs_pat.glob(pat))
    except (OSError, ValueError):
        return None
    for path in found:
        src = fs_pat.unstrip_protocol(path) if not is_local(fs_pat) else path
        if is_local(fs_pat) and os.path.abspath(path) == os.path.abspath(out_path):
            continue
        try:
            data = read_bytes(src)
            meta = verify_bytes(src, data)
        except DataError:
            continue
        stats = json.loads(meta.metadata[b"ringrift.stats"])
        if any(stats.get(k) != v for k, v in want.items()):
            continue
        atomic_write_bytes(cfg.output, data)
        try:
            fs_pat.rm(path)
        except OSError:
            pass
        return src
    return None


def terminal_progress():
    if not sys.stderr.isatty():
        return None

    def show(done, total, samples):
        width = 30
        filled = width * done // total
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} games, {samples} samples"
        )
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def summary_line(st: dict) -> str:
    wins = ", ".join(f"p{k}: {v}" for k, v in st["wins_by_seat"].items())
    return (
        f"{st['games']} games, {st['samples']} samples, {st['games_per_s']:.2f} games/s, "
        f"{st['samples_per_s']:.1f} samples/s, wins by seat ({wins}), "
        f"avg length {st['avg_decisions_per_game']:.1f} moves, draws {st['draws']}"
    )


def json_dumps(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
