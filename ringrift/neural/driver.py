"""Play many games at once with neural seats: the Python side of search.py.

    play = NeuralPlay(rules, model, slots=64, batch=64, max_moves=10_000)
    for key, record in play.run(jobs):      # in the order games finish
        final, choices, decision, poff, pidx, pprob = record   # as play_game

Each round, one ``advance`` call (Numba) moves every game to its next
network request; the requests are run through the model ``batch`` rows at a
time and the next round reads the results. A finished game's slot takes the
next job at once, so the batch stays full until the jobs run out.
"""

from __future__ import annotations

import time

import numpy as np

from ..engine.layout import MF, PSLOTS
from ..engine.rules import MAX_MOVES_BUFFER
from ..players.params import I_MAX_NODES, I_VISITS, K_NEURAL, NF, NI, NW
from ..tensors.encode import NUM_GLOBALS, tables
from ..tensors.policy import constants
from .search import (
    DONE,
    EMPTY,
    FULL,
    IDLE,
    READY,
    Batch,
    Enc,
    Games,
    Trees,
    advance,
)

MIN_TREE = MAX_MOVES_BUFFER + 1  # any root's moves fit


def tree_nodes(visits: int) -> int:
    """Default tree capacity for a search of ``visits`` simulations."""
    return max(MIN_TREE, 2048 + 160 * int(visits))


def _new_games(G: int, S: int, hl: int, C: int, H: int, steps: int = 256) -> Games:
    """Game slots (states S words, history of hl frames of C x H x H) with
    record buffers for ``steps`` engine steps (grown on demand)."""
    return Games(
        np.zeros((G, S), np.int32),
        np.zeros(G, np.int64),
        np.full(G, EMPTY, np.int32),
        np.zeros(G, np.int32),
        np.zeros((G, PSLOTS), np.int32),
        np.zeros((G, PSLOTS, NI), np.int64),
        np.zeros((G, PSLOTS, NF), np.float64),
        np.zeros((G, PSLOTS, NW), np.float64),
        np.zeros((G, steps), np.int32),
        np.zeros((G, steps), np.bool_),
        np.zeros(G, np.int64),
        np.zeros((G, steps + 1), np.int64),
        np.zeros(G, np.int64),
        np.zeros((G, steps * 8), np.int32),
        np.zeros((G, steps * 8), np.float32),
        np.zeros(G, np.int64),
        np.zeros((G, hl, C, H, H), np.float32),
        np.zeros(G, np.int64),
        np.zeros(G, np.int64),
    )


def _new_trees(G: int, S: int, hl: int, cap: int, depth: int) -> Trees:
    """One search tree of ``cap`` nodes per slot, paths up to ``depth`` nodes."""
    return Trees(
        np.full((G, cap), -1, np.int32),
        np.zeros((G, cap), np.int32),
        np.zeros((G, cap, MF), np.int32),
        np.zeros((G, cap), np.int32),
        np.zeros((G, cap), np.float64),
        np.zeros((G, cap, PSLOTS), np.float64),
        np.zeros((G, cap), np.float64),
        np.zeros(G, np.int64),
        np.zeros(G, np.int64),
        np.zeros((G, depth), np.int32),
        np.zeros(G, np.int64),
        np.zeros(G, np.int64),
        np.zeros((G, S), np.int32),
        np.zeros((G, max(hl, 1), S), np.int32),
    )


def _new_batch(G: int, model, H: int) -> Batch:
    """Request rows for up to G positions (one per slot)."""
    return Batch(
        np.zeros((G, model.channels, H, H), np.float32),
        np.zeros((G, NUM_GLOBALS), np.float32),
        np.zeros(G, np.int32),
        np.full(G, -1, np.int32),
        np.zeros((G, model.policy_size), np.float32),
        np.zeros((G, model.value_width), np.float32),
    )


class NeuralPlay:
    def __init__(
        self,
        rules,
        model,
        slots: int,
        batch: int,
        max_moves: int,
        visits: int = 0,
        max_nodes: int = 0,
    ):
        if model.board_type != rules.board_type:
            raise ValueError(
                f"model {model.name} is for board {model.board_type}, not {rules.board_type}"
            )
        self.rules = rules
        self.model = model
        self.G = G = int(slots)
        self.B = int(batch)
        self.max_moves = int(max_moves)
        s0 = rules.new_game()
        S = s0.size
        hl = model.history
        C = model.channels // (hl + 1)
        H = model.size
        tab = tables(rules.board_type)
        self.enc = Enc(
            np.int64(model.kind),
            tab.row,
            tab.col,
            tab.nb,
            constants(rules.board_type),
            tab.gx,
            tab.gy,
        )
        self.games = _new_games(G, S, hl, C, H)
        cap = max(tree_nodes(visits), int(max_nodes)) if visits else 1
        self.trees = _new_trees(G, S, hl, cap, depth=int(visits) + 2)
        self.visits = int(visits)
        self.batch = _new_batch(G, model, H)
        self.seconds_net = 0.0  # CPU seconds in the network call
        self.seconds_engine = 0.0  # CPU seconds in advance (engine, search, encoders)
        self.positions = 0  # positions evaluated
        self.calls = 0  # network calls

    def _start(self, g, job):
        key, seed, kinds, ip, fp, w = job
        if np.any((kinds == K_NEURAL) & (ip[:, I_VISITS] > self.visits)) or np.any(
            (kinds == K_NEURAL) & (ip[:, I_MAX_NODES] > self.trees.first.shape[1])
        ):
            raise ValueError("a neural seat asks for more visits or tree nodes than allocated")
        gm = self.games
        gm.states[g] = self.rules.new_game()
        gm.seed[g] = seed
        gm.status[g] = READY
        gm.phase[g] = IDLE
        for a, v in ((gm.kinds, kinds), (gm.ip, ip), (gm.fp, fp), (gm.w, w)):
            a[g] = 0
            a[g][tuple(slice(0, n) for n in np.shape(v))] = v
        gm.nsteps[g] = gm.ndec[g] = gm.npol[g] = 0
        gm.poff[g, 0] = 0
        gm.nring[g] = gm.head[g] = 0
        self.batch.row[g] = -1

    def _grow(self):
        gm = self.games

        def wider(a, n):
            pad = np.zeros((a.shape[0], n) + a.shape[2:], a.dtype)
            return np.concatenate((a, pad), axis=1)

        steps = gm.choices.shape[1]
        self.games = gm._replace(
            choices=wider(gm.choices, steps),
            decision=wider(gm.decision, steps),
            poff=wider(gm.poff, steps),
            pidx=wider(gm.pidx, max(gm.pidx.shape[1], MAX_MOVES_BUFFER)),
            pprob=wider(gm.pprob, max(gm.pidx.shape[1], MAX_MOVES_BUFFER)),
        )

    def _record(self, g):
        gm = self.games
        n, d, m = gm.nsteps[g], gm.ndec[g], gm.npol[g]
        return (
            gm.states[g].copy(),
            gm.choices[g, :n].copy(),
            gm.decision[g, :n].copy(),
            gm.poff[g, : d + 1].copy(),
            gm.pidx[g, :m].copy(),
            gm.pprob[g, :m].copy(),
        )

    def run(self, jobs):
        """Yield (key, game record) per job, in the order games finish."""
        jobs = iter(jobs)
        keys = [None] * self.G
        for g in range(self.G):
            job = next(jobs, None)
            if job is None:
                break
            self._start(g, job)
            keys[g] = job[0]
        while True:
            t0 = time.process_time()
            nreq = advance(
                self.rules.geo, self.games, self.trees, self.enc, self.batch, self.max_moves
            )
            self.seconds_engine += time.process_time() - t0
            st = self.games.status
            if np.any(st == FULL):
                self._grow()
                self.games.status[self.games.status == FULL] = READY
            for g in np.flatnonzero(self.games.status == DONE):
                yield keys[g], self._record(g)
                job = next(jobs, None)
                if job is None:
                    self.games.status[g] = EMPTY
                    keys[g] = None
                else:
                    self._start(g, job)
                    keys[g] = job[0]
            if nreq:
                self._evaluate(nreq)
            elif not np.any(self.games.status == READY):
                return

    def _evaluate(self, nreq):
        t0 = time.process_time()
        b = self.batch
        for a in range(0, nreq, self.B):
            e = min(nreq, a + self.B)
            pol, val = self.model.run(b.feats[a:e], b.glob[a:e])
            b.pol[a:e] = pol
            b.val[a:e] = val
            self.calls += 1
        if not (np.isfinite(b.pol[:nreq]).all() and np.isfinite(b.val[:nreq]).all()):
            raise ValueError(f"model {self.model.name} returned non-finite policy or value")
        self.positions += nreq
        self.seconds_net += time.process_time() - t0
