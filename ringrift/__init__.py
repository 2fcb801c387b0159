"""RingRift self-play training data: Numba rules engine, players, pipeline."""

__version__ = "0.1.0"
