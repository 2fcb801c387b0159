"""`ringrift` command line.

Datasets: selfplay (one part), aggregate, verify, summarize, inspect, plots,
export (the seed's JSONL), moves (a part's move table, for export), concat
(export pieces), tensors (the reference trainer's NPZ). Heuristic
weights: tune (one step of a CMA-ES run). Engine: conformance (replay reference
traces), play (random games), warmup (fill Numba's cache), cost (speed and
price per game).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter


class CliError(Exception):
    """A user error reported as one line, without a traceback."""


INT32_MAX = 2**31 - 1  # the engine's move counter and the parts' game_index are int32
INT63_MAX = 2**63 - 1


def _int_in(lo: int, hi: int | None = None):
    """argparse type: an integer in [lo, hi], else a one-line usage error."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            span = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {text}")
        return v

    parse.__name__ = "int"
    return parse


def _float_in(lo: float, *, strict: bool = False):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (v > lo if strict else v >= lo) or v != v or v == float("inf"):
            raise argparse.ArgumentTypeError(
                f"must be {'above' if strict else 'at least'} {lo:g}, got {text}"
            )
        return v

    parse.__name__ = "float"
    return parse


def _existing_dir(text: str) -> str:
    import os

    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"must be an existing folder, got {text}")
    if not os.access(text, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"must be a writable folder, got {text}")
    return text


COUNT = _int_in(1)
SEED = _int_in(0, INT63_MAX)
MOVES = _int_in(1, INT32_MAX)


# The names a flag accepts, for --help (importing their sources would load Numba
# on every command; tests/test_cli.py checks they match).
BOARD_TYPES = ("square8", "square19", "hex8", "hexagonal")
ENGINE_MODES = ("mixed", "random", "heuristic", "mcts", "diverse", "neural")
BANDS = ("light", "full")
H_BOARD = f"board: {', '.join(BOARD_TYPES)}"
H_PLAYERS = "players: 2, 3 or 4"
H_MODE = f"who plays: {', '.join(ENGINE_MODES)} (see ringrift/players/ladder.py)"
H_BAND = "difficulty band: light (ladder levels 1-4) or full (1-10)"


class _Help(argparse.HelpFormatter):
    """Each flag's help ends with its default, when it has one."""

    def _get_help_string(self, action):
        h = action.help or ""
        if (
            action.option_strings
            and not action.required
            and "%(default)" not in h
            and action.default is not None
            and action.default is not False
            and action.default != argparse.SUPPRESS
        ):
            h += " (default: %(default)s)"
        return h


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (the usage text is one --help away)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message):
        import re

        # "argument --seed: must be ..." -> "--seed must be ..."
        message = re.sub(r"^argument (?:\S+/)?(\S+): ", r"\1 ", message)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _preflight(inputs=(), outputs=()) -> None:
    """Before any work: every store named in ``inputs`` answers (one bounded
    request per bucket) and every output can be written (ringrift.storage)."""
    from .storage import check_reachable, check_writable, is_remote

    seen = set()
    for uri in inputs:
        if not uri or not is_remote(uri):
            continue
        bucket = uri.split("://", 1)[0], uri.split("://", 1)[1].split("/", 1)[0]
        if bucket not in seen:
            seen.add(bucket)
            check_reachable(uri)
    for uri in outputs:
        if uri:
            check_writable(uri)


def _cmd_conformance(args) -> int:
    from pathlib import Path

    from .reference.traces import check_file

    total_pass = total_fail = 0
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise CliError(f"no such trace file: {name}")
        try:
            rep = check_file(path)
        except (OSError, EOFError, ValueError) as exc:
            raise CliError(f"cannot read trace file {name}: {exc}") from None
        if not rep.games:
            raise CliError(f"trace file {name} holds no games")
        print(
            f"{name}: {len(rep.games)} games, {rep.steps} steps checked, "
            f"{rep.passed} passed, {rep.failed} failed",
            flush=True,
        )
        for g in rep.games:
            if not g.ok:
                print(f"  FAIL {g.message}")
        total_pass += rep.passed
        total_fail += rep.failed
    print(f"{total_pass} passed, {total_fail} failed")
    return 1 if total_fail else 0


def _cmd_play(args) -> int:
    import numpy as np

    from .engine import layout as L
    from .engine.api import Rules
    from .engine.rules import apply_move, legal_moves

    try:
        rules = Rules(args.board_type, args.num_players, swap_rule=args.swap_rule)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    rng = np.random.default_rng(args.seed)
    wins = Counter()
    reasons = Counter()
    lengths = []
    t0 = time.perf_counter()
    for _ in range(args.games):
        s = rules.new_game()
        while s[L.STATUS] == L.ST_ACTIVE and s[L.MOVE_COUNT] < args.max_moves:
            ms = legal_moves(rules.geo, s)
            s = apply_move(rules.geo, s, ms[rng.integers(len(ms))])
        res = rules.result(s)
        wins[res["winner"]] += 1
        reasons[res["end_reason"] or "max_moves"] += 1
        lengths.append(res["move_count"])
    dt = time.perf_counter() - t0
    seats = ", ".join(f"p{p}: {wins.get(p, 0)}" for p in range(1, args.num_players + 1))
    print(
        f"{args.games} random games on {args.board_type} with {args.num_players} players "
        f"in {dt:.2f} s ({args.games / dt:.1f} games/s, {sum(lengths) / dt:,.0f} moves/s)"
    )
    print(f"wins by seat: {seats}; no winner: {wins.get(None, 0)}")
    print("end reasons: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    print(f"moves per game: avg {np.mean(lengths):.1f}, min {min(lengths)}, max {max(lengths)}")
    return 0


def _neural_options(args):
    """The neural settings of a selfplay run; with engine mode neural, the
    model is read and checked here, before any game is played."""
    from .neural.options import NeuralOptions

    opts = NeuralOptions(
        visits=args.nn_visits,
        cpuct=args.nn_cpuct,
        temperature=args.nn_temperature,
        temp_steps=args.nn_temp_steps,
        dirichlet_alpha=args.nn_dirichlet_alpha,
        dirichlet_eps=args.nn_dirichlet_eps,
        max_nodes=args.nn_max_nodes,
        batch=args.nn_batch,
        threads=args.nn_threads,
        provider=args.nn_provider,
    )
    opts.check()
    if args.engine_mode != "neural":
        if args.model:
            raise ValueError(f"--model is for engine mode neural, not {args.engine_mode}")
        return opts
    if not args.model:
        raise ValueError("engine mode neural needs --model (an ONNX file or URI)")
    from .neural.model import load_model

    model = load_model(args.model, args.board_type, threads=opts.threads, provider=opts.provider)
    if args.model_digest and model.digest != args.model_digest:
        raise ValueError(
            f"model {model.name} changed since the run was planned (digest {model.digest}, "
            f"planned {args.model_digest}): run the workflow again"
        )
    return opts


def _as_planned(what: str, planned: int | None, have: int) -> None:
    """The workflow passes the versions it planned a part for (game seeds,
    players, sample schema, engine): a worker whose own differ must not write
    that part."""
    if planned is not None and planned != have:
        raise CliError(
            f"the run was planned for {what} version {planned}, this ringrift's "
            f"{what} {'are' if what.endswith('s') else 'is'} version {have}: "
            "run the workflow again"
        )


def _cmd_selfplay(args) -> int:
    # Before pyarrow loads: plain malloc for Arrow's buffers. A worker holds one
    # row group at a time, and Arrow's default mimalloc keeps ~40 MB more of it
    # resident (benchmarks/worker_memory.py); the user's own setting wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    from .dataset.parts import DataError, check_output_uri
    from .dataset.versions import ENGINE_VERSION, SCHEMA_VERSION
    from .engine.api import Rules
    from .players.ladder import check_mode_and_band, load_profile, players_version, weights_digest
    from .selfplay.seeds import GAME_SEEDS
    from .selfplay.worker import (
        OUTPUT_SUFFIXES,
        WorkerConfig,
        default_worker_id,
        json_dumps,
        reuse_part,
        run_worker,
        summary_line,
        terminal_progress,
    )

    try:
        Rules(args.board_type, args.num_players)
        check_mode_and_band(args.engine_mode, args.difficulty_band)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.game_offset + args.num_games - 1 > INT32_MAX:
        raise CliError("--game-offset + --num-games must stay below 2^31 (game_index is int32)")
    _as_planned("game seeds", args.game_seeds, GAME_SEEDS)
    _as_planned("sample schema", args.schema_version, SCHEMA_VERSION)
    _as_planned("engine", args.engine_version, ENGINE_VERSION)
    _as_planned(
        "players", args.players_version, players_version(args.engine_mode, args.difficulty_band)
    )
    try:
        _preflight(inputs=[args.heuristic_profile, args.model], outputs=[args.output])
        check_output_uri(args.output, OUTPUT_SUFFIXES)
        if args.heuristic_profile:
            # read it now: a bad profile must fail before any game is played
            weights = load_profile(args.heuristic_profile, args.board_type)
            want = args.heuristic_profile_digest
            if want and weights_digest(weights) != want:
                raise CliError(
                    f"heuristic profile {args.heuristic_profile} changed since the run "
                    f"was planned (weights digest {weights_digest(weights)}, planned "
                    f"{args.heuristic_profile_digest}): run the workflow again"
                )
        neural = _neural_options(args)
    except (DataError, ValueError) as exc:
        raise CliError(str(exc)) from None
    cfg = WorkerConfig(
        num_games=args.num_games,
        board_type=args.board_type,
        num_players=args.num_players,
        output=args.output,
        seed=args.seed,
        engine_mode=args.engine_mode,
        difficulty_band=args.difficulty_band,
        sample_every_n_moves=args.sample_every_n_moves,
        max_moves=args.max_moves,
        worker_id=args.worker_id or default_worker_id(),
        swap_rule=args.swap_rule,
        game_offset=args.game_offset,
        heuristic_profile=args.heuristic_profile or "",
        model=args.model or "",
        neural=neural,
    )
    if args.reuse and args.output.endswith(".parquet"):
        try:
            src = reuse_part(cfg, args.reuse)
        except DataError as exc:
            raise CliError(str(exc)) from None
        if src:
            print(
                f"moved {src} -> {args.output}: a finished part with exactly these settings "
                "(no games replayed)"
            )
            return 0
    try:
        stats = run_worker(cfg, progress=None if args.quiet else terminal_progress())
    except DataError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {_os_error_line(exc)}") from None
    print(summary_line(stats))
    if args.stats_json:
        print(json_dumps(stats))
    return 0


def _cmd_warmup(args) -> int:
    """Compile every jitted path of self-play and the dataset jobs into Numba's
    on-disk cache (ringrift/warmup.py)."""
    from .warmup import warm_all

    t0 = time.perf_counter()
    if problem := warm_all():
        print(problem, file=sys.stderr)
        return 1
    print(f"numba cache warm in {time.perf_counter() - t0:.1f} s")
    return 0


def _cmd_aggregate(args) -> int:
    from .dataset.aggregate import ProgressLine, aggregate, keep_freed_memory
    from .dataset.parts import DataError

    show = args.progress or sys.stderr.isatty()
    keep_freed_memory()
    try:
        _preflight(inputs=args.parts, outputs=[args.output])
        res = aggregate(
            args.parts,
            args.output,
            args.seed,
            scratch=args.scratch,
            drop_duplicates=args.drop_duplicates,
            progress=ProgressLine() if show else None,
        )
    except DataError as exc:
        raise CliError(str(exc)) from None
    dropped = (
        f", dropped {res['dropped_duplicate_games']} duplicate games"
        if res["dropped_duplicate_games"]
        else ""
    )
    print(
        f"aggregated {res['parts']} parts: {res['games']} games, {res['samples']} samples "
        f"({res['buckets']} buckets{dropped}) in {res['seconds']:.1f} s "
        f"({res['samples'] / max(res['seconds'], 1e-9):,.0f} rows/s) -> {args.output}"
    )
    return 0


def _cmd_verify(args) -> int:
    from .dataset.parts import DataError
    from .dataset.verify import verify

    try:
        problems, t = verify(args.paths)
    except DataError as exc:
        raise CliError(str(exc)) from None
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s) in {t['files']} files", file=sys.stderr)
        return 1
    print(
        f"ok: {t['files']} files ({t['parts']} parts, {t['aggregates']} aggregates), "
        f"{t['games']} games, {t['samples']} samples: digests, page checksums, versions, "
        "values, duplicates and provenance check out"
    )
    return 0


def _cmd_summarize(args) -> int:
    import json

    from .dataset.inspect import dataset_stats
    from .dataset.parts import DataError, atomic_write_bytes

    try:
        _preflight(inputs=args.paths, outputs=[args.output])
        st = dataset_stats(args.paths)
    except DataError as exc:
        raise CliError(str(exc)) from None
    text = json.dumps(st, indent=2, sort_keys=True) + "\n"
    if args.output:
        atomic_write_bytes(args.output, text.encode())
    print(text, end="")
    return 0


def _cmd_inspect(args) -> int:
    from .dataset.inspect import dataset_stats, format_stats
    from .dataset.parts import DataError

    try:
        _preflight(inputs=args.paths)
        st = dataset_stats(args.paths)
    except DataError as exc:
        raise CliError(str(exc)) from None
    print(format_stats(st))
    return 0


def _cmd_cost(args) -> int:
    from .cost import cost_table, format_report, measure_worker
    from .engine.api import Rules
    from .players.ladder import check_mode_and_band

    try:
        Rules(args.board_type, args.num_players)
        check_mode_and_band(args.engine_mode, args.difficulty_band)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    m = measure_worker(
        args.board_type, args.num_players, args.engine_mode, args.difficulty_band, args.seconds
    )
    print(
        format_report(
            args,
            m,
            cost_table(args.games, m["games_per_hour"], args.workers, args.price_per_vcpu_hour),
        )
    )
    return 0


def _cmd_export(args) -> int:
    from .dataset.parts import DataError
    from .export.jsonl import main_export

    progress = args.progress or sys.stderr.isatty()
    try:
        _preflight(inputs=args.inputs, outputs=[args.output])
        res = main_export(
            args.inputs,
            args.output,
            chunk=args.chunk,
            progress=progress,
            full=True,
            moves=args.moves,
        )
    except DataError as exc:
        raise CliError(str(exc)) from None
    part = f" (rows {res['rows'][0]}-{res['rows'][1]}, chunk {args.chunk})" if args.chunk else ""
    rate = res["samples"] / max(res["seconds"], 1e-9)
    print(
        f"exported {res['samples']} samples of {res['games']} games{part} in "
        f"{res['seconds']:.1f} s, {res['cpu_seconds']:.2f} s CPU ({rate:,.0f} samples/s)"
        f" after {res['load_cpu_seconds']:.2f} s CPU loading the kernels -> {args.output}"
    )
    return 0


def _cmd_moves(args) -> int:
    from .dataset.parts import DataError
    from .export.moves import build_move_table

    try:
        _preflight(inputs=[args.input], outputs=[args.output])
        res = build_move_table(args.input, args.output)
    except DataError as exc:
        raise CliError(str(exc)) from None
    print(f"move table of {res['games']} games, {res['steps']} steps -> {args.output}")
    return 0


def _cmd_concat(args) -> int:
    from .dataset.parts import DataError
    from .export.jsonl import concat_pieces

    try:
        res = concat_pieces(args.pieces, args.output)
    except DataError as exc:
        raise CliError(str(exc)) from None
    print(f"concatenated {res['pieces']} pieces ({res['bytes']:,} bytes) -> {args.output}")
    return 0


def _cmd_tensors(args) -> int:
    from .dataset.parts import DataError
    from .tensors.export import ExportConfig, export_tensors

    cfg = ExportConfig(
        encoder=args.encoder,
        sample_every=args.sample_every,
        history_length=args.history,
        policy=args.policy,
        seed=args.seed,
        shard_bytes=args.shard_bytes,
    )
    try:
        res = export_tensors(args.inputs, args.output, cfg, scratch=args.scratch)
    except DataError as exc:
        raise CliError(str(exc)) from None
    where = (
        res["outputs"][0]
        if len(res["outputs"]) == 1
        else f"{len(res['outputs'])} shards under {args.output}"
    )
    print(
        f"{res['games']} games ({res['games_without_winner']} without a winner skipped), "
        f"{res['samples']} samples, {res['samples_per_s']:.0f} samples/s -> {where}"
    )
    return 0


def _cmd_tune(args) -> int:
    import json

    from .tuning import steps
    from .tuning.summary import summarize

    try:
        _preflight(inputs=[args.run_dir])
        if args.step == "init":
            try:
                settings = json.loads(args.settings)
            except ValueError as exc:
                raise CliError(f"--settings is not JSON: {exc}") from None
            steps.init(args.run_dir, args.run, settings)
        elif args.step == "ask":
            steps.ask(args.run_dir, args.generation)
        elif args.step == "evaluate":
            steps.evaluate(args.run_dir, args.generation, args.candidate)
        elif args.step == "tell":
            steps.tell(args.run_dir, args.generation)
        elif args.step == "promote":
            steps.promote(args.run_dir, args.iteration)
        elif args.step == "profile":
            steps.final_profile(args.run_dir, args.output)
        elif args.step == "validate":
            steps.validate(args.run_dir, args.profile, args.output)
        elif args.step == "summarize":
            doc = summarize(args.run_dir, args.validation, args.output, args.plot)
            v = doc["validation"]
            print(
                f"tuned vs start: score {v['score']:.3f} over {v['games']} games "
                f"(95% CI {v['ci95'][0]:.3f}-{v['ci95'][1]:.3f}, p = {v['p_value']:.3g})"
            )
    except ValueError as exc:  # TuningError, bad settings, bad profiles
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"tuning run {args.run_dir}: {exc}") from None
    return 0


def _cmd_plots(args) -> int:
    from .dataset.parts import DataError
    from .dataset.plots import write_plots

    try:
        _preflight(inputs=args.paths)
        out = write_plots(args.paths, args.outdir, args.logs or [])
    except DataError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write plots to {args.outdir}: {exc}") from None
    print(f"wrote {len(out)} plots to {args.outdir}")
    return 0


def _tune_parser(sub) -> None:
    t = sub.add_parser(
        "tune", help="one step of a CMA-ES tuning run (the workflow's `tune` target runs them all)"
    )
    steps = t.add_subparsers(dest="step", required=True)

    def step(name, help_):
        sp = steps.add_parser(name, help=help_)
        sp.add_argument("--run-dir", required=True, help="the run's folder (local, s3://, gs://)")
        sp.set_defaults(func=_cmd_tune)
        return sp

    sp = step("init", "write settings.json and the first baseline")
    sp.add_argument("--run", required=True, help="run name")
    sp.add_argument("--settings", required=True, help="settings as a JSON object")
    h_gen = "generation number (0-based, over all iterations)"
    step("ask", "write a generation's candidates").add_argument(
        "--generation", type=int, required=True, help=h_gen
    )
    sp = step("evaluate", "play one candidate against its baseline")
    sp.add_argument("--generation", type=int, required=True, help=h_gen)
    sp.add_argument(
        "--candidate",
        type=int,
        required=True,
        help="candidate number within the generation (0-based)",
    )
    step("tell", "collect a generation's scores").add_argument(
        "--generation", type=int, required=True, help=h_gen
    )
    step("promote", "choose the next iteration's baseline").add_argument(
        "--iteration",
        type=int,
        required=True,
        help="the iteration just finished (0-based); writes the next one's baseline",
    )
    step("profile", "write the tuned weight profile").add_argument(
        "--output", required=True, help="profile JSON to write"
    )
    sp = step("validate", "tuned profile vs the start profile on fresh games")
    sp.add_argument("--profile", required=True, help="the tuned profile JSON")
    sp.add_argument("--output", required=True, help="validation JSON to write")
    sp = step("summarize", "fitness per generation: JSON and a plot")
    sp.add_argument("--validation", required=True, help="the validation JSON (tune validate)")
    sp.add_argument("--output", required=True, help="summary JSON to write")
    sp.add_argument("--plot", required=True, help="fitness plot PNG to write")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ringrift", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("conformance", help="replay reference trace files through our engine")
    c.add_argument("files", nargs="+", help="trace files (*.jsonl or *.jsonl.gz)")
    c.set_defaults(func=_cmd_conformance)

    w = sub.add_parser(
        "selfplay",
        help="play self-play games and write one Parquet part (or the seed's JSONL samples)",
    )
    w.add_argument("--num-games", type=COUNT, required=True, help="games to play")
    w.add_argument("--board-type", default="square8", help=H_BOARD)
    w.add_argument("--num-players", type=int, default=2, help=H_PLAYERS)
    w.add_argument(
        "--output",
        required=True,
        help="a local path, file://, s3:// or gs:// URI ending in .parquet (a part), "
        ".jsonl or .jsonl.gz (the seed's sample lines, as `ringrift export` "
        "writes them)",
    )
    w.add_argument(
        "--seed",
        type=SEED,
        default=0,
        help="dataset seed; each game is seeded by (seed, its global index)",
    )
    w.add_argument("--engine-mode", default="mixed", help=H_MODE)
    w.add_argument("--difficulty-band", default="light", help=H_BAND)
    w.add_argument(
        "--sample-every-n-moves",
        type=MOVES,
        default=10,
        help="record a sample every N engine steps of a game",
    )
    w.add_argument(
        "--max-moves",
        type=MOVES,
        default=10_000,
        help="a game reaching this many engine steps is a draw (outcome 0.5)",
    )
    w.add_argument(
        "--worker-id",
        default=None,
        help="worker name recorded in the part (default: $WORKER_ID, else a generated id)",
    )
    w.add_argument(
        "--game-offset",
        type=_int_in(0, INT32_MAX),
        default=0,
        help="global index of this part's first game (games are seeded by it)",
    )
    w.add_argument("--swap-rule", action="store_true", help="enable the pie rule (2 players)")
    w.add_argument(
        "--heuristic-profile",
        default=None,
        metavar="JSON",
        help="heuristic weight profile (path or s3:// / gs:// URI, e.g. a tuning "
        "run's profile.json) for every seat; default: the board's shipped one",
    )
    w.add_argument("--heuristic-profile-digest", default=None, help=argparse.SUPPRESS)
    w.add_argument("--players-version", type=int, default=None, help=argparse.SUPPRESS)
    w.add_argument("--game-seeds", type=int, default=None, help=argparse.SUPPRESS)
    w.add_argument("--schema-version", type=int, default=None, help=argparse.SUPPRESS)
    w.add_argument("--engine-version", type=int, default=None, help=argparse.SUPPRESS)
    w.add_argument(
        "--model",
        default=None,
        metavar="ONNX",
        help="engine mode neural: the network every seat plays (path or s3:// / gs:// "
        "URI; README 'Neural players' gives the model contract)",
    )
    w.add_argument("--model-digest", default=None, help=argparse.SUPPRESS)
    w.add_argument(
        "--nn-provider",
        default="cpu",
        choices=("cpu", "cuda"),
        help="neural: onnxruntime execution provider (cuda needs onnxruntime-gpu; part of "
        "the settings: results may differ from cpu)",
    )
    w.add_argument(
        "--nn-visits",
        type=_int_in(0, INT32_MAX),
        default=64,
        help="neural: PUCT simulations per decision (0 = play from the policy alone)",
    )
    w.add_argument("--nn-cpuct", type=float, default=1.5, help="neural: PUCT exploration constant")
    w.add_argument(
        "--nn-temperature",
        type=float,
        default=1.0,
        help="neural: early moves are sampled from visits^(1/T) (policy^(1/T) without "
        "search); 0 = always the best",
    )
    w.add_argument(
        "--nn-temp-steps",
        type=_int_in(0, INT32_MAX),
        default=8,
        help="neural: sample moves while the game has made fewer engine steps than this",
    )
    w.add_argument(
        "--nn-dirichlet-alpha",
        type=float,
        default=0.3,
        help="neural: Dirichlet noise concentration on the root priors",
    )
    w.add_argument(
        "--nn-dirichlet-eps",
        type=float,
        default=0.25,
        help="neural: weight of the root noise (0 = none)",
    )
    w.add_argument(
        "--nn-max-nodes",
        type=_int_in(0, INT32_MAX),
        default=0,
        help="neural: search tree capacity per game (0 = 2048 + 160 per visit, at least 8193)",
    )
    w.add_argument(
        "--nn-batch",
        type=_int_in(1, 1 << 16),
        default=64,
        help="neural: games played at once = positions per network call (speed only: "
        "the games do not depend on it)",
    )
    w.add_argument(
        "--nn-threads",
        type=_int_in(1, 1024),
        default=1,
        help="neural: onnxruntime threads (part of the settings: results may depend on it)",
    )
    w.add_argument(
        "--reuse",
        default=None,
        metavar="GLOB",
        help="before playing, look for a finished part matching GLOB whose recorded "
        "settings equal this run's and move it to --output instead (the "
        "workflow uses it when a dataset's worker count changes)",
    )
    w.add_argument("--quiet", action="store_true", help="no progress bar")
    w.add_argument("--stats-json", action="store_true", help="also print the stats JSON")
    w.set_defaults(func=_cmd_selfplay)

    wu = sub.add_parser(
        "warmup", help="compile the engine, players and dataset kernels into Numba's cache"
    )
    wu.set_defaults(func=_cmd_warmup)

    a = sub.add_parser("aggregate", help="seeded shuffle of parts into one Parquet file")
    a.add_argument("parts", nargs="+", help="Parquet parts or folders (local, s3://, gs://)")
    a.add_argument("--output", required=True, help="the aggregate's Parquet path or URI")
    a.add_argument("--seed", type=int, default=0, help="seed of the shuffle")
    a.add_argument(
        "--scratch",
        default=None,
        type=_existing_dir,
        help="local folder for copies of remote parts",
    )
    a.add_argument(
        "--drop-duplicates",
        action="store_true",
        help="drop a game seen twice (same seed and moves) instead of refusing",
    )
    a.add_argument(
        "--progress",
        action="store_true",
        help="a progress line every few seconds on stderr (default: only when "
        "stderr is a terminal)",
    )
    a.set_defaults(func=_cmd_aggregate)

    v = sub.add_parser(
        "verify",
        help="check a dataset's files: digests, checksums, versions, "
        "values, duplicate games, provenance (one line per problem)",
    )
    v.add_argument("paths", nargs="+", help="parts, aggregates or folders (local, s3://, gs://)")
    v.set_defaults(func=_cmd_verify)

    sm = sub.add_parser("summarize", help="dataset statistics as JSON")
    sm.add_argument("paths", nargs="+", help="parts, aggregates or folders (local, s3://, gs://)")
    sm.add_argument("--output", default=None, help="also write the JSON here")
    sm.set_defaults(func=_cmd_summarize)

    ins = sub.add_parser("inspect", help="print dataset statistics (lazy polars scans)")
    ins.add_argument("paths", nargs="+", help="parts, aggregates or folders (local, s3://, gs://)")
    ins.set_defaults(func=_cmd_inspect)

    pl_ = sub.add_parser(
        "plots",
        help="dataset plots as PNG (game length, win rates, victory types, throughput, a board)",
    )
    pl_.add_argument("paths", nargs="+", help="parts, aggregates or folders (local, s3://, gs://)")
    pl_.add_argument("--outdir", required=True, help="folder for the PNG files")
    pl_.add_argument(
        "--logs",
        nargs="*",
        default=[],
        help="self-play logs (for throughput per worker; missing ones are skipped)",
    )
    pl_.set_defaults(func=_cmd_plots)

    co = sub.add_parser("cost", help="measure speed here and print a cost table")
    co.add_argument(
        "--games", type=COUNT, required=True, help="dataset size (games) the table prices"
    )
    co.add_argument("--board-type", default="square8", help=H_BOARD)
    co.add_argument("--num-players", type=int, default=2, help=H_PLAYERS)
    co.add_argument("--engine-mode", default="mixed", help=H_MODE)
    co.add_argument("--difficulty-band", default="light", help=H_BAND)
    co.add_argument(
        "--workers",
        type=COUNT,
        nargs="+",
        default=[1, 10, 50, 100, 500],
        help="worker counts (one vCPU each) to print a row for",
    )
    co.add_argument(
        "--price-per-vcpu-hour",
        type=_float_in(0),
        default=0.02,
        help="price of one vCPU-hour (USD)",
    )
    co.add_argument(
        "--seconds", type=_float_in(0, strict=True), default=10.0, help="measuring time (seconds)"
    )
    co.set_defaults(func=_cmd_cost)

    e = sub.add_parser("export", help="write samples as .jsonl.gz in the seed's format")
    e.add_argument("inputs", nargs="+", help="Parquet parts or aggregates")
    e.add_argument("--output", required=True, help="the .jsonl.gz path or URI to write")
    e.add_argument(
        "--chunk",
        default=None,
        metavar="K/N",
        help="only the K-th (0-based) of N contiguous row ranges of the inputs, "
        "as one gzip member; `ringrift concat` joins the N pieces",
    )
    e.add_argument(
        "--progress",
        action="store_true",
        help="a progress line (rate, ETA) every 10 s on stderr; default: only "
        "when stderr is a terminal",
    )
    e.add_argument(
        "--moves",
        nargs="+",
        default=None,
        metavar="TABLE",
        help="move tables of the inputs' games (`ringrift moves`): their steps "
        "are copied instead of replayed (checked against every row; a game "
        "without one is replayed)",
    )
    e.set_defaults(func=_cmd_export)

    mt = sub.add_parser(
        "moves",
        help="the move table of a part: its games' steps, replayed once, "
        "for `ringrift export --moves`",
    )
    mt.add_argument("input", help="a Parquet part (or any ringrift sample file)")
    mt.add_argument(
        "--output", required=True, help="the move table (.parquet) path or URI to write"
    )
    mt.set_defaults(func=_cmd_moves)

    tn = sub.add_parser(
        "tensors",
        help="training tensors: the reference trainer's NPZ "
        "(one .npz file, or shard_NNNNN.npz files under a folder/prefix)",
    )
    tn.add_argument(
        "inputs",
        nargs="+",
        help="Parquet parts or aggregates (files or folders, "
        "local, s3:// or gs://), one board and player count",
    )
    tn.add_argument("--output", required=True, help="OUT.npz, or a folder/prefix for shards")
    tn.add_argument(
        "--encoder",
        default="v2",
        choices=("v2", "v3"),
        help="hex boards: v2 (10 planes) or v3 (16 planes); square boards: v2",
    )
    tn.add_argument(
        "--sample-every",
        type=int,
        default=1,
        metavar="N",
        help="sample engine steps t with t %% N == 0 (bookkeeping steps count)",
    )
    tn.add_argument("--history", type=int, default=3, help="earlier frames per sample")
    tn.add_argument(
        "--policy",
        default="soft",
        choices=("soft", "onehot"),
        help="soft: recorded MCTS visit distributions where present; onehot: "
        "the played move (the reference exporter's targets)",
    )
    tn.add_argument("--seed", type=int, default=0, help="seed of the game order")
    tn.add_argument(
        "--shard-bytes",
        type=int,
        default=1 << 30,
        help="shards close after a game once their arrays hold this many bytes",
    )
    tn.add_argument("--scratch", default=None, help="scratch folder (default: beside OUT)")
    tn.set_defaults(func=_cmd_tensors)

    cc = sub.add_parser("concat", help="join export pieces (gzip members) into one .jsonl.gz")
    cc.add_argument("pieces", nargs="+", help="pieces in order (local, s3://, gs://)")
    cc.add_argument("--output", required=True, help="the .jsonl.gz path or URI to write")
    cc.set_defaults(func=_cmd_concat)

    g = sub.add_parser("play", help="play a batch of random games and summarise them")
    g.add_argument("--board-type", default="square8", help=H_BOARD)
    g.add_argument("--num-players", type=int, default=2, help=H_PLAYERS)
    g.add_argument("--games", type=COUNT, default=100, help="games to play")
    g.add_argument("--seed", type=SEED, default=0, help="seed of the random move choices")
    g.add_argument(
        "--max-moves",
        type=MOVES,
        default=100_000,
        help="a game reaching this many engine steps stops (counted as max_moves)",
    )
    g.add_argument("--swap-rule", action="store_true", help="enable the pie rule (2 players)")
    g.set_defaults(func=_cmd_play)

    _tune_parser(sub)
    return p


def _os_error_line(exc: OSError) -> str:
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f)
    what = exc.strerror or str(exc) or type(exc).__name__
    return f"{where}: {what}" if where else what


def _quiet_storage_loggers() -> None:
    """gcsfs logs every retry with a traceback, and warns about bucket-type
    probes; the command's own error line says what failed."""
    import logging
    import os

    if not os.environ.get("RINGRIFT_DEBUG"):
        logging.getLogger("gcsfs").setLevel(logging.CRITICAL)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_storage_loggers()
    try:
        from .azblob import problem as azure_problem  # az:// paths: account set and reachable

        if msg := azure_problem(vars(args)):
            raise CliError(msg)
        return args.func(args)
    except CliError as exc:
        msg = str(exc)
    except OSError as exc:  # unwritable or missing folders, a folder given as a file, ...
        msg = _os_error_line(exc)
    except Exception as exc:  # noqa: BLE001 - data and storage errors as one line, others raise
        from .dataset.parts import DataError
        from .storage import describe_error

        line = str(exc) if isinstance(exc, DataError) else describe_error(exc)
        if line is None:
            raise
        msg = line
    from .storage import redact_text

    msg = " ".join(redact_text(msg).split())  # one line, whatever a library wrote
    print(f"ringrift: error: {msg}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
