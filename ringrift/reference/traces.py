"""Replay reference traces (shared/conformance format) through our engine."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.api import Rules
from ..engine.rules import apply_move


@dataclass
class GameReport:
    index: int
    steps_checked: int
    ok: bool
    message: str = ""


@dataclass
class FileReport:
    path: str
    games: list = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(g.ok for g in self.games)

    @property
    def failed(self) -> int:
        return sum(not g.ok for g in self.games)

    @property
    def steps(self) -> int:
        return sum(g.steps_checked for g in self.games)


def _open(path: Path):
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_records(path):
    with _open(Path(path)) as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield json.loads(line)


def check_game(rec: dict, index: int = 0) -> GameReport:
    rules = Rules(
        rec["board_type"],
        int(rec["num_players"]),
        swap_rule=bool(rec.get("swap_rule_enabled", False)),
    )
    s = rules.new_game()
    steps = rec["steps"]
    for i, step in enumerate(steps):
        where = f"game {index} step {i}"
        if rules.is_over(s):
            return GameReport(index, i, False, f"{where}: our game is already over")
        if rules.current_player(s) != step["player"] or rules.phase(s) != step["phase"]:
            return GameReport(
                index,
                i,
                False,
                f"{where}: expected p{step['player']} {step['phase']}, "
                f"got p{rules.current_player(s)} {rules.phase(s)}",
            )
        moves = rules.legal(s)
        keys = [rules.key(s, m) for m in moves]
        ours = set(keys)
        theirs = set(step["legal"])
        if ours != theirs:
            missing = sorted(theirs - ours)
            extra = sorted(ours - theirs)
            return GameReport(
                index,
                i,
                False,
                f"{where} ({step['phase']}): missing {missing[:8]} extra {extra[:8]}",
            )
        s = apply_move(rules.geo, s, moves[keys.index(step["chosen"])])
    final = rec.get("final")
    if final:
        res = rules.result(s)
        problems = []
        if res["status"] != final["status"]:
            problems.append(f"status {res['status']} != {final['status']}")
        if res["winner"] != final["winner"]:
            problems.append(f"winner {res['winner']} != {final['winner']}")
        if final.get("end_reason") and res["end_reason"] != final["end_reason"]:
            problems.append(f"end_reason {res['end_reason']} != {final['end_reason']}")
        for ours_p, theirs_p in zip(res["players"], final["players"]):
            for fld in ("ringsInHand", "eliminatedRings", "territorySpaces"):
                if ours_p[fld] != theirs_p[fld]:
                    problems.append(
                        f"p{ours_p['playerNumber']} {fld} {ours_p[fld]} != {theirs_p[fld]}"
                    )
        if problems:
            return GameReport(
                index, len(steps), False, f"game {index} final: " + "; ".join(problems)
            )
    return GameReport(index, len(steps), True)


def check_file(path) -> FileReport:
    rep = FileReport(str(path))
    for i, rec in enumerate(read_records(path)):
        try:
            rep.games.append(check_game(rec, i))
        except (KeyError, TypeError, ValueError) as exc:
            rep.games.append(GameReport(i, 0, False, f"game {i}: bad record or move: {exc}"))
    return rep
