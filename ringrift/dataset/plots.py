"""Plots of a dataset for the Snakemake report and the notebook: game length,
win rate by seat and by ladder level, victory types, self-play throughput per
worker, and one sample's board. Lazy polars scans; only per-game rows are
collected. Figures are matplotlib ``Figure`` objects (no pyplot state)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import polars as pl
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .inspect import scan as _scan
from .inspect import select_sources
from .parts import DataError, atomic_write_bytes

SEAT_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e")


def scan(paths: list[str]) -> pl.LazyFrame:
    return _scan(select_sources(paths)[0])


def games_frame(lf: pl.LazyFrame) -> pl.DataFrame:
    """One row per game (its first sample: move 0 is always kept)."""
    try:
        return (
            lf.filter(pl.col("move_number") == 0)
            .select(
                "game_id",
                "worker_id",
                "num_players",
                "winner",
                "game_decisions",
                pl.col("victory_type").cast(pl.String),
                "seat_levels",
            )
            .unique("game_id", keep="first")
            .sort("game_id")
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"cannot read dataset: {str(exc).splitlines()[0]}") from None


def seat_results(games: pl.DataFrame) -> pl.DataFrame:
    """One row per (game, seat): the seat, its ladder level, and whether it won."""
    n = pl.col("num_players").cast(pl.Int64)
    return (
        games.with_columns(
            pl.int_ranges(1, n + 1).alias("seat"), pl.col("seat_levels").arr.to_list().list.head(n)
        )
        .explode("seat", "seat_levels")
        .rename({"seat_levels": "level"})
        .with_columns((pl.col("winner").cast(pl.Int64) == pl.col("seat")).alias("won"))
    )


def _fig(w=6.0, h=3.6):
    fig = Figure(figsize=(w, h), dpi=100)
    return fig, fig.add_subplot()


def game_length_figure(games: pl.DataFrame) -> Figure:
    fig, ax = _fig()
    lengths = games["game_decisions"].to_list()
    ax.hist(lengths, bins=min(40, max(5, len(set(lengths)))), color="#4c72b0")
    ax.set_xlabel("decisions per game")
    ax.set_ylabel("games")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(
        f"Game length ({len(lengths)} games, median {games['game_decisions'].median():.0f})"
    )
    fig.tight_layout()
    return fig


def win_rate_figure(games: pl.DataFrame) -> Figure:
    seats = seat_results(games)
    fig = Figure(figsize=(9, 3.6), dpi=100)
    ax1, ax2 = fig.subplots(1, 2)
    by_seat = seats.group_by("seat").agg(pl.col("won").mean(), pl.len()).sort("seat")
    ax1.bar(
        [f"seat {s}" for s in by_seat["seat"]],
        by_seat["won"],
        color=[SEAT_COLORS[s - 1] for s in by_seat["seat"]],
    )
    n = int(games["num_players"].max() or 2)
    ax1.axhline(1 / n, color="grey", ls=":", lw=1)
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("win rate")
    ax1.set_title("Win rate by seat")
    by_level = seats.group_by("level").agg(pl.col("won").mean(), pl.len()).sort("level")
    ax2.bar([f"L{lv}" for lv in by_level["level"]], by_level["won"], color="#55a868")
    for i, (w, c) in enumerate(zip(by_level["won"], by_level["len"])):
        ax2.text(i, w + 0.02, f"n={c}", ha="center", fontsize=7)
    ax2.axhline(1 / n, color="grey", ls=":", lw=1)
    ax2.set_ylim(0, 1)
    ax2.set_title("Win rate by ladder level")
    fig.tight_layout()
    return fig


def victory_figure(games: pl.DataFrame) -> Figure:
    fig, ax = _fig()
    v = games.group_by("victory_type").len().sort("len", descending=True)
    ax.barh(v["victory_type"].to_list(), v["len"].to_list(), color="#8172b2")
    ax.invert_yaxis()
    ax.set_xlabel("games")
    ax.set_title("Victory types")
    fig.tight_layout()
    return fig


def read_timings(logs: list[str]) -> list[dict]:
    """Per part: worker, games, samples, seconds, from the self-play logs (the
    worker prints its stats JSON there). Missing logs are skipped: timing is
    not data, and a cloud run may keep its logs elsewhere."""
    out = []
    for name in logs:
        p = Path(name)
        if not p.is_file():
            continue
        text = p.read_text(errors="replace")
        m = re.search(r"^\{\n.*?^\}$", text, re.S | re.M)
        if not m:
            continue
        try:
            st = json.loads(m.group(0))
            out.append(
                {
                    "worker": st["worker_id"],
                    "games": st["games"],
                    "samples": st["samples"],
                    "seconds": st["seconds"],
                }
            )
        except (ValueError, KeyError):
            continue
    return out


def throughput_figure(timings: list[dict], expected_parts: int | None = None) -> Figure:
    fig = Figure(figsize=(9, 3.6), dpi=100)
    ax1, ax2 = fig.subplots(1, 2)
    if not timings:
        for ax in (ax1, ax2):
            ax.text(
                0.5,
                0.5,
                "no self-play logs with timings found",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
            ax.set_axis_off()
        return fig
    df = (
        pl.DataFrame(timings)
        .group_by("worker")
        .agg(
            pl.col("games").sum(),
            pl.col("samples").sum(),
            pl.col("seconds").sum(),
            pl.len().alias("parts"),
        )
        .sort("worker")
    )
    names = [w.rsplit("_", 1)[-1] for w in df["worker"]]
    ax1.bar(names, df["games"] / df["seconds"] * 3600, color="#4c72b0")
    ax1.set_ylabel("games per hour")
    ax1.set_title("Games per hour")
    ax2.bar(names, df["samples"] / df["seconds"], color="#dd8452")
    ax2.set_ylabel("samples per second")
    got = int(df["parts"].sum())
    note = f"{got} parts timed" + (f" of {expected_parts}" if expected_parts else "")
    ax2.set_title("Samples per second")
    for ax in (ax1, ax2):
        ax.set_xlabel("worker")
    fig.suptitle(f"Self-play throughput per worker ({note})", fontsize=10)
    fig.tight_layout()
    return fig


def board_figure(lf: pl.LazyFrame, scan_rows: int = 5000) -> Figure:
    """The board of the sample with the most rings on it among the first rows."""
    from ..engine import layout as L
    from ..render import draw_board
    from .schema import row_to_state

    cols = ["game_id", "move_number", "board_type", "num_players", "state"]
    rows = lf.select(cols).head(scan_rows).collect().rows(named=True)
    if not rows:
        raise DataError("dataset has no samples")
    states = [row_to_state(r) for r in rows]
    on_board = [int(L.block(st, L.o_height).sum()) for st in states]
    best = on_board.index(max(on_board))  # the first of equals
    r, state = rows[best], states[best]
    fig = Figure(figsize=(7, 7), dpi=100)
    draw_board(
        state,
        r["board_type"],
        ax=fig.add_subplot(),
        title=f"{r['game_id']}, decision {r['move_number']} (sample move_number)",
    )
    fig.tight_layout()
    return fig


def save(fig: Figure, uri: str) -> None:
    buf = io.BytesIO()
    # no timestamp in the file: reruns give the same bytes
    fig.savefig(buf, format="png", metadata={"Software": None})
    atomic_write_bytes(uri, buf.getvalue())


def write_plots(paths: list[str], outdir: str, logs: list[str] = ()) -> list[str]:
    lf = scan(paths)
    games = games_frame(lf)
    if games.height == 0:
        raise DataError("dataset has no games")
    figs = {
        "game_length": game_length_figure(games),
        "win_rate": win_rate_figure(games),
        "victory_types": victory_figure(games),
        "throughput": throughput_figure(read_timings(list(logs)), len(logs) or None),
        "board": board_figure(lf),
    }
    out = []
    for name, fig in figs.items():
        uri = f"{outdir.rstrip('/')}/{name}.png"
        save(fig, uri)
        out.append(uri)
    return out
