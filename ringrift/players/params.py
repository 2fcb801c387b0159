"""Player kinds and the meaning of each slot of a player's parameter arrays.

A player is ``(kind, iparams, fparams, weights)``: an int and three flat
arrays, so self-play can hand them to jitted code per seat. Slots a kind does
not use are ignored (the worker pads every seat to common lengths with zeros).

``weights`` is always the heuristic weight vector, in ``WEIGHT_NAMES`` order
(profiles/*.json name the entries). Every kind reads ``fparams[F_RANDOMNESS]``
(probability of a uniformly random move) and ``fparams[F_NOISE]`` (relative
weight noise, redrawn at every decision).
"""

from __future__ import annotations

# ---- kinds ------------------------------------------------------------------
K_RANDOM = 0
K_HEURISTIC = 1
K_MINIMAX = 2
K_MCTS = 3
K_NEURAL = 4  # an ONNX network (ringrift/neural): played by the batched driver
KIND_NAMES = ("random", "heuristic", "minimax", "mcts", "neural")

# ---- fparams (all kinds) -----------------------------------------------------
F_RANDOMNESS = 0  # probability of a uniformly random move
F_NOISE = 1  # weight noise: w_i *= 1 + noise * N(0, 1), per decision
# mcts
F_CPUCT = 2  # exploration constant (PUCT with priors, UCT without)
F_PRIOR_TEMP = 3  # softmax temperature of the priors, in evaluation points
F_VALUE_SCALE = 4  # leaf value = sigmoid(score difference / scale)
F_TEMPERATURE = 5  # > 0: sample the played move from visits^(1/T) ...
F_WIDEN = 6  # progressive widening: a node with n visits searches its
# best max(1, widen * n) children (0 = all; see mcts.py)
# neural (also F_CPUCT, F_TEMPERATURE with I_TEMP_STEPS, I_VISITS, I_MAX_NODES)
F_DIR_ALPHA = 7  # Dirichlet noise on the root priors: concentration ...
F_DIR_EPS = 8  # ... and weight (0 = no noise)
NF = 9

# ---- iparams ----------------------------------------------------------------
# minimax
I_DEPTH = 0  # decision steps searched (forced single-move steps are free)
I_NODES = 1  # node budget: apply_move calls below the root scan
I_BEAM = 2  # children searched deeper per interior node (0 = all)
# mcts
I_VISITS = 0  # root visits per decision (simulations, with I_REUSE = 0)
I_ROLLOUT_LEN = 1  # rollout steps after the leaf (0 = evaluate the leaf)
I_ROLLOUT_KIND = 2  # 0 random rollout, 1 greedy heuristic rollout
I_PRIORS = 3  # 1 = PUCT with heuristic priors, 0 = UCT
I_MAX_NODES = 4  # tree capacity (nodes); memory is bounded by it
I_TEMP_STEPS = 5  # ... while s[MOVE_COUNT] < this (0: never sample)
I_REUSE = 6  # 1 = a search starts from the subtree the game's last search
# grew for the moves played since, when that search was its seat's (the
# root then has I_VISITS visits in all; mcts.py)
# neural: I_VISITS = 0 plays from the policy alone (no search)
NI = 7

ROLLOUT_RANDOM = 0
ROLLOUT_HEURISTIC = 1

# ---- heuristic weights (one evaluation term each, per player) ----------------
WEIGHT_NAMES = (
    "stacks",  # stacks controlled
    "cap_height",  # sum of cap heights of controlled stacks
    "controlled_rings",  # rings in controlled stacks (any colour)
    "rings_on_board",  # own-colour rings on the board
    "buried_rings",  # own rings under an opponent's cap
    "rings_in_hand",  # rings in hand
    "eliminated",  # rings credited as eliminated (victory count)
    "elim_proximity",  # (eliminated / victory threshold) ** 3
    "territory",  # territory spaces
    "terr_proximity",  # (territory / territory threshold) ** 3
    "markers",  # markers on the board
    "mobility",  # open neighbouring cells of controlled stacks
    "line_threats",  # marker runs one short of a line
    "lines",  # complete marker lines (pending processing)
    "region_threats",  # cells + rings of regions the player to move can claim
    "attacks",  # opponent stacks one of ours can overtake
    "vulnerable",  # our stacks an opponent can overtake
    "stuck_stacks",  # controlled stacks with no open neighbour
    "no_stacks",  # 1 when the player controls nothing but has rings left
)
NW = len(WEIGHT_NAMES)
(
    W_STACKS,
    W_CAP,
    W_CTRL,
    W_BOARD,
    W_BURIED,
    W_HAND,
    W_ELIM,
    W_ELIM_PROX,
    W_TERR,
    W_TERR_PROX,
    W_MARKERS,
    W_MOBILITY,
    W_LINE_NEAR,
    W_LINES,
    W_REGION,
    W_ATTACK,
    W_VULN,
    W_STUCK,
    W_NO_STACKS,
) = range(NW)

WIN_SCORE = 1.0e6  # terminal win (loss = -WIN_SCORE), from a player's view
