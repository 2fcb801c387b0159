"""Corrupt or inconsistent data never passes: every flipped bit that changes
the data is caught, duplicate games are refused, values are checked, and
`ringrift verify` names each problem in one line."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ringrift.dataset.aggregate import aggregate
from ringrift.dataset.parts import (
    MAX_PLAYERS,
    VALUE_FAULTS,
    DataError,
    DigestParquetWriter,
    atomic_output,
    check_table_values,
    part_stats,
    read_part,
)
from ringrift.selfplay.worker import WorkerConfig, run_worker


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "ringrift", *args], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def part(tmp_path_factory):
    d = tmp_path_factory.mktemp("integrity")
    cfg = WorkerConfig(
        num_games=3,
        board_type="square8",
        num_players=2,
        seed=4,
        output=str(d / "part.parquet"),
        engine_mode="random",
        worker_id="w",
    )
    run_worker(cfg)
    return d / "part.parquet"


# A part written before the digest became SHA-256: its footer holds a bare
# BLAKE2b-128 hex digest (3 random square8 games, ringrift 9b9cf91).
LEGACY_PART = Path(__file__).parent / "data" / "legacy" / "part-blake2b.parquet"


def _rewrite(src, dst, table, stats):
    """A file with a valid digest over edited content (what a buggy writer
    would produce): only the value checks can catch it."""
    with atomic_output(str(dst)) as fh:
        w = DigestParquetWriter(fh, table.schema)
        w.write(table)
        w.close(stats)


def test_every_flipped_bit_is_caught_or_harmless(part, tmp_path):
    data = part.read_bytes()
    clean = pq.read_table(part)
    bad = tmp_path / "flip.parquet"
    footer_start = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    caught = harmless = 0
    for pos in range(0, len(data), 7):
        flipped = bytearray(data)
        flipped[pos] ^= 1 << (pos % 8)
        bad.write_bytes(bytes(flipped))
        try:
            table = read_part(str(bad))
        except DataError as exc:
            assert "flip.parquet" in str(exc) and "\n" not in str(exc)
            caught += 1
            continue
        # every data byte is under the digest; a footer flip that passes
        # (e.g. in the writer's name) must not have changed a single value
        assert pos >= footer_start, f"flip at data byte {pos} passed"
        assert table.equals(clean.replace_schema_metadata(table.schema.metadata)), pos
        harmless += 1
    assert caught >= footer_start // 7, (caught, harmless)


def test_edited_stats_fail_the_digest(part, tmp_path):
    table = pq.read_table(part)
    meta = pq.read_metadata(part).metadata
    stats = json.loads(meta[b"ringrift.stats"])
    stats["samples"] = 9999
    lying = tmp_path / "lying.parquet"
    # same data pages, stats edited in the footer: rewrite with the old digest
    pq.write_table(
        table.replace_schema_metadata(
            {
                **table.schema.metadata,
                b"ringrift.stats": json.dumps(stats).encode(),
                b"ringrift.digest": meta[b"ringrift.digest"],
            }
        ),
        lying,
    )
    with pytest.raises(DataError, match="lying.parquet: content digest mismatch"):
        read_part(str(lying))
    with pytest.raises(DataError, match="lying.parquet"):
        aggregate([str(part), str(lying)], str(tmp_path / "agg.parquet"), seed=1)
    assert not (tmp_path / "agg.parquet").exists()


def test_parts_with_the_earlier_blake2b_digest_are_still_checked(part, tmp_path):
    digest = pq.read_metadata(LEGACY_PART).metadata[b"ringrift.digest"]
    assert len(digest) == 32 and not digest.startswith(b"sha256:")
    assert pq.read_metadata(part).metadata[b"ringrift.digest"].startswith(b"sha256:")
    legacy = read_part(str(LEGACY_PART))
    assert legacy.num_rows == 49
    # a dataset may mix both: the aggregate checks each part by its own digest
    out = tmp_path / "agg.parquet"
    aggregate([str(LEGACY_PART), str(part)], str(out), seed=1)
    assert read_part(str(out)).num_rows == legacy.num_rows + read_part(str(part)).num_rows
    assert pq.read_metadata(out).metadata[b"ringrift.digest"].startswith(b"sha256:")
    # and the old digest still catches a change
    data = bytearray(LEGACY_PART.read_bytes())
    data[len(data) // 3] ^= 0x10
    bad = tmp_path / "old.parquet"
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError, match="old.parquet: content digest mismatch"):
        read_part(str(bad))
    result = cli("verify", str(bad))
    assert result.returncode != 0 and "old.parquet: content digest mismatch" in result.stdout


@pytest.mark.parametrize(
    "column,value,message",
    [
        ("outcome", 0.25, "outcome that disagrees"),
        ("winner", 0, "outcome that disagrees"),
        ("player_to_move", 3, "player to move outside"),
    ],
)
def test_inconsistent_values_are_refused(part, tmp_path, column, value, message):
    table = read_part(str(part))
    stats = part_stats(table)
    col = table.column(column)
    edited = pa.array([value] * table.num_rows, type=col.type)
    i = table.schema.get_field_index(column)
    table = table.set_column(i, table.schema.field(i), edited)  # the field: not null
    odd = tmp_path / "odd.parquet"
    _rewrite(part, odd, table, stats)
    with pytest.raises(DataError, match=f"odd.parquet: row 0 has .*{message}"):
        read_part(str(odd))


def _faults_by_numpy(table):
    """check_table_values' verdict by whole-column numpy (the obviously
    correct route): the first fault's message, or None."""
    names = iter(VALUE_FAULTS)

    def fixed(name):
        col = table.column(name).combine_chunks()
        return col.flatten().to_numpy(zero_copy_only=False).reshape(-1, MAX_PLAYERS)

    def np_(name, dtype):
        return table.column(name).to_numpy().astype(dtype)

    n, winner, mover = (np_(c, np.int64) for c in ("num_players", "winner", "player_to_move"))
    outcome = np_("outcome", np.float64)
    ranks, values = fixed("ranks").astype(np.int64), fixed("values").astype(np.float64)
    seat = np.arange(MAX_PLAYERS)[None, :]
    inside = seat < n[:, None]
    decided = winner > 0
    expect = np.where(inside, 1.0 - 2.0 * (ranks - 1) / np.maximum(n[:, None] - 1, 1), 0.0)
    pidx = table.column("policy_index").combine_chunks()
    pprob = table.column("policy_prob").combine_chunks()
    lens = pidx.value_lengths().to_numpy(zero_copy_only=False)
    plens = pprob.value_lengths().to_numpy(zero_copy_only=False)
    probs = pprob.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
    row_of = np.repeat(np.arange(len(n)), plens)
    sums = np.bincount(row_of, weights=probs, minlength=len(n))
    bad_n = (n < 2) | (n > MAX_PLAYERS)
    checks = [
        bad_n,
        (winner < 0) | (winner > n),
        (mover < 1) | (mover > n),
        outcome != np.where(winner == 0, 0.5, (winner == mover).astype(np.float64)),
        np.any(inside & ((ranks < 1) | (ranks > n[:, None])), axis=1)
        | np.any(~inside & (ranks != 0), axis=1),
        decided & (ranks[np.arange(len(n)), np.clip(winner - 1, 0, 3)] != 1),
        np.any(~(np.abs(values - np.where(decided[:, None], expect, 0.0)) <= 1e-6), axis=1),
        lens != plens,
        np.bincount(row_of, weights=probs < 0, minlength=len(n)) > 0,
        (lens > 0) & ~(np.abs(sums - 1.0) <= 1e-4),
        (table.column("ply_to_end").to_numpy() != 0) & (lens == 0),
    ]
    for i, mask in enumerate(checks):
        what = next(names)
        if 0 < i < 7:
            mask = mask & ~bad_n  # such a row is reported for its player count only
        if 7 < i < 10:
            mask = mask & (lens == plens)
        if mask.any():
            return f"row {int(np.flatnonzero(mask)[0])} {what} ({int(mask.sum())} rows)"
    return None


def test_value_checks_agree_with_numpy(part):
    """Random edits of the checked columns (alone or several at once):
    check_table_values names the fault, row and count the numpy route does,
    or passes when it does. NaN outcomes, values and probabilities fail."""
    table = read_part(str(part)).slice(0, 80)
    plain = {c: table.column(c).to_pylist() for c in EDITABLE}
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(300):
        cols = {c: list(v) for c, v in plain.items()}
        for _ in range(rng.integers(1, 4)):
            c = EDITABLE[rng.integers(len(EDITABLE))]
            r = int(rng.integers(table.num_rows))
            cols[c][r] = _edit(c, cols[c][r], rng)
        edited = table
        for c, v in cols.items():
            i = table.schema.get_field_index(c)
            edited = edited.set_column(
                i, table.schema.field(i), pa.array(v, table.schema.field(i).type)
            )
        want = _faults_by_numpy(edited)
        seen.add(want and want.split(" ", 2)[2])
        if want is None:
            check_table_values("t", edited)
        else:
            with pytest.raises(DataError) as err:
                check_table_values("t", edited)
            assert str(err.value) == f"t: {want}"
    assert len(seen) >= 10  # most faults (and clean tables) were drawn


EDITABLE = (
    "num_players",
    "winner",
    "player_to_move",
    "outcome",
    "ranks",
    "values",
    "policy_prob",
    "ply_to_end",
)


def _edit(column, value, rng):
    nan = float("nan")
    pick = {
        "num_players": [0, 1, 2, 3, 4, 5],
        "winner": [-1, 0, 1, 2, 3],
        "player_to_move": [0, 1, 2, 3],
        "outcome": [0.0, 0.5, 1.0, 0.25, nan],
        "ranks": [[1, 2, 0, 0], [2, 1, 0, 0], [1, 1, 0, 0], [0, 2, 0, 0], [1, 2, 3, 0]],
        "values": [[1.0, -1.0, 0.0, 0.0], [-1.0, 1.0, 0.0, 0.0], [0.0] * 4, [nan, -1.0, 0, 0]],
        "ply_to_end": [0, 1, 7],
    }
    if column == "policy_prob":
        how = rng.integers(5)
        if how == 4:
            return value[:-1]  # a probability short of the indices
        return [p * (1.0, 2.0, -1.0, nan)[how] for p in value]
    choices = pick[column]
    return choices[rng.integers(len(choices))]


def test_policy_must_be_a_distribution(part, tmp_path):
    table = read_part(str(part))
    probs = table.column("policy_prob").combine_chunks()
    doubled = pa.ListArray.from_arrays(probs.offsets, pc.multiply(probs.flatten(), 2.0))
    i = table.schema.get_field_index("policy_prob")
    table = table.set_column(i, table.schema.field(i), doubled.cast(table.schema.field(i).type))
    odd = tmp_path / "policy.parquet"
    _rewrite(part, odd, table, part_stats(read_part(str(part))))
    with pytest.raises(DataError, match="does not sum to 1"):
        read_part(str(odd))


def test_same_games_under_another_worker_id_are_refused(part, tmp_path):
    again = WorkerConfig(
        num_games=3,
        board_type="square8",
        num_players=2,
        seed=4,
        output=str(tmp_path / "again.parquet"),
        engine_mode="random",
        worker_id="someone_else",
    )
    run_worker(again)
    out = tmp_path / "agg.parquet"
    with pytest.raises(
        DataError, match="again.parquet: game .* duplicate of a game in .*part.parquet"
    ):
        aggregate([str(part), again.output], str(out), seed=1)
    assert not out.exists()
    res = aggregate([str(part), again.output], str(out), seed=1, drop_duplicates=True)
    assert res["dropped_duplicate_games"] == 3 and res["games"] == 3
    assert pq.read_metadata(out).num_rows == pq.read_metadata(part).num_rows
    p = cli("verify", str(part), again.output)
    assert p.returncode == 1
    assert "duplicates a game of" in p.stdout and p.stdout.count("\n") == 1


def test_verify_passes_a_clean_dataset_and_names_each_problem(part, tmp_path):
    agg = tmp_path / "agg.parquet"
    aggregate([str(part)], str(agg), seed=3)
    p = cli("verify", str(part), str(agg))
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("ok: 2 files (1 parts, 1 aggregates)")
    # provenance: the aggregate lists the part with its digest and game range
    prov = json.loads(pq.read_metadata(agg).metadata[b"ringrift.stats"])["provenance"]
    assert prov == [
        {
            **prov[0],
            "part": "part.parquet",
            "rows": pq.read_metadata(part).num_rows,
            "games": 3,
            "game_offset": 0,
            "worker_id": "w",
        }
    ]
    truncated = tmp_path / "trunc.parquet"
    truncated.write_bytes(part.read_bytes()[:-100])
    flipped = bytearray(part.read_bytes())
    flipped[200] ^= 0xFF
    (tmp_path / "flip.parquet").write_bytes(bytes(flipped))
    p = cli("verify", str(agg), str(truncated), str(tmp_path / "flip.parquet"))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 2
    assert "trunc.parquet" in lines[0] and "flip.parquet" in lines[1]


def test_no_stats_sidecar_and_leftovers_cleaned(part, tmp_path):
    assert not list(part.parent.glob("*.json"))
    out = tmp_path / "o.parquet"
    stale = tmp_path / ".o.parquet.tmp-abc.part"  # what a SIGKILLed writer leaves
    stale.write_bytes(b"half")
    aggregate([str(part)], str(out), seed=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.parquet"]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_selfplay_writes_the_seeds_jsonl(tmp_path, suffix):
    """The seed's quick start: `--output file:///tmp/training_data.jsonl` writes the
    lines `ringrift export` writes for the same part."""
    out = tmp_path / f"training_data{suffix}"
    p = cli(
        "selfplay",
        "--num-games",
        "2",
        "--board-type",
        "square8",
        "--seed",
        "42",
        "--engine-mode",
        "random",
        "--worker-id",
        "w",
        "--output",
        f"file://{out}",
    )
    assert p.returncode == 0, p.stderr
    part = tmp_path / "same.parquet"
    assert (
        cli(
            "selfplay",
            "--num-games",
            "2",
            "--board-type",
            "square8",
            "--seed",
            "42",
            "--engine-mode",
            "random",
            "--worker-id",
            "w",
            "--output",
            str(part),
        ).returncode
        == 0
    )
    ref = tmp_path / "ref.jsonl"
    assert cli("export", "--output", str(ref), str(part)).returncode == 0
    got = gzip.decompress(out.read_bytes()) if suffix.endswith(".gz") else out.read_bytes()
    assert got == ref.read_bytes() and got.count(b"\n") == pq.read_metadata(part).num_rows
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(
        [out.name, "same.parquet", "ref.jsonl"]
    )


def test_verify_sees_a_part_replaced_after_aggregation(part, tmp_path):
    import shutil

    d = tmp_path / "ds"
    d.mkdir()
    shutil.copy(part, d / "part.parquet")
    aggregate([str(d / "part.parquet")], str(d / "agg.parquet"), seed=3)
    other = WorkerConfig(
        num_games=3,
        board_type="square8",
        num_players=2,
        seed=5,
        output=str(d / "part.parquet"),
        engine_mode="random",
        worker_id="w",
    )
    run_worker(other)  # a valid part, but not the one the aggregate was built from
    p = cli("verify", str(d))
    assert p.returncode == 1
    assert "part part.parquet has changed since it was aggregated" in p.stdout


def test_a_part_with_other_columns_is_named(part, tmp_path):
    table = read_part(str(part))
    odd = tmp_path / "dropcol.parquet"
    _rewrite(part, odd, table.drop_columns(["phase"]), part_stats(table))
    with pytest.raises(DataError, match=r"dropcol.parquet: columns differ .* \(first: "):
        aggregate([str(part), str(odd)], str(tmp_path / "agg.parquet"), seed=1)
    with pytest.raises(DataError, match="dropcol.parquet"):
        aggregate([str(odd), str(part)], str(tmp_path / "agg.parquet"), seed=1)


def test_inspect_shows_provenance_and_duplicate_games(part, tmp_path):
    agg = tmp_path / "agg.parquet"
    aggregate([str(part)], str(agg), seed=3)
    p = cli("inspect", str(agg))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert "duplicate games (same seed and moves): 0" in p.stdout
    i = lines.index("provenance:")
    assert lines[i + 1].endswith("agg.parquet: aggregate (seed 3) of 1 part(s)")
    assert lines[i + 2].strip().startswith("part.parquet: games 0-2, ")
    again = WorkerConfig(
        num_games=3,
        board_type="square8",
        num_players=2,
        seed=4,
        output=str(tmp_path / "again.parquet"),
        engine_mode="random",
        worker_id="other",
    )
    run_worker(again)
    p = cli("inspect", str(part), again.output)
    assert "duplicate games (same seed and moves): 3" in p.stdout
