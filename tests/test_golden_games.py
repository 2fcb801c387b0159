"""Golden games (shared/conformance/golden-games, VECTORS.md section 3).

Each record is replayed from the standard empty board (pie rule off): every
recorded move must be one of our legal moves (matched with
``load.move_from_json``), for the recorded player.

The records come from older engines. Where the current rules (the judge:
``traces/``) differ, the replay adapts in one of four documented ways, and the
test asserts the exact list of adaptations each game needs, so any new
disagreement fails:

``insert``
    our only legal move is a bookkeeping ``no_*_action`` the record lacks
    (VECTORS.md: the older engine ended the turn right after a line
    elimination without ``no_line_action``); we play it.
``skip-for-no-territory``
    the record says ``no_territory_action`` but the current rules find
    disconnected regions there; the board-neutral equivalent is to decline
    them with ``skip_territory_processing``.
``insert-skip-territory``
    the record leaves territory processing without a territory move while the
    current rules offer regions; we decline them first.
``must-move``
    the record moves a stack other than the one just placed on; the current
    rules (README: "the movement step lists only moves of that stack") forbid
    it, so we lift the must-move restriction for that one move.

Every adaptation point was checked against the reference engine at the traces'
commit: replaying the same records with the same adaptations it needs exactly
the same ones and ends in the same state (f6bb4e8e: completed, winner 2, and the
same per-player counters as ours).
"""

from __future__ import annotations

import json

import pytest
from conftest import conformance_root

from ringrift.engine import Rules
from ringrift.engine import layout as L
from ringrift.reference.load import json_move_key, move_from_json

CONF = conformance_root()

F6BB = "fullgame_hex8_2p_f6bb4e8e"

EXPECTED_ADAPTATIONS = {
    "captures_square8_2p_272ed96f": [("must-move", i) for i in (14, 31, 36, 41, 46, 51, 56)],
    "captures_square8_2p_8840e2e0": [],
    "captures_square8_2p_8916c9a6": [("must-move", i) for i in (10, 19, 24)],
    F6BB: [
        ("skip-for-no-territory", 46),
        ("skip-for-no-territory", 107),
        ("insert-skip-territory", 111),
        ("insert no_line_action", 117),
        ("insert-skip-territory", 117),
    ],
    "smoke_hex8_2p_mjk8qhtj": [],
}

# finalScore.territorySpaces written by the older engines vs ours (ours equal
# the reference at the traces' commit on the same moves); the other finalScore
# fields agree.
TERRITORY_DIFFERENCES = {
    "captures_square8_2p_272ed96f": {"record": {1: 1, 2: 0}, "ours": {1: 1, 2: 1}},
    F6BB: {"record": {1: 1, 2: 5}, "ours": {1: 3, 2: 8}},
}

BOOKKEEPING = (L.MT_NO_PLACEMENT, L.MT_NO_MOVEMENT, L.MT_NO_LINE, L.MT_NO_TERRITORY)
TERRITORY_MOVES = (
    "choose_territory_option",
    "skip_territory_processing",
    "eliminate_rings_from_stack",
)


def _games():
    return [pytest.param(p, id=p.stem) for p in sorted((CONF / "golden-games").glob("*.json"))]


def replay(rules: Rules, moves: list[dict]):
    """Replay `moves`; return (final state, adaptations)."""
    s = rules.new_game()
    adaptations = []
    for i, mj in enumerate(moves):
        assert not rules.is_over(s), f"game over before move {i} ({mj['type']})"
        while True:
            try:
                m = move_from_json(rules, s, mj)
                break
            except ValueError as err:
                legal = rules.legal(s)
                types = [L.MOVE_TYPE_NAMES[int(x[L.F_TYPE])] for x in legal]
                if len(legal) == 1 and int(legal[0][L.F_TYPE]) in BOOKKEEPING:
                    adaptations.append((f"insert {types[0]}", i))
                    s = rules.apply(s, legal[0])
                    continue
                if "skip_territory_processing" in types:
                    skip = legal[types.index("skip_territory_processing")]
                    if mj["type"] == "no_territory_action":
                        adaptations.append(("skip-for-no-territory", i))
                        m = skip
                        break
                    if mj["type"] not in TERRITORY_MOVES:
                        adaptations.append(("insert-skip-territory", i))
                        s = rules.apply(s, skip)
                        continue
                if (
                    s[L.MUSTMOVE] >= 0
                    and rules.phase(s) == "movement"
                    and mj["type"] in ("move_stack", "overtaking_capture")
                    and mj.get("from") is not None
                ):
                    adaptations.append(("must-move", i))
                    s = s.copy()
                    s[L.MUSTMOVE] = -1
                    continue
                raise AssertionError(
                    f"move {i} ({json_move_key(rules.board, mj)}) cannot be replayed: {err}"
                ) from err
        assert int(m[L.F_PLAYER]) == int(mj["player"]) == rules.current_player(s)
        s = rules.apply(s, m)
    return s, adaptations


@pytest.mark.parametrize("path", _games())
def test_golden_game(path):
    name = path.stem
    assert name in EXPECTED_ADAPTATIONS, f"new golden game {name}: list its adaptations"
    rec = json.loads(path.read_text())
    assert rec["totalMoves"] == len(rec["moves"])
    rules = Rules(rec["boardType"], int(rec["numPlayers"]))
    s, adaptations = replay(rules, rec["moves"])
    assert adaptations == EXPECTED_ADAPTATIONS[name]

    res = rules.result(s)
    if name == F6BB:
        # The record's outcome label says ring_elimination, but nobody reaches
        # 18 eliminated rings: P1 has no real action for 3 rounds (LPS).
        assert res["status"] == "completed"
        assert res["winner"] == rec["winner"] == 2
        assert res["end_reason"] == "lps_rounds"
        assert rules.phase(s) == "game_over"
    else:
        # truncated records: nobody won, whatever `outcome` says
        assert res["status"] == "active" and "winner" not in rec

    score = rec["finalScore"]
    for p in res["players"]:
        q = p["playerNumber"]
        assert p["eliminatedRings"] == score["ringsEliminated"][str(q)]
        assert p["ringsInHand"] == score["ringsRemaining"][str(q)]
    terr = {p["playerNumber"]: p["territorySpaces"] for p in res["players"]}
    record_terr = {int(k): v for k, v in score["territorySpaces"].items()}
    diff = TERRITORY_DIFFERENCES.get(name)
    if diff:
        assert record_terr == diff["record"] and terr == diff["ours"]
    else:
        assert terr == record_terr


def test_golden_games_present():
    names = sorted(p.stem for p in (CONF / "golden-games").glob("*.json"))
    assert names == sorted(EXPECTED_ADAPTATIONS)


def test_replay_rejects_an_unplayable_record():
    """A move that no adaptation explains fails the replay with its key."""
    rules = Rules("hex8", 2)
    bad = [
        {"type": "place_ring", "player": 1, "to": {"x": 0, "y": 0, "z": 0}, "placementCount": 1},
        {
            "type": "move_stack",
            "player": 2,
            "from": {"x": 0, "y": 0, "z": 0},
            "to": {"x": 1, "y": 0, "z": -1},
        },
    ]
    with pytest.raises(AssertionError, match="move 1 .*move_stack p2"):
        replay(rules, bad)
