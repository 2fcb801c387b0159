"""The steps of a tuning run; each reads and writes files of the run folder
(see the package docstring), so each can run as its own Snakemake job."""

from __future__ import annotations

import json
import posixpath

import numpy as np

from ..dataset.parts import atomic_write_bytes
from ..players.ladder import load_profile, parse_profile, profile_weights
from ..players.params import NW, WEIGHT_NAMES
from ..storage import redact_uri
from . import settings as S
from .settings import CONFIRM, EVAL, SEARCH, VALIDATE, stream_seed
from .stats import binom_two_sided, wilson


class TuningError(ValueError):
    """A missing, corrupt or inconsistent tuning file (one line)."""


def _path(run_dir: str, name: str) -> str:
    return posixpath.join(run_dir.rstrip("/"), name)


def read_json(uri: str) -> dict:
    import fsspec

    try:
        with fsspec.open(uri, "r") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise TuningError(f"missing tuning file {uri}") from None
    except (OSError, ValueError) as exc:
        raise TuningError(f"corrupt or unreadable tuning file {uri}: {exc}") from None


def write_json(uri: str, doc: dict) -> None:
    atomic_write_bytes(uri, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode())


def load_settings(run_dir: str) -> S.Settings:
    try:
        doc = read_json(_path(run_dir, S.settings_file()))
        doc.pop("run", None)
        return S.make_settings(doc)
    except TuningError:
        raise
    except ValueError as exc:
        raise TuningError(f"{_path(run_dir, S.settings_file())}: {exc}") from None


def profile_doc(board_type: str, weights, name: str, note: str, tuning: dict) -> dict:
    return {
        "board_type": board_type,
        "profile": name,
        "note": note,
        "weights": {n: float(w) for n, w in zip(WEIGHT_NAMES, weights)},
        "tuning": tuning,
    }


def _weights(run_dir: str, name: str, board_type: str) -> np.ndarray:
    return np.array(load_profile(_path(run_dir, name), board_type))


def play_match(*args):
    # imported on use: only the steps that play load the jitted engine
    from .match import play_match as play

    return play(*args)


# ---- search space and CMA-ES ---------------------------------------------------


def scale_of(base: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(base), 1.0)


def to_weights(base: np.ndarray, x) -> np.ndarray:
    return base + scale_of(base) * np.asarray(x, dtype=np.float64)


def new_es(s: S.Settings, it: int):
    import cma

    opts = {
        "popsize": s.population,
        "seed": stream_seed(s.seed, SEARCH, it) + 1,
        "verbose": -9,
        "verb_log": 0,
        "verb_disp": 0,
    }
    return cma.CMAEvolutionStrategy(np.zeros(NW), s.sigma, opts)


def replay_es(run_dir: str, s: S.Settings, gen: int):
    """CMA-ES of gen's iteration after telling every earlier generation of it."""
    es = new_es(s, S.iteration_of(s, gen))
    for g in S.iteration_gens(s, S.iteration_of(s, gen)):
        if g >= gen:
            break
        res = read_json(_path(run_dir, S.result_file(g)))
        _tell(es, res["candidates"], g, _path(run_dir, S.result_file(g)))
    return es


def _tell(es, cands: list[dict], gen: int, where: str) -> None:
    xs = es.ask()
    stored = np.array([c["x"] for c in cands], dtype=np.float64)
    if stored.shape != (len(xs), NW) or not np.array_equal(stored, np.array(xs)):
        raise TuningError(
            f"{where}: generation {gen}'s candidates differ from a replay of "
            "the search (files from other settings or another cma version)"
        )
    # cma minimises; the fitness is the candidate's score against the baseline
    es.tell(xs, [-float(c["score"]) for c in cands])


# ---- steps -------------------------------------------------------------------------


def init(run_dir: str, run: str, settings: dict) -> None:
    s = S.make_settings(settings)
    if s.start_profile:
        base = load_profile(s.start_profile, s.board_type)
        origin = redact_uri(s.start_profile)  # recorded: no credentials or signed query
    else:
        base = profile_weights(s.board_type)
        origin = f"shipped {s.board_type} profile"
    write_json(
        _path(run_dir, S.settings_file()),
        {"run": run, **s.to_dict(), "start_profile": redact_uri(s.start_profile)},
    )
    write_json(
        _path(run_dir, S.baseline_file(0)),
        profile_doc(
            s.board_type,
            base,
            f"{run} baseline 0",
            f"start of tuning run {run}: {origin}",
            {"iteration": 0, "source": origin},
        ),
    )


def ask(run_dir: str, gen: int) -> None:
    s = load_settings(run_dir)
    if not 0 <= gen < s.total_generations:
        raise TuningError(f"generation {gen} is outside the run (0-{s.total_generations - 1})")
    it = S.iteration_of(s, gen)
    base = _weights(run_dir, S.baseline_file(it), s.board_type)
    es = replay_es(run_dir, s, gen)
    cands = [
        profile_doc(
            s.board_type,
            to_weights(base, x),
            f"gen {gen} candidate {i}",
            "CMA-ES candidate",
            {"generation": gen, "index": i, "iteration": it, "x": [float(v) for v in x]},
        )
        for i, x in enumerate(es.ask())
    ]
    write_json(
        _path(run_dir, S.candidates_file(gen)),
        {"generation": gen, "iteration": it, "sigma": float(es.sigma), "candidates": cands},
    )


def _candidate(run_dir: str, s: S.Settings, gen: int, i: int) -> dict:
    uri = _path(run_dir, S.candidates_file(gen))
    cands = read_json(uri)["candidates"]
    if not 0 <= i < len(cands):
        raise TuningError(f"{uri} has candidates 0-{len(cands) - 1}, not {i}")
    return cands[i]


def evaluate(run_dir: str, gen: int, i: int) -> None:
    """Play candidate i of generation gen against the iteration's baseline;
    also write the candidate alone as a profile (cand_{i}.json)."""
    s = load_settings(run_dir)
    it = S.iteration_of(s, gen)
    doc = _candidate(run_dir, s, gen, i)
    cand = np.array(
        parse_profile(json.dumps(doc), f"candidate {i} of generation {gen}", s.board_type)
    )
    base = _weights(run_dir, S.baseline_file(it), s.board_type)
    res = play_match(
        s.board_type,
        s.num_players,
        s.level,
        cand,
        base,
        s.games_per_candidate,
        stream_seed(s.seed, EVAL, gen),
        s.max_moves,
    )
    write_json(_path(run_dir, S.cand_file(gen, i)), doc)
    write_json(_path(run_dir, S.eval_file(gen, i)), {"generation": gen, "index": i, **res})


def tell(run_dir: str, gen: int) -> None:
    s = load_settings(run_dir)
    cands = []
    docs = read_json(_path(run_dir, S.candidates_file(gen)))["candidates"]
    for i, c in enumerate(docs):
        e = read_json(_path(run_dir, S.eval_file(gen, i)))
        cands.append(
            {
                "index": i,
                "x": c["tuning"]["x"],
                "weights": c["weights"],
                "score": e["score"],
                "wins": e["wins"],
                "draws": e["draws"],
                "losses": e["losses"],
                "games": e["games"],
            }
        )
    es = replay_es(run_dir, s, gen)
    sigma_before = float(es.sigma)
    _tell(es, cands, gen, _path(run_dir, S.candidates_file(gen)))
    scores = np.array([c["score"] for c in cands])
    best = int(np.argmax(scores))
    base = _weights(run_dir, S.baseline_file(S.iteration_of(s, gen)), s.board_type)
    mean_w = to_weights(base, es.mean)
    write_json(
        _path(run_dir, S.result_file(gen)),
        {
            "generation": gen,
            "iteration": S.iteration_of(s, gen),
            "candidates": cands,
            "best_index": best,
            "best_score": float(scores[best]),
            "mean_score": float(scores.mean()),
            "median_score": float(np.median(scores)),
            "sigma_before": sigma_before,
            "sigma_after": float(es.sigma),
            "mean_weights": {n: float(w) for n, w in zip(WEIGHT_NAMES, mean_w)},
        },
    )


def promote(run_dir: str, it: int) -> None:
    """Baseline of iteration it+1: the iteration's best candidate (ties: the
    later one) when a fresh match against the baseline confirms it scores at
    least promote_threshold, else the same baseline. The fresh games matter:
    the best of many noisy scores is biased upwards."""
    s = load_settings(run_dir)
    base = _weights(run_dir, S.baseline_file(it), s.board_type)
    best = None
    for g in S.iteration_gens(s, it):
        res = read_json(_path(run_dir, S.result_file(g)))
        for c in res["candidates"]:
            if best is None or c["score"] >= best[1]["score"]:
                best = (g, c)
    g, c = best
    cand = np.array([c["weights"][n] for n in WEIGHT_NAMES])
    info = {
        "iteration": it + 1,
        "candidate": {"generation": g, "index": c["index"], "score": c["score"]},
        "threshold": s.promote_threshold,
    }
    if s.confirm_games:
        conf = play_match(
            s.board_type,
            s.num_players,
            s.level,
            cand,
            base,
            s.confirm_games,
            stream_seed(s.seed, CONFIRM, it),
            s.max_moves,
        )
        info["confirm"] = conf
        ok = conf["score"] >= s.promote_threshold
    else:
        ok = c["score"] >= s.promote_threshold
    info["promoted"] = bool(ok)
    weights = cand if ok else base
    note = (
        f"gen {g} candidate {c['index']}, promoted after iteration {it}"
        if ok
        else f"baseline of iteration {it} kept (its best candidate was not confirmed)"
    )
    info["source"] = note
    write_json(
        _path(run_dir, S.baseline_file(it + 1)),
        profile_doc(s.board_type, weights, f"baseline {it + 1}", note, info),
    )


def final_profile(run_dir: str, out: str) -> None:
    s = load_settings(run_dir)
    run = read_json(_path(run_dir, S.settings_file())).get("run", "tuning")
    last = read_json(_path(run_dir, S.baseline_file(s.iterations)))
    w = _weights(run_dir, S.baseline_file(s.iterations), s.board_type)
    promoted = [
        read_json(_path(run_dir, S.baseline_file(i)))["tuning"].get("promoted", False)
        for i in range(1, s.iterations + 1)
    ]
    write_json(
        out,
        profile_doc(
            s.board_type,
            w,
            f"tuned-{run}",
            f"CMA-ES tuning run {run}: {s.total_generations} generations of {s.population} "
            f"candidates x {s.games_per_candidate} games at level {s.level} on {s.board_type} "
            f"{s.num_players}p; {sum(promoted)} of {s.iterations} iterations promoted a candidate",
            {"settings": s.to_dict(), "source": last["tuning"].get("source")},
        ),
    )


def validate(run_dir: str, profile: str, out: str) -> None:
    """The tuned profile against the start profile on fresh games."""
    s = load_settings(run_dir)
    tuned = np.array(load_profile(profile, s.board_type))
    start = _weights(run_dir, S.baseline_file(0), s.board_type)
    res = play_match(
        s.board_type,
        s.num_players,
        s.level,
        tuned,
        start,
        s.validation_games,
        stream_seed(s.seed, VALIDATE, 0),
        s.max_moves,
    )
    lo, hi = wilson(res["score"], res["games"])
    neutral = 1.0 / s.num_players
    if s.num_players == 2:
        decisive = res["wins"] + res["losses"]
        p = binom_two_sided(res["wins"], decisive, 0.5)
        test = "exact two-sided binomial (sign) test on decisive games"
    else:
        p = binom_two_sided(res["wins"], res["games"], neutral)
        test = f"exact two-sided binomial test of wins against 1/{s.num_players}"
    write_json(
        out,
        {
            **res,
            "opponent": "start profile",
            "level": s.level,
            "ci95": [lo, hi],
            "neutral_score": neutral,
            "p_value": p,
            "test": test,
            "significant": bool(p < 0.05 and res["score"] > neutral),
        },
    )
