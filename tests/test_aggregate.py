"""Shuffled aggregate: counts checked, duplicates refused, deterministic."""
import shutil

import pyarrow.parquet as pq
import pytest

from ringrift.dataset.aggregate import aggregate
from ringrift.dataset.parts import DataError
from ringrift.selfplay.worker import WorkerConfig, run_worker


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    d = tmp_path_factory.mktemp("parts")
    out = []
    for i in range(3):
        cfg = WorkerConfig(num_games=3, board_type="hex8", num_players=2,
                           output=str(d / f"part_{i}.parquet"), seed=5, engine_mode="random",
                           worker_id=f"w{i}", game_offset=3 * i)
        run_worker(cfg)
        out.append(cfg.output)
    return out


def test_aggregate_counts_and_shuffle(parts, tmp_path):
    res = aggregate(parts, str(tmp_path / "all.parquet"), seed=1, bucket_rows=40)
    t = pq.read_table(tmp_path / "all.parquet")
    total = sum(pq.read_metadata(p).num_rows for p in parts)
    assert res["samples"] == t.num_rows == total and res["games"] == 9 and res["buckets"] > 1
    ids = t.column("game_id").to_pylist()
    assert len(set(ids)) == 9
    assert ids != sorted(ids)  # rows are mixed across games


def test_aggregate_is_deterministic(parts, tmp_path):
    aggregate(parts, str(tmp_path / "a.parquet"), seed=1, bucket_rows=40)
    aggregate(list(reversed(parts)), str(tmp_path / "b.parquet"), seed=1, bucket_rows=40)
    aggregate(parts, str(tmp_path / "c.parquet"), seed=2, bucket_rows=40)
    a, b, c = (tmp_path / f"{x}.parquet" for x in "abc")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_duplicate_game_refused(parts, tmp_path):
    dup = tmp_path / "dup.parquet"
    shutil.copy(parts[0], dup)
    with pytest.raises(DataError,
                       match="dup.parquet: game .* is a duplicate of a game in .*part_0"):
        aggregate([parts[0], str(dup)], str(tmp_path / "x.parquet"), seed=1)
    assert not (tmp_path / "x.parquet").exists()


def test_corrupt_part_is_named(parts, tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(open(parts[0], "rb").read()[:200])
    with pytest.raises(DataError, match="bad.parquet"):
        aggregate([parts[0], str(bad)], str(tmp_path / "x.parquet"), seed=1)
