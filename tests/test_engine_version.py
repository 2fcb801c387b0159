"""ENGINE_VERSION cannot go stale: the rules' behaviour digest is pinned.

The digest (ringrift/engine/fingerprint.py) hashes every legal-move list and
chosen move of a fixed set of seeded random games on every board and player
count, and each game's result. A rules change that alters any of it fails
test_engine_digest_is_pinned until ENGINE_VERSION is bumped and the new
ENGINE_DIGEST pinned, so datasets of different rules never share a version.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ringrift.dataset import schema
from ringrift.engine import fingerprint as F
from ringrift.engine import layout as L


def check_pinned(
    digest: str, pinned: str = schema.ENGINE_DIGEST, version: int = schema.ENGINE_VERSION
) -> None:
    if digest != pinned:
        pytest.fail(
            f"The rules' behaviour changed: the engine's behaviour digest is now\n"
            f"    {digest}\n"
            f"but ringrift/dataset/schema.py pins ENGINE_DIGEST = {pinned!r} for "
            f"ENGINE_VERSION = {version}.\nIf the change is intended, bump ENGINE_VERSION "
            f'to {version + 1} and set\n    ENGINE_DIGEST = "{digest}"\nin the same '
            f"commit, so data of the old and new rules is never mixed under one version "
            f"(python -m ringrift.engine.fingerprint prints the digest and what the games "
            f"cover). If it is not intended, the engine has a regression.",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def digest():
    return F.behaviour_digest()


def test_engine_digest_is_pinned(digest, report_line):
    report_line(
        f"engine digest: {digest.games} games, {digest.steps:,} steps, "
        f"{digest.legal_moves:,} legal-move records in {digest.seconds:.2f} s"
    )
    check_pinned(digest.hexdigest)


def test_the_games_exercise_every_rule(digest):
    """The pinned games reach every end reason but the move cap, and choose
    every kind of move: a rule they never reach could change unnoticed."""
    total = sum(digest.end_reasons.values(), start=Counter())
    assert sum(total.values()) == digest.games
    for reason in L.END_REASON_NAMES[1:]:
        if reason != "max_moves":
            assert total[reason] > 0, reason
    assert total["max_moves"] == 0  # a capped game would hash no real ending
    for label, reasons in digest.end_reasons.items():
        assert sum(reasons.values()) == F.GAMES[label.split()[0]], label
    needed = (
        set(L.MOVE_TYPE_NAMES)
        | {f"eliminate({c})" for c in L.CTX_NAMES if c != "forced"}
        | {f"recovery({m})" for m in L.RMODE_NAMES}
    )
    # eliminate(forced) is not a move of this engine: forced elimination is
    # its own move type (forced_elimination)
    assert not digest.chosen["eliminate(forced)"]
    missing = sorted(m for m in needed if digest.chosen[m] == 0)
    assert not missing, f"never chosen: {missing}"


def test_a_stale_pin_fails_and_says_what_to_do():
    with pytest.raises(pytest.fail.Exception) as exc:
        check_pinned("0" * 64, pinned=schema.ENGINE_DIGEST, version=2)
    msg = str(exc.value)
    assert "behaviour changed" in msg and "bump ENGINE_VERSION to 3" in msg
    assert 'ENGINE_DIGEST = "' + "0" * 64 + '"' in msg
    check_pinned(schema.ENGINE_DIGEST)  # the pin itself passes


SMALL = 3  # games per config: enough to show a difference, fast
SMALL_BOARDS = [c for c in F.CONFIGS if c[0] in ("square8", "hex8")]


def test_digest_is_deterministic():
    assert F.behaviour_digest(SMALL).hexdigest == F.behaviour_digest(SMALL).hexdigest


def test_digest_sees_another_seed_set():
    a = F.behaviour_digest(SMALL, seed=0, configs=SMALL_BOARDS)
    b = F.behaviour_digest(SMALL, seed=1, configs=SMALL_BOARDS)
    assert a.hexdigest != b.hexdigest
    with pytest.raises(pytest.fail.Exception):
        check_pinned(b.hexdigest, pinned=a.hexdigest)


def test_digest_sees_a_rules_change():
    """Last player standing after two rounds instead of three (the games set
    reaches LPS wins): the digest sees it."""
    configs = [("hex8", 2, False)]
    a = F.behaviour_digest(20, configs=configs)
    b = F.behaviour_digest(20, configs=configs, lps_rounds=2)
    assert a.end_reasons["hex8 2p"]["lps_rounds"] > 0
    assert a.hexdigest != b.hexdigest


def test_digest_sees_one_game_fewer():
    assert (
        F.behaviour_digest(SMALL, configs=SMALL_BOARDS).hexdigest
        != F.behaviour_digest({"square8": SMALL, "hex8": SMALL - 1}, configs=SMALL_BOARDS).hexdigest
    )


def test_splitmix64_is_the_reference_generator():
    """The games' random choices come from SplitMix64 (not Numba's np.random,
    which may change between versions): its first outputs from state 0."""
    x, z = F._splitmix64(np.uint64(0))
    assert int(z) == 0xE220A8397B1DCDAF
    x, z = F._splitmix64(x)
    assert int(z) == 0x6E789E6AA1B965F4
