"""Board drawings: every board type, PNG and SVG, pieces matching the state."""
import re

import numpy as np
import pytest
from matplotlib.image import imread

from ringrift.engine import layout as L
from ringrift.engine.api import Rules
from ringrift.engine.rules import apply_move, legal_moves
from ringrift.render import COLORS, board_type_of, save_board


def played(board_type, players, moves, seed=3):
    rules = Rules(board_type, players)
    s = rules.new_game()
    rng = np.random.default_rng(seed)
    for _ in range(moves):
        if s[L.STATUS] != L.ST_ACTIVE:
            break
        ms = legal_moves(rules.geo, s)
        s = apply_move(rules.geo, s, ms[rng.integers(len(ms))])
    return s


def pieces(s):
    n = int(s[L.NCELL])
    return (int((s[L.HDR:L.HDR + n] > 0).sum()), int((s[L.HDR + n:L.HDR + 2 * n] > 0).sum()),
            int((s[L.HDR + 2 * n:L.HDR + 3 * n] > 0).sum()))


@pytest.mark.parametrize("board_type, players, moves", [
    ("square8", 2, 40), ("square19", 3, 150), ("hex8", 3, 60), ("hexagonal", 4, 150)])
def test_drawing_matches_state(tmp_path, board_type, players, moves):
    s = played(board_type, players, moves)
    assert board_type_of(s) == board_type
    stacks, markers, collapsed = pieces(s)
    assert stacks and markers            # a position worth drawing
    save_board(s, tmp_path / "b.svg")
    svg = (tmp_path / "b.svg").read_text()
    assert len(re.findall(r'id="stack', svg)) == stacks
    assert len(re.findall(r'id="marker', svg)) == markers
    assert len(re.findall(r'id="collapsed', svg)) == collapsed
    save_board(s, tmp_path / "b.png")
    assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = (imread(tmp_path / "b.png")[:, :, :3] * 255).round().astype(int)
    found = {tuple(px) for px in img.reshape(-1, 3)}
    # the colour of every player who controls a stack appears in the picture
    n, m = int(s[L.NCELL]), int(s[L.MAXH])
    rings = s[L.HDR + 4 * n:].reshape(n, m)
    h = s[L.HDR:L.HDR + n]
    tops = {int(rings[c, h[c] - 1]) for c in range(n) if h[c]}
    for p in tops:
        rgb = tuple(int(COLORS[p - 1][i:i + 2], 16) for i in (1, 3, 5))
        assert rgb in found, f"player {p}'s colour missing"


def test_bad_suffix_and_unknown_board(tmp_path):
    s = played("square8", 2, 10)
    with pytest.raises(ValueError, match="'.jpg'"):
        save_board(s, tmp_path / "b.jpg")
    bad = s.copy()
    bad[L.NCELL] = 50
    with pytest.raises(ValueError, match="no board has 50 cells"):
        save_board(bad, tmp_path / "b.png")
