"""Match statistics: confidence interval of a score and an exact test."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson(score: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a rate measured over n games (draws count half)."""
    if n == 0:
        return 0.0, 1.0
    d = 1 + z * z / n
    c = (score + z * z / (2 * n)) / d
    h = z * math.sqrt(score * (1 - score) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def binom_two_sided(k: int, n: int, p: float) -> float:
    """Exact two-sided binomial test: P(outcomes at most as likely as k)."""
    if n == 0:
        return 1.0

    def logpmf(i):
        return (
            math.lgamma(n + 1)
            - math.lgamma(i + 1)
            - math.lgamma(n - i + 1)
            + i * math.log(p)
            + (n - i) * math.log1p(-p)
        )

    ref = logpmf(k)
    total = sum(math.exp(logpmf(i)) for i in range(n + 1) if logpmf(i) <= ref + 1e-9)
    return min(1.0, total)
