"""Everything that ties us to the reference implementation's formats.

The engine (``ringrift.engine``) knows only its own flat arrays; this package
translates between them and the reference's JSON, and replays its games:

* ``load`` -- a reference GameState / Move JSON into our state and move
  (``state_from_json``, ``move_from_json``; contract vectors, trace states)
* ``apply`` -- ``apply_unlisted``: apply a reference move that our legal list
  does not hold (the vectors' direct region and elimination steps)
* ``traces`` -- replay shared/conformance trace files step by step
  (``check_file``; the ``ringrift conformance`` command)
* ``state_json`` / ``move_json`` -- our state and move records as the
  reference's GameState and Move JSON (the seed's training-sample format embeds
  both; ``ringrift.export`` writes it)
* ``json_common`` -- the coordinates, stack order and field-name rules those
  two share (also used by the export's Numba fast path)

A move's canonical key (``Rules.key``) stays in ``ringrift.engine.keys``: it is
how a move names itself for ``Rules.play`` and ``ringrift play``; the trace
format happens to use the same names.
"""
