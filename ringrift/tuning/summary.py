"""A tuning run's summary: fitness per generation (JSON and a plot)."""

from __future__ import annotations

from . import settings as S
from .steps import _path, load_settings, read_json, write_json


def summarize(run_dir: str, validation: str, out_json: str, out_png: str) -> dict:
    from ..dataset.plots import save

    s = load_settings(run_dir)
    gens = [read_json(_path(run_dir, S.result_file(g))) for g in range(s.total_generations)]
    promos = [
        read_json(_path(run_dir, S.baseline_file(i)))["tuning"] for i in range(1, s.iterations + 1)
    ]
    val = read_json(validation)
    doc = {
        "settings": s.to_dict(),
        "generations": [
            {
                k: r[k]
                for k in (
                    "generation",
                    "iteration",
                    "best_score",
                    "mean_score",
                    "median_score",
                    "sigma_before",
                    "sigma_after",
                )
            }
            for r in gens
        ],
        "promotions": promos,
        "validation": val,
    }
    write_json(out_json, doc)
    save(_plot(s, doc), out_png)
    return doc


def _plot(s: S.Settings, doc: dict):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    gens = doc["generations"]
    x = [g["generation"] for g in gens]
    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.add_subplot()
    ax.plot(x, [g["best_score"] for g in gens], "o-", label="best candidate")
    ax.plot(x, [g["mean_score"] for g in gens], "s-", label="population mean")
    ax.axhline(1.0 / s.num_players, color="grey", lw=0.8, ls=":", label="even score")
    for it in range(1, s.iterations):
        ax.axvline(it * s.generations - 0.5, color="k", lw=0.6, ls="--")
    v = doc["validation"]
    ax.set_title(
        f"{s.board_type} {s.num_players}p, level {s.level}: tuned vs start "
        f"{v['score']:.3f} (95% CI {v['ci95'][0]:.3f}-{v['ci95'][1]:.3f}, "
        f"p={v['p_value']:.2g})",
        fontsize=9,
    )
    ax.set_xlabel("generation (dashed: new baseline)")
    ax.set_ylabel("score vs iteration baseline")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig
