"""Seeded matches between two weight vectors with balanced seats."""

from __future__ import annotations

from ..engine import layout as L
from ..engine.api import Rules
from ..selfplay.game import play_game
from ..selfplay.worker import game_seed, params_for


def play_match(
    board_type: str,
    num_players: int,
    level: int,
    weights,
    opponent,
    games: int,
    seed: int,
    max_moves: int,
) -> dict:
    """``weights`` plays one seat (seat g % n + 1 in game g, so seats are
    balanced), ``opponent`` every other seat; all at the same ladder level.
    Game g uses game_seed(seed, g): every candidate of a generation meets the
    same games (common random numbers make their scores comparable)."""
    rules = Rules(board_type, num_players)
    levels = [level] * num_players
    wins = draws = 0
    arrays = []  # per candidate seat: the players' parameter arrays
    for seat in range(1, num_players + 1):
        per_seat = [opponent] * num_players
        per_seat[seat - 1] = weights
        arrays.append(params_for(levels, board_type, per_seat))
    for g in range(games):
        seat = g % num_players + 1
        kinds, ip, fp, w = arrays[seat - 1]
        final = play_game(
            rules.geo, rules.new_game(), kinds, ip, fp, w, game_seed(seed, g), max_moves
        )[0]
        if final[L.STATUS] != L.ST_COMPLETED:
            draws += 1
        elif int(final[L.WINNER]) == seat:
            wins += 1
    losses = games - wins - draws
    score = (wins + draws / num_players) / games if games else 0.0
    return {"games": games, "wins": wins, "draws": draws, "losses": losses, "score": score}
