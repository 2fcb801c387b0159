"""The engine's data layout, documented once.

A game state is ONE flat ``int32`` numpy array ``s``. States are values: every
``apply_move`` copies the array, so a state handed to a search never changes
under it. Only game loops that never look back at a state (random play, the
self-play loop, replays) copy once and then play with ``apply_in_place``.

Header ``s[0:HDR]`` (scalar fields, index constants below):

    board params   NCELL NDIR NTDIR ISHEX NP MAXH LINELEN RPP VTHR TTHR
    turn machine   PHASE CUR STATUS WINNER END_REASON MUSTMOVE CHAIN LAST_TO
                   PENDLINE
    history facts  LAST_MOVER LAST_TYPE RUN_CHANGED RUN_RECOVERY MOVE_COUNT
                   (RUN_* describe the trailing run of moves by LAST_MOVER, which
                   is what the reference scans its move history for)
    pie rule       SWAP_EN SWAP_DONE P1_MOVED P2_MOVED
    LPS            LPS_ROUND LPS_FIRST LPS_MASK_KNOWN LPS_MASK_VAL
                   LPS_EXCL_DONE LPS_CONSEC LPS_CONSEC_P LPS_REQ
    misc           STAMP (next stack insertion stamp) TOTAL_ELIM
                   NO_REGIONS (the line phase's exit just found no territory
                   decision; valid until the next move)
    per player p in 1..4 (slot 0 unused):  HAND+p  ELIM+p  TERR+p  ELIMTURN+p

Per-cell blocks follow, then the ring pool; with n = NCELL and m = MAXH (the
total rings in the game, so the pool always has room). Address them ONLY
through the offset functions below (plain Python and Numba alike), never by
hand-written ``HDR + k * n``:

    block      offset            word s[offset + c] for cell c
    height     o_height(n)       rings in the stack on cell c (0 = no stack)
               = HDR
    marker     o_marker(n)       marker owner (0 = none)
               = HDR + n
    collapsed  o_collapsed(n)    owner of the collapsed cell (0 = open)
               = HDR + 2n
    stamp      o_stamp(n)        insertion order of the stack (the reference
               = HDR + 3n        keeps stacks in a dict; a few choices take
                                 "the first stack", so we keep that order)
    start      o_start(n)        where c's rings begin in the pool: the sum
               = HDR + 4n        of the heights of cells 0..c-1
    pool       o_pool(n)         s[o_pool(n) + j], j < m: ring owners, every
               = HDR + 5n        stack's rings, BOTTOM first, stacks in cell
                                 order, packed; zeros after the last ring

In plain Python, ``block(s, o_marker)`` is the marker block of s as a view
(readable and writable) and ``pool(s)`` the whole pool.

A state is HDR + 5n + m words (10.9 KiB for hexagonal 4p, was 711 KiB): it only grows with
the rings in the game, and apply copies it whole. The pool is canonical (a
function of heights and owners only), so equal positions are equal arrays.
Read and change stacks only through engine/stacks.py (ring_base, push_many,
move_stack, ...), which keeps start and pool in step.

Cells are indexed 0..n-1 in the reference's position order (square: x major,
then y; hex: cube x major, then y). Geometry lives in one ``int32`` table
``geo`` of shape (n, GEO_COLS): ray neighbours per movement direction, territory
neighbours, and the reference's border-marker neighbours; -1 = off board.

A move is an ``int32`` record of MF fields: type, player, from, to, cap, a, b, c.
Cells are cell indices, -1 = unused; a/b/c are 0 unless listed:

    place_ring                  to = cell, a = rings placed (1-3)
    move_stack                  from -> to
    overtaking_capture,
    continue_capture_segment    from -> to (landing cell), cap = the captured
                                stack's cell
    process_line                to = the line's first cell, a = the line's index
                                in find_lines(geo, s, player) order, b = -1
    choose_line_option          as process_line; b = first cell (offset along the
                                line) of the LINELEN cells to collapse, -1 = the
                                whole line (which then owes an elimination)
    choose_territory_option     to = the region's first cell, a = the region's
                                index in find_regions(geo, s) order
    eliminate_rings_from_stack  to = the stack's cell, a = context (CTX_*)
    forced_elimination          to = the stack's cell
    recovery_slide              from = the player's marker, to = where it slides,
                                a = mode (RM_*); RM_LINE: b = 1 collapse the
                                whole line and extract a buried ring, b = 2
                                collapse LINELEN cells free (longer lines only),
                                c = -1 (the stack is chosen when applied);
                                RM_FALLBACK / RM_STACK_STRIKE: c = the stack
                                whose buried ring pays
    every other type            type and player only (from/to/cap = -1)
"""

from numba.extending import register_jitable

# ---- players ----------------------------------------------------------------
MAX_PLAYERS = 4
# per-player arrays are indexed by player number 1..MAX_PLAYERS (slot 0 unused),
# as the header's HAND/ELIM/TERR/ELIMTURN blocks are
PSLOTS = MAX_PLAYERS + 1

# ---- boards -----------------------------------------------------------------
# cells of the largest board (hexagonal, radius 12): the bound of the kernels'
# stack scratch (engine/jit.py); tests/test_kernels.py checks every board
MAX_CELLS = 469

# ---- header -------------------------------------------------------------
NCELL = 0
NDIR = 1
NTDIR = 2
ISHEX = 3
NP = 4
MAXH = 5
LINELEN = 6
RPP = 7
VTHR = 8
TTHR = 9
PHASE = 10
CUR = 11
STATUS = 12
WINNER = 13
END_REASON = 14
MUSTMOVE = 15
CHAIN = 16
LAST_TO = 17
PENDLINE = 18
LAST_MOVER = 19
LAST_TYPE = 20
RUN_CHANGED = 21
RUN_RECOVERY = 22
MOVE_COUNT = 23
SWAP_EN = 24
SWAP_DONE = 25
P1_MOVED = 26
P2_MOVED = 27
LPS_ROUND = 28
LPS_FIRST = 29
LPS_MASK_KNOWN = 30
LPS_MASK_VAL = 31
LPS_EXCL_DONE = 32
LPS_CONSEC = 33
LPS_CONSEC_P = 34
LPS_REQ = 35
STAMP = 36
TOTAL_ELIM = 37
NO_REGIONS = 38  # cache: set when the line phase just found no territory decision
HAND = 40  # PSLOTS entries each, see "per player" above
ELIM = 45
TERR = 50
ELIMTURN = 55
HDR = 64


def state_words(ncell: int, maxh: int) -> int:
    """Length of a state: header, five per-cell blocks, ring pool."""
    return o_pool(ncell) + maxh


# ---- per-cell blocks (see the table above) -------------------------------
# register_jitable: plain Python functions (no dispatcher cost, same integer
# types as the arithmetic they replace) that Numba compiles inline where a
# jitted function calls them, so they cost nothing in the kernels.


@register_jitable(inline="always")
def o_height(n):
    """Offset of the height block; n = NCELL (unused, kept for symmetry)."""
    return HDR


@register_jitable(inline="always")
def o_marker(n):
    """Offset of the marker block of a board of n cells."""
    return HDR + n


@register_jitable(inline="always")
def o_collapsed(n):
    """Offset of the collapsed block of a board of n cells."""
    return HDR + 2 * n


@register_jitable(inline="always")
def o_stamp(n):
    """Offset of the stamp block of a board of n cells."""
    return HDR + 3 * n


@register_jitable(inline="always")
def o_start(n):
    """Offset of the start block (pool index of each stack) of n cells."""
    return HDR + 4 * n


@register_jitable(inline="always")
def o_pool(n):
    """Offset of the ring pool of a board of n cells."""
    return HDR + 5 * n


def block(s, o):
    """The per-cell block of state s at offset function o (o_height ...
    o_start): a view of NCELL words, so it can be assigned to."""
    n = int(s[NCELL])
    a = o(n)
    return s[a : a + n]


def pool(s):
    """The ring pool of state s (a view, to the end of the state)."""
    return s[o_pool(int(s[NCELL])) :]


# ---- phases -------------------------------------------------------------
PH_RING_PLACEMENT = 0
PH_MOVEMENT = 1
PH_CAPTURE = 2
PH_CHAIN_CAPTURE = 3
PH_LINE = 4
PH_TERRITORY = 5
PH_FORCED_ELIM = 6
PH_GAME_OVER = 7
PHASE_NAMES = (
    "ring_placement",
    "movement",
    "capture",
    "chain_capture",
    "line_processing",
    "territory_processing",
    "forced_elimination",
    "game_over",
)

# ---- status / end reasons ------------------------------------------------
ST_ACTIVE = 0
ST_COMPLETED = 1
END_NONE = 0
END_RING_ELIMINATION = 1
END_TERRITORY = 2
END_SOLE_MATERIAL = 3
END_STALEMATE = 4
END_LPS = 5
END_MAX_MOVES = 6
END_REASON_NAMES = (
    None,
    "ring_elimination",
    "territory",
    "sole_material",
    "bare_board_stalemate",
    "lps_rounds",
    "max_moves",
)

# ---- move types -----------------------------------------------------------
MT_PLACE_RING = 0
MT_SKIP_PLACEMENT = 1
MT_NO_PLACEMENT = 2
MT_MOVE_STACK = 3
MT_NO_MOVEMENT = 4
MT_OVERTAKING_CAPTURE = 5
MT_CONTINUE_CAPTURE = 6
MT_SKIP_CAPTURE = 7
MT_PROCESS_LINE = 8
MT_CHOOSE_LINE_OPTION = 9
MT_NO_LINE = 10
MT_CHOOSE_TERRITORY = 11
MT_SKIP_TERRITORY = 12
MT_NO_TERRITORY = 13
MT_ELIMINATE = 14
MT_FORCED_ELIM = 15
MT_RECOVERY_SLIDE = 16
MT_SKIP_RECOVERY = 17
MT_SWAP_SIDES = 18
MOVE_TYPE_NAMES = (
    "place_ring",
    "skip_placement",
    "no_placement_action",
    "move_stack",
    "no_movement_action",
    "overtaking_capture",
    "continue_capture_segment",
    "skip_capture",
    "process_line",
    "choose_line_option",
    "no_line_action",
    "choose_territory_option",
    "skip_territory_processing",
    "no_territory_action",
    "eliminate_rings_from_stack",
    "forced_elimination",
    "recovery_slide",
    "skip_recovery",
    "swap_sides",
)

# elimination contexts (field a of MT_ELIMINATE)
CTX_LINE = 0
CTX_TERRITORY = 1
CTX_FORCED = 2
CTX_RECOVERY = 3
CTX_NAMES = ("line", "territory", "forced", "recovery")

# recovery modes (field a of MT_RECOVERY_SLIDE)
RM_LINE = 0
RM_FALLBACK = 1
RM_STACK_STRIKE = 2
RMODE_NAMES = ("line", "fallback", "stack_strike")

# ---- move record ----------------------------------------------------------
MF = 8
F_TYPE = 0
F_PLAYER = 1
F_FROM = 2
F_TO = 3
F_CAP = 4
F_A = 5
F_B = 6
F_C = 7

# ---- geometry table columns ------------------------------------------------
G_RAY = 0  # 8 columns: ray neighbour per movement direction
G_TER = 8  # 6 columns: territory neighbours
G_BORDER = 14  # 8 columns: neighbours used to grow a region's border markers
GEO_COLS = 22
