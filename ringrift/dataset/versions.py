"""The versions every ringrift file records. A light module (no numpy, no
pyarrow): the workflow imports it to plan parts, and a new version replays
every part (workflow/rules/selfplay.smk), so a dataset never mixes them."""

SCHEMA_VERSION = 4
# Version 2: parts carry page checksums, a content digest and their settings
# (ringrift/dataset/parts.py); the stats sidecar is gone.
# Version 3: the same values; every column but ``move`` (null on a game's
# last row) and every list element declared not null, and the int8 state
# columns as byte strings: reading a part ~2.1x faster, writing an aggregate
# ~1.5x, at the same size (square8, measured in session 12).
# Version 4: the six state columns (header, height, marker, collapsed, stamp,
# rings) are one compact ``state`` byte string, and ``history`` is bytes: an
# aggregate moves ~430-500 instead of ~1,000 decoded bytes a row (square8).
# Bumped whenever a rules change could alter games (recorded in every file).
ENGINE_VERSION = 2
# The rules' behaviour digest for ENGINE_VERSION (ringrift/engine/fingerprint.py):
# tests/test_engine_version.py fails when the engine's behaviour no longer
# matches, so a rules change cannot ship under a stale version. Bump both.
ENGINE_DIGEST = "3e52413a85617a1ca1de588ad56b943cba73e01703a2a68cce771fb6fbd85f8e"
