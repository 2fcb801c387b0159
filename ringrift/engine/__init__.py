"""Numba RingRift rules engine (state layout documented in layout.py)."""

from .api import BOARD_TYPES, IllegalMoveError, Rules, new_state, phase_name

__all__ = ["BOARD_TYPES", "IllegalMoveError", "Rules", "new_state", "phase_name"]
