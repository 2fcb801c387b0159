"""CMA-ES tuning benchmark: does the tuned profile beat the shipped one?

Runs the workflow's `tune` target (the tuning runs of --configfile, by default
config/config.yaml's square8_2p run) through Snakemake with the local profile
in --workdir, then prints per run: fitness per generation, promotions, and the
validation match of the tuned profile against the start profile on fresh games
(score, 95% Wilson CI, exact binomial p-value), plus wall time and games played.

    python benchmarks/tuning.py [--workdir bench-tuning] [--configfile config/config.yaml]
                                [--cores 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="bench-tuning")
    ap.add_argument("--configfile", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    wd = Path(args.workdir).resolve()
    wd.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(wd),
        "--configfile",
        args.configfile,
        "--profile",
        str(REPO / "profiles" / "local"),
        "--cores",
        str(args.cores),
        "tune",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode:
        print(p.stdout[-3000:] + p.stderr[-3000:], file=sys.stderr)
        return 1
    import yaml

    cfg = yaml.safe_load(Path(args.configfile).read_text())
    prefix = wd / cfg.get("prefix", "results")
    report = {"wall_seconds": wall, "runs": {}}
    for run in cfg.get("tuning", {}):
        d = prefix / "tuning" / run
        summ = json.loads((d / "summary.json").read_text())
        s = summ["settings"]
        v = summ["validation"]
        games = (
            s["population"] * s["games_per_candidate"] * len(summ["generations"])
            + s["confirm_games"] * s["iterations"]
            + s["validation_games"]
        )
        print(
            f"\n## {run}: {s['board_type']} {s['num_players']}p, level {s['level']}, "
            f"population {s['population']}, {s['generations']} generations x "
            f"{s['iterations']} iterations, {s['games_per_candidate']} games per candidate"
        )
        print("\n| generation | iteration | best score | mean score | sigma after |")
        print("|---|---|---|---|---|")
        for g in summ["generations"]:
            print(
                f"| {g['generation']} | {g['iteration']} | {g['best_score']:.3f} | "
                f"{g['mean_score']:.3f} | {g['sigma_after']:.3f} |"
            )
        for pr in summ["promotions"]:
            c = pr.get("confirm", {})
            print(
                f"- iteration {pr['iteration']} baseline: {pr['source']}"
                + (f" (confirmation {c['score']:.3f} over {c['games']} games)" if c else "")
            )
        print(
            f"\nTuned vs start profile, {v['games']} fresh games at level {v['level']}: "
            f"{v['wins']} wins, {v['losses']} losses, {v['draws']} draws; score "
            f"{v['score']:.3f}, 95% CI {v['ci95'][0]:.3f}-{v['ci95'][1]:.3f}, "
            f"p = {v['p_value']:.2g} ({v['test']}); significant: {v['significant']}"
        )
        print(f"{games:,} games in all")
        report["runs"][run] = {"summary": summ, "games": games}
    print(f"\nwall time {wall:.0f} s on {args.cores} cores (Snakemake, local profile)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
