"""`ringrift` command line: conformance checking and quick game batches."""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter


class CliError(Exception):
    """A user error reported as one line, without a traceback."""


def _cmd_conformance(args) -> int:
    from pathlib import Path

    from .conformance import check_file

    total_pass = total_fail = 0
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise CliError(f"no such trace file: {name}")
        try:
            rep = check_file(path)
        except (OSError, EOFError, ValueError) as exc:
            raise CliError(f"cannot read trace file {name}: {exc}") from None
        print(f"{name}: {len(rep.games)} games, {rep.steps} steps checked, "
              f"{rep.passed} passed, {rep.failed} failed", flush=True)
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
    if args.games < 1:
        raise CliError(f"--games must be at least 1, got {args.games}")
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
    print(f"{args.games} random games on {args.board_type} with {args.num_players} players "
          f"in {dt:.2f} s ({args.games / dt:.1f} games/s, {sum(lengths) / dt:,.0f} moves/s)")
    print(f"wins by seat: {seats}; no winner: {wins.get(None, 0)}")
    print("end reasons: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    print(f"moves per game: avg {np.mean(lengths):.1f}, min {min(lengths)}, max {max(lengths)}")
    return 0


def _cmd_selfplay(args) -> int:
    from .dataset.parts import DataError, check_output_uri
    from .engine.api import Rules
    from .players.ladder import check_mode_and_band, load_profile, weights_digest
    from .selfplay.worker import (
        OUTPUT_SUFFIXES, WorkerConfig, default_worker_id, json_dumps, reuse_part, run_worker,
        summary_line, terminal_progress,
    )

    try:
        Rules(args.board_type, args.num_players)
        check_mode_and_band(args.engine_mode, args.difficulty_band)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for name in ("num_games", "sample_every_n_moves", "max_moves"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise CliError(f"{flag} must be at least 1, got {getattr(args, name)}")
    if args.game_offset < 0:
        raise CliError(f"--game-offset must be >= 0, got {args.game_offset}")
    try:
        check_output_uri(args.output, OUTPUT_SUFFIXES)
        if args.heuristic_profile:
            # read it now: a bad profile must fail before any game is played
            weights = load_profile(args.heuristic_profile, args.board_type)
            if args.heuristic_profile_digest and weights_digest(weights) != args.heuristic_profile_digest:
                raise CliError(f"heuristic profile {args.heuristic_profile} changed since the run "
                               f"was planned (weights digest {weights_digest(weights)}, planned "
                               f"{args.heuristic_profile_digest}): run the workflow again")
    except (DataError, ValueError) as exc:
        raise CliError(str(exc)) from None
    cfg = WorkerConfig(
        num_games=args.num_games, board_type=args.board_type, num_players=args.num_players,
        output=args.output, seed=args.seed, engine_mode=args.engine_mode,
        difficulty_band=args.difficulty_band, sample_every_n_moves=args.sample_every_n_moves,
        max_moves=args.max_moves, worker_id=args.worker_id or default_worker_id(),
        swap_rule=args.swap_rule, game_offset=args.game_offset,
        heuristic_profile=args.heuristic_profile or "",
    )
    if args.reuse and args.output.endswith(".parquet"):
        try:
            src = reuse_part(cfg, args.reuse)
        except DataError as exc:
            raise CliError(str(exc)) from None
        if src:
            print(f"moved {src} -> {args.output}: a finished part with exactly these settings "
                  "(no games replayed)")
            return 0
    try:
        stats = run_worker(cfg, progress=None if args.quiet else terminal_progress())
    except DataError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc}") from None
    print(summary_line(stats))
    if args.stats_json:
        print(json_dumps(stats))
    return 0


def _cmd_warmup(args) -> int:
    """Compile every jitted path self-play uses into Numba's on-disk cache."""
    import tempfile
    t0 = time.perf_counter()
    from .players.ladder import ENGINE_MODES
    from .selfplay.worker import GameRows, WorkerConfig, play_one
    from .engine.api import Rules

    rules = Rules("square8", 2)
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ENGINE_MODES:
            cfg = WorkerConfig(num_games=1, board_type="square8", num_players=2,
                               output=f"{tmp}/w.parquet", engine_mode=mode,
                               difficulty_band="full", max_moves=60, worker_id="warmup")
            play_one(rules, cfg, 0, GameRows())
    print(f"numba cache warm in {time.perf_counter() - t0:.1f} s")
    return 0


def _cmd_aggregate(args) -> int:
    from .dataset.aggregate import aggregate
    from .dataset.parts import DataError

    try:
        res = aggregate(args.parts, args.output, args.seed, scratch=args.scratch,
                        drop_duplicates=args.drop_duplicates)
    except DataError as exc:
        raise CliError(str(exc)) from None
    dropped = (f", dropped {res['dropped_duplicate_games']} duplicate games"
               if res["dropped_duplicate_games"] else "")
    print(f"aggregated {res['parts']} parts: {res['games']} games, {res['samples']} samples "
          f"({res['buckets']} buckets{dropped}) -> {args.output}")
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
    print(f"ok: {t['files']} files ({t['parts']} parts, {t['aggregates']} aggregates), "
          f"{t['games']} games, {t['samples']} samples: digests, page checksums, versions, "
          "values, duplicates and provenance check out")
    return 0


def _cmd_summarize(args) -> int:
    import json

    from .dataset.inspect import dataset_stats
    from .dataset.parts import DataError, atomic_write_bytes

    try:
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
        st = dataset_stats(args.paths)
    except DataError as exc:
        raise CliError(str(exc)) from None
    print(format_stats(st))
    return 0


def _cmd_cost(args) -> int:
    from .cost import cost_table, format_report, measure_games_per_hour
    from .engine.api import Rules
    from .players.ladder import check_mode_and_band

    try:
        Rules(args.board_type, args.num_players)
        check_mode_and_band(args.engine_mode, args.difficulty_band)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.games < 1 or args.price_per_vcpu_hour < 0 or any(w < 1 for w in args.workers):
        raise CliError("--games and --workers must be positive, --price-per-vcpu-hour >= 0")
    gph, timed = measure_games_per_hour(args.board_type, args.num_players, args.engine_mode,
                                        args.difficulty_band, args.seconds)
    print(format_report(args, gph, timed, cost_table(args.games, gph, args.workers,
                                                     args.price_per_vcpu_hour)))
    return 0


def _cmd_export(args) -> int:
    from .dataset.parts import DataError
    from .export.jsonl import main_export

    try:
        res = main_export(args.inputs, args.output)
    except DataError as exc:
        raise CliError(str(exc)) from None
    print(f"exported {res} -> {args.output}")
    return 0


def _cmd_tune(args) -> int:
    import json

    from .tuning import steps
    from .tuning.summary import summarize

    try:
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
            print(f"tuned vs start: score {v['score']:.3f} over {v['games']} games "
                  f"(95% CI {v['ci95'][0]:.3f}-{v['ci95'][1]:.3f}, p = {v['p_value']:.3g})")
    except ValueError as exc:  # TuningError, bad settings, bad profiles
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"tuning run {args.run_dir}: {exc}") from None
    return 0


def _cmd_plots(args) -> int:
    from .dataset.parts import DataError
    from .dataset.plots import write_plots

    try:
        out = write_plots(args.paths, args.outdir, args.logs or [])
    except DataError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write plots to {args.outdir}: {exc}") from None
    print(f"wrote {len(out)} plots to {args.outdir}")
    return 0


def _tune_parser(sub) -> None:
    t = sub.add_parser("tune", help="one step of a CMA-ES tuning run (the workflow's "
                                    "`tune` target runs them all)")
    steps = t.add_subparsers(dest="step", required=True)

    def step(name, help_):
        sp = steps.add_parser(name, help=help_)
        sp.add_argument("--run-dir", required=True, help="the run's folder (local, s3://, gs://)")
        sp.set_defaults(func=_cmd_tune)
        return sp
    sp = step("init", "write settings.json and the first baseline")
    sp.add_argument("--run", required=True, help="run name")
    sp.add_argument("--settings", required=True, help="settings as a JSON object")
    step("ask", "write a generation's candidates").add_argument(
        "--generation", type=int, required=True)
    sp = step("evaluate", "play one candidate against its baseline")
    sp.add_argument("--generation", type=int, required=True)
    sp.add_argument("--candidate", type=int, required=True)
    step("tell", "collect a generation's scores").add_argument(
        "--generation", type=int, required=True)
    step("promote", "choose the next iteration's baseline").add_argument(
        "--iteration", type=int, required=True)
    step("profile", "write the tuned weight profile").add_argument("--output", required=True)
    sp = step("validate", "tuned profile vs the start profile on fresh games")
    sp.add_argument("--profile", required=True)
    sp.add_argument("--output", required=True)
    sp = step("summarize", "fitness per generation: JSON and a plot")
    sp.add_argument("--validation", required=True)
    sp.add_argument("--output", required=True)
    sp.add_argument("--plot", required=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ringrift", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("conformance", help="replay reference trace files through our engine")
    c.add_argument("files", nargs="+", help="trace files (*.jsonl or *.jsonl.gz)")
    c.set_defaults(func=_cmd_conformance)

    w = sub.add_parser("selfplay", help="play self-play games and write one Parquet part "
                       "(or the seed's JSONL samples)")
    w.add_argument("--num-games", type=int, required=True)
    w.add_argument("--board-type", default="square8")
    w.add_argument("--num-players", type=int, default=2)
    w.add_argument("--output", required=True,
                   help="a local path, file://, s3:// or gs:// URI ending in .parquet (a part), "
                        ".jsonl or .jsonl.gz (the seed's sample lines, as `ringrift export` "
                        "writes them)")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--engine-mode", default="mixed")
    w.add_argument("--difficulty-band", default="light")
    w.add_argument("--sample-every-n-moves", type=int, default=10)
    w.add_argument("--max-moves", type=int, default=10_000,
                   help="a game reaching this many engine steps is a draw (outcome 0.5)")
    w.add_argument("--worker-id", default=None,
                   help="default: $WORKER_ID, else a generated id")
    w.add_argument("--game-offset", type=int, default=0,
                   help="global index of this part's first game (games are seeded by it)")
    w.add_argument("--swap-rule", action="store_true", help="enable the pie rule (2 players)")
    w.add_argument("--heuristic-profile", default=None, metavar="JSON",
                   help="heuristic weight profile (path or s3:// / gs:// URI, e.g. a tuning "
                        "run's profile.json) for every seat; default: the board's shipped one")
    w.add_argument("--heuristic-profile-digest", default=None, help=argparse.SUPPRESS)
    w.add_argument("--reuse", default=None, metavar="GLOB",
                   help="before playing, look for a finished part matching GLOB whose recorded "
                        "settings equal this run's and move it to --output instead (the "
                        "workflow uses it when a dataset's worker count changes)")
    w.add_argument("--quiet", action="store_true", help="no progress bar")
    w.add_argument("--stats-json", action="store_true", help="also print the stats JSON")
    w.set_defaults(func=_cmd_selfplay)

    wu = sub.add_parser("warmup", help="compile the engine and players into Numba's cache")
    wu.set_defaults(func=_cmd_warmup)

    a = sub.add_parser("aggregate", help="seeded shuffle of parts into one Parquet file")
    a.add_argument("parts", nargs="+")
    a.add_argument("--output", required=True)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--scratch", default=None, help="local folder for bucket files")
    a.add_argument("--drop-duplicates", action="store_true",
                   help="drop a game seen twice (same seed and moves) instead of refusing")
    a.set_defaults(func=_cmd_aggregate)

    v = sub.add_parser("verify", help="check a dataset's files: digests, checksums, versions, "
                       "values, duplicate games, provenance (one line per problem)")
    v.add_argument("paths", nargs="+", help="parts, aggregates or folders (local, s3://, gs://)")
    v.set_defaults(func=_cmd_verify)

    sm = sub.add_parser("summarize", help="dataset statistics as JSON")
    sm.add_argument("paths", nargs="+", help="parts, aggregates or folders (local, s3://, gs://)")
    sm.add_argument("--output", default=None, help="also write the JSON here")
    sm.set_defaults(func=_cmd_summarize)

    ins = sub.add_parser("inspect", help="print dataset statistics (lazy polars scans)")
    ins.add_argument("paths", nargs="+", help="parts, aggregates or folders (local, s3://, gs://)")
    ins.set_defaults(func=_cmd_inspect)

    pl_ = sub.add_parser("plots", help="dataset plots as PNG (game length, win rates, "
                                       "victory types, throughput, a board)")
    pl_.add_argument("paths", nargs="+", help="parts, aggregates or folders (local, s3://, gs://)")
    pl_.add_argument("--outdir", required=True)
    pl_.add_argument("--logs", nargs="*", default=[],
                     help="self-play logs (for throughput per worker; missing ones are skipped)")
    pl_.set_defaults(func=_cmd_plots)

    co = sub.add_parser("cost", help="measure speed here and print a cost table")
    co.add_argument("--games", type=int, required=True)
    co.add_argument("--board-type", default="square8")
    co.add_argument("--num-players", type=int, default=2)
    co.add_argument("--engine-mode", default="mixed")
    co.add_argument("--difficulty-band", default="light")
    co.add_argument("--workers", type=int, nargs="+", default=[1, 10, 50, 100, 500])
    co.add_argument("--price-per-vcpu-hour", type=float, default=0.02)
    co.add_argument("--seconds", type=float, default=10.0, help="measuring time")
    co.set_defaults(func=_cmd_cost)

    e = sub.add_parser("export", help="write samples as .jsonl.gz in the seed's format")
    e.add_argument("inputs", nargs="+", help="Parquet parts or aggregates")
    e.add_argument("--output", required=True)
    e.set_defaults(func=_cmd_export)

    g = sub.add_parser("play", help="play a batch of random games and summarise them")
    g.add_argument("--board-type", default="square8")
    g.add_argument("--num-players", type=int, default=2)
    g.add_argument("--games", type=int, default=100)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--max-moves", type=int, default=100_000)
    g.add_argument("--swap-rule", action="store_true", help="enable the pie rule (2 players)")
    g.set_defaults(func=_cmd_play)

    _tune_parser(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from .azblob import problem as azure_problem  # az:// paths: account set and reachable
        if msg := azure_problem(vars(args)):
            raise CliError(msg)
        return args.func(args)
    except CliError as exc:
        print(f"ringrift: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
