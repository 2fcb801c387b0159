"""Corrupt or inconsistent data never passes: every flipped bit that changes
the data is caught, duplicate games are refused, values are checked, and
`ringrift verify` names each problem in one line."""

import gzip
import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ringrift.dataset.aggregate import aggregate
from ringrift.dataset.parts import (
    DataError,
    DigestParquetWriter,
    atomic_output,
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
