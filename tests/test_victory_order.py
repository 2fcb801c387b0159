"""Turn-start last-player-standing vs the post-move victory check (K13).

In the reference's ``apply_move`` the turn hand-over happens inside the move's
processing, and with it the R172 LPS check at the start of the next player's
turn; the post-move checks (ring elimination, territory, sole material,
stalemate) run afterwards with no guard on the game's status. So when LPS has
just ended the game, a post-move condition that holds still decides: its
winner, its end reason, the winner as current player, phase game_over. When
none holds, the LPS result stands.

Every position here is player 2 in ``forced_elimination`` (no action this
turn) with one stack of its own; player 1 has rings in hand, and the LPS
counters say player 1 was the only player with a real action in the last two
rounds, with the round that completes as player 1's turn starts making three.
Player 2's forced elimination hands the turn to player 1; player 2 is then
left with no stack and nothing in hand (no real action), so LPS ends the game
for player 1 at the start of its turn. What the post-move check finds decides.
"""

from __future__ import annotations

from ringrift.engine import layout as L
from ringrift.reference.load import state_from_json

# square8 2p: victory threshold 18 rings, territory threshold 64 // 2 + 1 = 33
P2_STACK = "0,0"


def _position(*, p2_elim: int, p2_buried: bool, p2_territory: int = 0):
    stacks = {
        # player 2's last controlled stack, one ring high: the forced elimination takes it
        P2_STACK: {
            "position": {"x": 0, "y": 0},
            "rings": [2],
            "stackHeight": 1,
            "capHeight": 1,
            "controllingPlayer": 2,
        },
        # player 1's stack; with p2_buried a ring of player 2 lies under it,
        # so player 2 keeps material (not skipped, no sole-material win)
        "7,7": {
            "position": {"x": 7, "y": 7},
            "rings": [1, 2] if p2_buried else [1],
            "stackHeight": 2 if p2_buried else 1,
            "capHeight": 1,
            "controllingPlayer": 1,
        },
    }
    # player 2's territory: whole rows from the bottom (none touches 0,0 / 7,7)
    collapsed = {}
    for i in range(p2_territory):
        x, y = i % 8, 1 + i // 8
        collapsed[f"{x},{y}"] = 2
    p1_elim = 11
    state = {
        "boardType": "square8",
        "board": {
            "type": "square8",
            "size": 8,
            "stacks": stacks,
            "markers": {},
            "collapsedSpaces": collapsed,
        },
        "players": [
            {"playerNumber": 1, "ringsInHand": 5, "eliminatedRings": p1_elim, "territorySpaces": 0},
            {
                "playerNumber": 2,
                "ringsInHand": 0,
                "eliminatedRings": p2_elim,
                "territorySpaces": p2_territory,
            },
        ],
        "totalRingsEliminated": p1_elim + p2_elim,
        "currentPlayer": 2,
        "currentPhase": "forced_elimination",
        "gameStatus": "active",
        # round started by player 1; in it only player 1 had a real action;
        # two such rounds already completed in a row
        "lpsRoundIndex": 6,
        "lpsCurrentRoundFirstPlayer": 1,
        "lpsCurrentRoundActorMask": {"1": True, "2": False},
        "lpsExclusivePlayerForCompletedRound": 1,
        "lpsConsecutiveExclusiveRounds": 2,
        "lpsConsecutiveExclusivePlayer": 1,
        "lpsRoundsRequired": 3,
    }
    rules, s = state_from_json(state)
    assert s[L.TTHR] == 33 and s[L.VTHR] == 18
    assert s[L.STATUS] == L.ST_ACTIVE
    return rules, s


def _play_forced_elimination(rules, s):
    assert rules.keys(s) == [f"forced_elimination p2 to={P2_STACK}"]
    return rules.apply_key(s, f"forced_elimination p2 to={P2_STACK}")


def _outcome(rules, s):
    res = rules.result(s)
    return (
        res["status"],
        res["winner"],
        res["end_reason"],
        rules.current_player(s),
        rules.phase(s),
    )


def test_lps_result_stands_when_no_post_move_condition_holds():
    rules, s = _position(p2_elim=10, p2_buried=True)
    t = _play_forced_elimination(rules, s)
    assert t[L.ELIM + 2] == 11 and t[L.LPS_CONSEC] == 3 and t[L.LPS_CONSEC_P] == 1
    assert _outcome(rules, t) == ("completed", 1, "lps_rounds", 1, "game_over")


def test_ring_elimination_overrides_lps_to_the_other_player():
    # the forced elimination credits player 2 with its 18th ring
    rules, s = _position(p2_elim=17, p2_buried=True)
    t = _play_forced_elimination(rules, s)
    assert t[L.ELIM + 2] == 18
    assert _outcome(rules, t) == ("completed", 2, "ring_elimination", 2, "game_over")


def test_territory_overrides_lps_to_the_other_player():
    # Player 2 already holds 33 of 64 cells. Our turn machine (like the
    # reference's) checks victory before handing a turn over after territory
    # processing, and every collapse is followed by the post-move check, so
    # play never reaches an active game with a territory win standing; this
    # loaded position tests the order of the checks alone.
    rules, s = _position(p2_elim=10, p2_buried=True, p2_territory=33)
    t = _play_forced_elimination(rules, s)
    assert t[L.ELIM + 2] == 11
    assert _outcome(rules, t) == ("completed", 2, "territory", 2, "game_over")


def test_sole_material_relabels_lps_for_the_same_winner():
    # player 2's forced elimination takes its last ring (square8_2p game 90's shape)
    rules, s = _position(p2_elim=10, p2_buried=False)
    t = _play_forced_elimination(rules, s)
    assert t[L.ELIM + 2] == 11
    assert _outcome(rules, t) == ("completed", 1, "sole_material", 1, "game_over")
