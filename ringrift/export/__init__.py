"""Samples in the seed's training format (the reference's state and move JSON,
built by ``ringrift.reference.state_json`` / ``move_json``).

* ``jsonl.export_samples`` / ``jsonl.main_export`` -- Parquet samples as
  ``.jsonl.gz`` lines in the seed's training-sample format, whole or one
  ``--chunk K/N`` of them; ``jsonl.concat_pieces`` joins chunk pieces
* ``fast`` / ``kernels`` -- the export's Numba fast path (same bytes as the
  plain-Python path in ``jsonl``, which stays the reference and fallback)
"""

from .jsonl import export_samples, main_export

__all__ = ["export_samples", "main_export"]
