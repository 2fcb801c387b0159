"""Exports of our engine states, moves and samples in the reference's JSON formats.

* ``state_json.state_to_json`` -- a state as the reference's full GameState
* ``move_json.move_to_json`` -- a move record as the reference's Move
* ``jsonl.export_samples`` / ``jsonl.main_export`` -- Parquet samples as
  ``.jsonl.gz`` lines in the seed's training-sample format, whole or one
  ``--chunk K/N`` of them; ``jsonl.concat_pieces`` joins chunk pieces
* ``fast`` / ``kernels`` -- the export's Numba fast path (same bytes as the
  plain-Python path in ``jsonl``, which stays the reference and fallback)
"""
from .jsonl import export_samples, main_export
from .move_json import move_to_json
from .state_json import state_to_json

__all__ = ["export_samples", "main_export", "move_to_json", "state_to_json"]
