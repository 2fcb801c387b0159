"""ringrift.render draws what is in the state: stacks, markers and collapsed
cells where the state has them, in the right colours, on a correct lattice."""

import xml.etree.ElementTree as ET

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.image import imread

from ringrift.engine import layout as L
from ringrift.engine.api import Rules, stack_rings
from ringrift.engine.geometry import board
from ringrift.render import COLORS, DARK, EMPTY, cell_centres, draw_board, save_board

BOARDS = [("square8", 2), ("square19", 3), ("hex8", 4), ("hexagonal", 2)]


def _blocks(s):
    n, m = int(s[L.NCELL]), int(s[L.MAXH])
    height = s[L.HDR : L.HDR + n]
    marker = s[L.HDR + n : L.HDR + 2 * n]
    collapsed = s[L.HDR + 2 * n : L.HDR + 3 * n]
    rings = np.zeros((n, m), dtype=np.int32)  # owners per cell, bottom first
    for c in np.flatnonzero(height):
        rings[c, : height[c]] = stack_rings(s, c)
    return height, marker, collapsed, rings


def _played(board_type, num_players, moves=30, seed=3):
    rules = Rules(board_type, num_players)
    s = rules.new_game()
    rng = np.random.default_rng(seed)
    for _ in range(moves):
        if rules.is_over(s):
            break
        legal = rules.legal(s)
        s = rules.apply(s, legal[rng.integers(len(legal))])
    height, marker, collapsed, _ = _blocks(s)
    # Random play rarely collapses cells by move 30: collapse two empty cells
    # (for P1 and the last player) so every board exercises that drawing too.
    s = s.copy()
    empty = np.flatnonzero((height == 0) & (marker == 0) & (collapsed == 0))
    s[L.HDR + 2 * int(s[L.NCELL]) + empty[[0, -1]]] = (1, num_players)
    return s


@pytest.fixture(scope="module", params=BOARDS, ids=[b for b, _ in BOARDS])
def played(request):
    board_type, num_players = request.param
    s = _played(board_type, num_players)
    height, marker, _, _ = _blocks(s)
    assert (height > 0).sum() >= 3 and (marker > 0).sum() >= 3, "too few pieces to test"
    return board_type, s


def _top(rings, height, c):
    return int(rings[c, height[c] - 1])


def test_png_shows_each_piece_in_its_owners_colour(played, tmp_path):
    board_type, s = played
    path = tmp_path / "board.png"
    save_board(s, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(path)[:, :, :3]

    # the same drawing, to map cell centres to pixels
    fig = draw_board(s)
    fig.canvas.draw()
    w, h = (fig.get_size_inches() * fig.dpi).astype(int)  # Agg truncates
    assert img.shape[:2] == (h, w) and min(w, h) >= 500
    rgb = (img * 255).astype(np.uint32)
    assert len(np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])) > 50

    ax = fig.axes[0]
    xy, inr = cell_centres(board(board_type))

    def pixel(x, y):
        px, py = ax.transData.transform((x, y))
        return img[int(h - py), int(px)]

    height, marker, collapsed, rings = _blocks(s)
    for c in np.flatnonzero(height):
        # above the height label, inside the disc
        got = pixel(xy[c][0], xy[c][1] + 0.4 * inr)
        assert np.allclose(got, to_rgb(COLORS[_top(rings, height, c) - 1]), atol=0.03), c
    for c in np.flatnonzero(collapsed):
        assert np.allclose(pixel(*xy[c]), to_rgb(DARK[collapsed[c] - 1]), atol=0.03), c
    # a marker is hollow: its centre shows the empty-cell colour
    for c in np.flatnonzero(marker):
        assert np.allclose(pixel(*xy[c]), to_rgb(EMPTY), atol=0.03), c
    empty = np.flatnonzero((height == 0) & (marker == 0) & (collapsed == 0))
    for c in empty[:: max(1, len(empty) // 20)]:
        assert np.allclose(pixel(*xy[c]), to_rgb(EMPTY), atol=0.03), c


def _svg_groups(path):
    root = ET.parse(path).getroot()
    return {el.get("id"): el for el in root.iter() if el.get("id")}


def _cells_with(groups, kind):
    return {int(k.split("-")[1]) for k in groups if k.startswith(kind + "-")}


def _fill(group):
    for el in group.iter():
        for part in (el.get("style") or "").split(";"):
            key, _, val = part.partition(":")
            if key.strip() == "fill":
                return val.strip()
    return None


def test_svg_has_one_labelled_disc_per_stack_and_one_ring_per_marker(played, tmp_path):
    board_type, s = played
    path = tmp_path / "board.svg"
    # real <text> elements instead of glyph paths, so the labels can be read back
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        save_board(s, path, board_type=board_type)
    groups = _svg_groups(path)
    height, marker, collapsed, rings = _blocks(s)

    assert _cells_with(groups, "stack") == set(np.flatnonzero(height))
    assert _cells_with(groups, "height") == set(np.flatnonzero(height))
    assert _cells_with(groups, "marker") == set(np.flatnonzero(marker))
    assert _cells_with(groups, "collapsed") == set(np.flatnonzero(collapsed))
    for c in np.flatnonzero(height):
        label = "".join(groups[f"height-{c}"].itertext()).strip()
        assert label == str(height[c])
        assert _fill(groups[f"stack-{c}"]) == COLORS[_top(rings, height, c) - 1]
        # the cap band exists exactly when other rings lie under the cap
        mixed = len(set(rings[c, : height[c]].tolist())) > 1
        assert (f"cap-{c}" in groups) == mixed
    for c in np.flatnonzero(marker):
        stroke = groups[f"marker-{c}"]
        assert f"stroke: {COLORS[marker[c] - 1]}" in ET.tostring(stroke, encoding="unicode")


def test_title_and_legend_state_the_counters(played):
    board_type, s = played
    fig = Figure()
    ax = fig.add_subplot()
    assert draw_board(s, ax=ax, title="sample 7") is fig
    title = ax.get_title()
    assert title.startswith("sample 7\n")
    assert board_type in title and f"move {int(s[L.MOVE_COUNT])}" in title
    assert f"P{int(s[L.CUR])} to move" in title and L.PHASE_NAMES[int(s[L.PHASE])] in title
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == int(s[L.NP])
    for p, text in enumerate(legend, start=1):
        assert text.startswith(f"P{p}")
        assert (
            f"hand {int(s[L.HAND + p])} · elim {int(s[L.ELIM + p])} · terr {int(s[L.TERR + p])}"
        ) in text


def test_game_over_title_names_the_winner():
    s = Rules("square8", 2).new_game()
    s[L.STATUS], s[L.WINNER], s[L.END_REASON] = L.ST_COMPLETED, 2, L.END_TERRITORY
    title = draw_board(s).axes[0].get_title()
    assert "game over, winner P2 (territory)" in title and "to move" not in title


@pytest.mark.parametrize("name", ["square8", "square19", "hex8", "hexagonal"])
def test_cells_sit_on_a_regular_lattice(name):
    b = board(name)
    xy, inr = cell_centres(b)
    # hex: all six directions; square: the orthogonal ones, E (0) and S (2)
    for d in range(b.ndir) if b.is_hex else (0, 2):
        nb = b.geo[:, L.G_RAY + d]
        has = nb >= 0
        step = xy[nb[has]] - xy[has]
        # every neighbour in direction d is the same vector away, one cell width
        assert np.allclose(step, step[0])
        assert np.isclose(np.hypot(*step[0]), 2 * inr)
    # orientation: +x (direction 0, E or cube (1,0,-1)) runs to the right; on
    # squares +y (direction 2, S) runs down, so "0,0" is the top-left corner
    east = xy[b.geo[0, L.G_RAY]] - xy[0]
    assert east[0] > 0 and np.isclose(east[1], 0)
    if not b.is_hex:
        south = xy[b.geo[0, L.G_RAY + 2]] - xy[0]
        assert np.isclose(south[0], 0) and south[1] < 0
    # no two cells drawn on top of each other
    assert len(np.unique(xy.round(6), axis=0)) == b.ncell


def test_board_type_is_inferred_and_checked():
    s = Rules("hex8", 2).new_game()
    assert "hex8" in draw_board(s).axes[0].get_title()
    with pytest.raises(ValueError, match="board square8 has 64"):
        draw_board(s, board_type="square8")
    bad = s.copy()
    bad[L.NCELL] = 50
    with pytest.raises(ValueError, match="no board has 50 cells"):
        draw_board(bad)


@pytest.mark.parametrize("name", ["board.jpg", "board.PDF", "board"])
def test_unsupported_suffix_is_refused(tmp_path, name):
    s = Rules("square8", 2).new_game()
    with pytest.raises(ValueError) as err:
        save_board(s, tmp_path / name)
    msg = str(err.value)
    assert "\n" not in msg and ".png or .svg" in msg
    if "." in name:
        assert name[name.index(".") :].lower() in msg
    assert not list(tmp_path.iterdir())
