"""The neural player's settings: what a dataset (or the CLI) chooses, as the
per-seat parameter arrays the jitted players read."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..players import params as P


@dataclass(frozen=True)
class NeuralOptions:
    visits: int = 64  # PUCT simulations per decision; 0 = play from the policy alone
    cpuct: float = 1.5
    temperature: float = 1.0  # sample moves from visits^(1/T) (policy^(1/T)) early ...
    temp_steps: int = 8  # ... while the game has made fewer engine steps than this
    dirichlet_alpha: float = 0.3  # root noise (AlphaZero): concentration
    dirichlet_eps: float = 0.25  # and weight; 0 = none
    max_nodes: int = 0  # tree capacity per game; 0 = the default for `visits`
    batch: int = 64  # games played at once = rows per network call (speed only)
    threads: int = 1  # onnxruntime intra-op threads
    provider: str = "cpu"  # onnxruntime execution provider: cpu, or cuda where installed

    def check(self) -> None:
        bad = []
        if self.visits < 0:
            bad.append(f"visits {self.visits} (>= 0)")
        if not self.cpuct >= 0:
            bad.append(f"cpuct {self.cpuct} (>= 0)")
        if not self.temperature >= 0:
            bad.append(f"temperature {self.temperature} (>= 0)")
        if self.temp_steps < 0:
            bad.append(f"temp_steps {self.temp_steps} (>= 0)")
        if not self.dirichlet_alpha > 0:
            bad.append(f"dirichlet_alpha {self.dirichlet_alpha} (> 0)")
        if not 0 <= self.dirichlet_eps <= 1:
            bad.append(f"dirichlet_eps {self.dirichlet_eps} (0..1)")
        if self.max_nodes < 0:
            bad.append(f"max_nodes {self.max_nodes} (>= 0)")
        if self.batch < 1:
            bad.append(f"batch {self.batch} (>= 1)")
        if self.threads < 1:
            bad.append(f"threads {self.threads} (>= 1)")
        if self.provider not in ("cpu", "cuda"):
            bad.append(f"provider {self.provider!r} (cpu or cuda)")
        if bad:
            raise ValueError("bad neural settings: " + ", ".join(bad))

    def settings(self) -> dict:
        """What decides the games: all but batch (results do not depend on it)."""
        d = asdict(self)
        d.pop("batch")
        return d

    def params(self):
        """(kind, iparams, fparams) of a neural seat."""
        ip = np.zeros(P.NI, dtype=np.int64)
        fp = np.zeros(P.NF, dtype=np.float64)
        ip[P.I_VISITS] = self.visits
        ip[P.I_TEMP_STEPS] = self.temp_steps
        ip[P.I_MAX_NODES] = self.max_nodes
        fp[P.F_CPUCT] = self.cpuct
        fp[P.F_TEMPERATURE] = self.temperature
        fp[P.F_DIR_ALPHA] = self.dirichlet_alpha
        fp[P.F_DIR_EPS] = self.dirichlet_eps
        return P.K_NEURAL, ip, fp
