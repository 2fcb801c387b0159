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

from .. import __version__
from ..dataset.schema import ENGINE_VERSION, SCHEMA_VERSION
from ..engine import layout as L
from ..engine.api import Rules, final_ranks
from ..players.ladder import load_profile, player_params, seat_levels, weights_digest
from ..players.params import WEIGHT_NAMES
from ..storage import redact_uri
from .game import play_game, replay_span

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
    extra: dict = field(default_factory=dict)


def default_worker_id() -> str:
    return os.environ.get("WORKER_ID") or f"worker_{uuid.uuid4().hex[:8]}"


def game_seed(seed: int, game_index: int) -> int:
    ss = np.random.SeedSequence([int(seed), int(game_index)])
    return int(ss.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)


def sample_positions(ndec: int, every: int) -> list[int]:
    """Positions 0..ndec (ndec = the terminal position) kept as samples."""
    return [i for i in range(ndec + 1) if i < FIRST_LAST or i > ndec - FIRST_LAST or i % every == 0]


def params_for(levels, board_type, weights=None):
    """Per-seat parameter arrays; ``weights`` is one vector for every seat or a
    list with one vector (or None = shipped profile) per seat."""
    n = len(levels)
    if weights is None or np.ndim(weights[0]) == 0:
        weights = [weights] * n
    built = [player_params(lv, board_type, w) for lv, w in zip(levels, weights)]
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


class GameRows:
    """Column lists for the samples of many games."""

    def __init__(self):
        self.cols: dict[str, list] = {}

    def add(self, **kw):
        for k, v in kw.items():
            self.cols.setdefault(k, []).append(v)

    def __len__(self):
        return len(self.cols.get("game_id", []))


def play_one(rules: Rules, cfg: WorkerConfig, g: int, rows: GameRows, weights=None) -> dict:
    """Play game g, append its samples to rows, return a summary. ``weights``:
    heuristic weights for every seat (None = the board's shipped profile)."""
    from ..dataset.schema import split_state

    seed = game_seed(cfg.seed, g)
    rng = np.random.default_rng(seed)
    levels = seat_levels(cfg.engine_mode, cfg.difficulty_band, rules.num_players, rng)
    kinds, ip, fp, w = params_for(levels, rules.board_type, weights)
    s0 = rules.new_game()
    final, choices, decision, poff, pidx, pprob = play_game(
        rules.geo, s0, kinds, ip, fp, w, seed, cfg.max_moves
    )
    steps = len(choices)
    dec_steps = np.flatnonzero(decision)
    ndec = len(dec_steps)
    keep = sample_positions(ndec, cfg.sample_every_n_moves)
    want = np.array([dec_steps[i] if i < ndec else steps for i in keep], dtype=np.int64)
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
    hist = choices.astype(np.uint16)
    span = max(1, REPLAY_BYTES // (s0.size * s0.itemsize))
    s, at = s0, 0
    for j, i in enumerate(keep):
        if j % span == 0:  # the next span of sampled states
            states, moves, s = replay_span(rules.geo, s, at, choices, want[j : j + span])
            at = int(want[min(j + span, len(want)) - 1])
        st = states[j % span]
        # copies: views would keep the whole span alive until the part is written
        header, height, marker, collapsed, stamp, rings = (np.array(a) for a in split_state(st))
        mover = int(st[L.CUR])
        if not completed:
            outcome = 0.5
        else:
            outcome = 1.0 if winner == mover else 0.0
        terminal = i == ndec
        rows.add(
            game_id=game_id,
            worker_id=cfg.worker_id,
            game_index=g,
            game_seed=seed,
            game_hash=ghash,
            board_type=rules.board_type,
            num_players=n,
            engine_mode=cfg.engine_mode,
            difficulty_band=cfg.difficulty_band,
            seat_levels=list(levels) + pad,
            move_number=i,
            ply_to_end=ndec - i,
            step=int(want[j]),
            game_decisions=ndec,
            game_steps=steps,
            victory_type=victory,
            winner=winner,
            player_to_move=mover,
            phase=int(st[L.PHASE]),
            outcome=outcome,
            values=values + [0.0] * len(pad),
            ranks=list(ranks) + pad,
            move=None if terminal else moves[j % span].tolist(),
            policy_index=[] if terminal else pidx[poff[i] : poff[i + 1]].tolist(),
            policy_prob=[] if terminal else pprob[poff[i] : poff[i + 1]].tolist(),
            history=hist[: want[j]],
            header=header,
            height=height,
            marker=marker,
            collapsed=collapsed,
            stamp=stamp,
            rings=rings,
        )
    return {
        "winner": winner,
        "steps": steps,
        "decisions": ndec,
        "samples": len(keep),
        "victory_type": victory,
    }


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
    return out


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
    try:
        for j in range(cfg.num_games):
            rows = GameRows()
            res = play_one(rules, cfg, cfg.game_offset + j, rows, weights)
            writer.add(rows.cols)  # rows leave memory a row group at a time
            samples += len(rows)
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
