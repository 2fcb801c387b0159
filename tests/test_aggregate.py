"""Shuffled aggregate: counts checked, duplicates refused, deterministic,
rows really mixed, bounded buckets, bad parts named with nothing written."""

import gc
import io
import math
import shutil
import subprocess
import sys

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ringrift.dataset.aggregate as agg
from ringrift.dataset.aggregate import (
    Column,
    ProgressLine,
    _deal,
    _seeded,
    aggregate,
    take,
)
from ringrift.dataset.parts import (
    DataError,
    DigestParquetWriter,
    atomic_output,
    part_stats,
    read_part,
)
from ringrift.dataset.schema import BYTE_COLUMNS, GAME_COLUMNS
from ringrift.selfplay.worker import WorkerConfig, run_worker

# Parts of 16-row row groups: the aggregate deals a part's row groups (its
# blocks) to buckets, so these small parts still span many buckets.
BLOCK_ROWS = 16


def _run_worker(cfg):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("ringrift.dataset.parts.worker_row_group_rows", lambda ncell: BLOCK_ROWS)
        run_worker(cfg)


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    d = tmp_path_factory.mktemp("parts")
    out = []
    for i in range(3):
        cfg = WorkerConfig(
            num_games=3,
            board_type="hex8",
            num_players=2,
            output=str(d / f"part_{i}.parquet"),
            seed=5,
            engine_mode="random",
            worker_id=f"w{i}",
            game_offset=3 * i,
        )
        _run_worker(cfg)
        out.append(cfg.output)
    return out


def _square_parts(folder, offsets) -> list[str]:
    """Square8 parts of 3 games each, every position sampled (~200 rows),
    part i from game ``offsets[i]`` on."""
    out = []
    for i, offset in enumerate(offsets):
        cfg = WorkerConfig(
            num_games=3,
            board_type="square8",
            num_players=2,
            output=str(folder / f"part_{i}.parquet"),
            seed=9,
            engine_mode="random",
            sample_every_n_moves=1,
            worker_id=f"w{i}",
            game_offset=offset,
        )
        _run_worker(cfg)
        out.append(cfg.output)
    return out


@pytest.fixture(scope="module")
def square_parts(tmp_path_factory):
    """4 square8 parts with every position sampled (~200 rows each)."""
    return _square_parts(tmp_path_factory.mktemp("square"), [0, 3, 6, 9])


def test_aggregate_counts_and_shuffle(parts, tmp_path):
    res = aggregate(parts, str(tmp_path / "all.parquet"), seed=1, bucket_rows=40)
    t = read_part(str(tmp_path / "all.parquet"))
    total = sum(pq.read_metadata(p).num_rows for p in parts)
    assert res["samples"] == t.num_rows == total and res["games"] == 9
    assert res["buckets"] == math.ceil(total / 40) > 1
    assert part_stats(t)["buckets"] == res["buckets"]
    # game columns plainly encoded (nearly all distinct), scalars by dictionary
    meta = pq.ParquetFile(tmp_path / "all.parquet").metadata.row_group(0)
    chunks = [meta.column(i) for i in range(meta.num_columns)]
    encodings = {c.path_in_schema: c.encodings for c in chunks}
    for name in GAME_COLUMNS + BYTE_COLUMNS:
        assert "RLE_DICTIONARY" not in encodings[name], name
    assert "RLE_DICTIONARY" in encodings["move_number"]
    ids = t.column("game_id").to_pylist()
    assert len(set(ids)) == 9
    assert ids != sorted(ids)  # rows are mixed across games
    # the same rows as the parts, only reordered
    src = pa.concat_tables(read_part(p) for p in parts)
    key = ["game_id", "move_number"]
    assert (
        t.sort_by([(k, "ascending") for k in key]).select(t.column_names).to_pylist()
        == src.sort_by([(k, "ascending") for k in key]).select(t.column_names).to_pylist()
    )


def test_aggregate_is_deterministic(parts, tmp_path):
    aggregate(parts, str(tmp_path / "a.parquet"), seed=1, bucket_rows=40)
    aggregate(list(reversed(parts)), str(tmp_path / "b.parquet"), seed=1, bucket_rows=40)
    aggregate(parts, str(tmp_path / "c.parquet"), seed=2, bucket_rows=40)
    aggregate([parts[1], parts[2], parts[0]], str(tmp_path / "d.parquet"), seed=1)
    aggregate(parts, str(tmp_path / "e.parquet"), seed=1)
    a, b, c, d, e = (tmp_path / f"{x}.parquet" for x in "abcde")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert d.read_bytes() == e.read_bytes()  # bucket count chosen from the data


def test_rows_of_every_part_spread_over_the_output(square_parts, tmp_path):
    """Each part's ~13 blocks of 16 rows go to several of the ~6 buckets, and
    each bucket is permuted: a part's rows reach both ends of the output,
    and a game's rows are not runs."""
    out = tmp_path / "mixed.parquet"
    res = aggregate(square_parts, str(out), seed=3, bucket_rows=150)
    assert res["buckets"] >= 4
    t = pq.read_table(out, columns=["worker_id", "game_id"])
    n = t.num_rows
    part = np.array(t.column("worker_id").to_pylist())
    for half in (part[: n // 2], part[n // 2 :]):
        assert set(half.tolist()) == {"w0", "w1", "w2", "w3"}
    for w in ("w0", "w1", "w2", "w3"):
        pos = np.flatnonzero(part == w) / n
        assert pos.min() < 0.25 and pos.max() > 0.75, w
    gid = t.column("game_id").to_pylist()
    same = sum(a == b for a, b in zip(gid, gid[1:])) / (n - 1)
    assert same < 0.2  # 12 games: ~1/12 of neighbours by chance, not runs of a game


def test_buckets_follow_the_memory_budget(square_parts, tmp_path):
    total = sum(pq.read_metadata(p).num_rows for p in square_parts)
    res = aggregate(square_parts, str(tmp_path / "one.parquet"), seed=3)
    assert res["buckets"] == 1  # 800 rows: far below the default budget
    res = aggregate(square_parts, str(tmp_path / "small.parquet"), seed=3, bucket_bytes=100_000)
    # ~560 bytes a decoded square8 row (schema v4): ~180 rows a bucket
    assert total / 300 < res["buckets"] < total / 100
    assert pq.read_metadata(tmp_path / "small.parquet").num_rows == total


def test_bytes_depend_on_the_bucket_count_not_on_how_it_was_chosen(square_parts, tmp_path):
    """The shuffle is a function of (parts, seed, bucket count): a count
    chosen from the memory budget gives the bytes of the same count given as
    rows a bucket; another count gives another order. So changing
    BUCKET_BYTES (or how a row's bytes are estimated) changes aggregates."""
    total = sum(pq.read_metadata(p).num_rows for p in square_parts)
    budget = aggregate(square_parts, str(tmp_path / "b.parquet"), seed=3, bucket_bytes=100_000)
    nb = budget["buckets"]
    assert nb > 2
    fixed = aggregate(
        square_parts, str(tmp_path / "r.parquet"), seed=3, bucket_rows=math.ceil(total / nb)
    )
    assert fixed["buckets"] == nb
    assert (tmp_path / "b.parquet").read_bytes() == (tmp_path / "r.parquet").read_bytes()
    other = aggregate(
        square_parts, str(tmp_path / "o.parquet"), seed=3, bucket_rows=math.ceil(total / (nb + 1))
    )
    assert other["buckets"] == nb + 1
    a, b = (
        pq.read_table(tmp_path / f, columns=["game_id", "move_number"]).to_pylist()
        for f in ("b.parquet", "o.parquet")
    )
    assert a != b and sorted(a, key=str) == sorted(b, key=str)


def _shuffled_by_arrow(parts, seed, nb, drop=False):
    """The aggregate's rows by the obviously-correct route: every part whole
    (in the order the aggregate takes them: by first game), cut into its row
    groups; block i of all is dealt to bucket j * nb // blocks, where j is
    its place in the seeded permutation; bucket b's rows in part and row
    order, then Arrow's take of bucket b's permutation. With ``drop``, a
    game's rows are left out when an earlier part had its seed and moves."""
    blocks, seen = [], set()
    for path in sorted(parts, key=lambda p: part_stats(read_part(p))["game_offset"]):
        t = read_part(path)
        meta = pq.read_metadata(path)
        games = list(zip(t.column("game_seed").to_pylist(), t.column("game_hash").to_pylist()))
        mine = set(games)
        keep = [not (drop and g in seen) for g in games]
        seen |= mine
        start = 0
        for rg in range(meta.num_row_groups):
            n = meta.row_group(rg).num_rows
            blocks.append(t.slice(start, n).filter(pa.array(keep[start : start + n])))
            start += n
    order = list(_seeded(seed, 1).permutation(len(blocks)))
    out = []
    for b in range(nb):
        mine = sorted(i for j, i in enumerate(order) if j * nb // len(blocks) == b)
        t = pa.concat_tables([blocks[i] for i in mine])
        out.extend(t.take(pa.array(_seeded(seed, 2, b).permutation(t.num_rows))).to_pylist())
    return out


@pytest.mark.parametrize("bucket_rows, group_rows", [(90, None), (1000, None), (90, 5)])
def test_output_is_the_seeded_bucket_shuffle(
    square_parts, tmp_path, monkeypatch, bucket_rows, group_rows
):
    """Row for row what the slow route gives: pass 1 deals every part's
    row groups, pass 2 permutes each bucket, the output's row groups (5 rows
    here: smaller than a block) cut across buckets."""
    if group_rows:
        monkeypatch.setattr(agg, "part_row_group_rows", lambda ncell: group_rows)
    out = tmp_path / "all.parquet"
    res = aggregate(square_parts, str(out), seed=4, bucket_rows=bucket_rows)
    assert res["buckets"] == math.ceil(
        sum(read_part(p).num_rows for p in square_parts) / bucket_rows
    )
    assert read_part(str(out)).to_pylist() == _shuffled_by_arrow(square_parts, 4, res["buckets"])


def test_buckets_get_the_same_number_of_blocks():
    for blocks, nb in [(1, 1), (7, 3), (1000, 7), (1220, 8)]:
        deal = _deal(blocks, nb, seed=3)
        counts = np.bincount(deal, minlength=nb)
        assert len(counts) == nb and counts.max() - counts.min() <= 1, (blocks, nb)
        assert np.array_equal(deal, _deal(blocks, nb, seed=3))
        if blocks > nb:
            assert not np.array_equal(deal, _deal(blocks, nb, seed=4))


def test_take_matches_arrow(square_parts):
    t = read_part(square_parts[0])
    rng = np.random.default_rng(0)
    for table in (t, t.slice(17, 150)):
        batch = table.combine_chunks().to_batches()[0]
        idx = rng.permutation(batch.num_rows)[:100].astype(np.int64)
        for name in batch.schema.names:
            col = batch.column(name)
            if pa.types.is_dictionary(col.type):
                continue  # travel as int32 codes
            got = take(col, idx)
            got.validate(full=True)
            assert got.equals(col.take(pa.array(idx))), name
    assert t.column("move").null_count > 0  # terminal samples: null lists were covered
    arr = pa.array([[1], None, [2, 3], []], pa.list_(pa.uint16()))
    assert take(arr, np.array([2, 1, 0, 3])).equals(arr.take(pa.array([2, 1, 0, 3])))


def test_take_refuses_offsets_outside_the_data():
    """Damaged offsets (past the end, or decreasing) are refused, not copied
    from beyond the buffer: the gather is a raw copy."""
    data = np.arange(6, dtype=np.uint16).view(np.uint8)  # a column's bytes
    for offsets in ([0, 2, 9], [0, 4, 2]):
        col = Column(pa.list_(pa.uint16()), "var", 2, data, np.array(offsets, np.int32), 2)
        with pytest.raises(DataError, match="offsets outside their data"):
            col.take(np.array([1, 0]))
    good = Column(pa.list_(pa.uint16()), "var", 2, data, np.array([0, 2, 6], np.int32), 2)
    assert good.take(np.array([1, 0])).to_pylist() == [[2, 3, 4, 5], [0, 1]]


def test_duplicate_game_refused(parts, tmp_path):
    dup = tmp_path / "dup.parquet"
    shutil.copy(parts[0], dup)
    with pytest.raises(
        DataError, match="dup.parquet: game .* is a duplicate of a game in .*part_0"
    ):
        aggregate([parts[0], str(dup)], str(tmp_path / "x.parquet"), seed=1)
    assert not (tmp_path / "x.parquet").exists()


def test_corrupt_part_is_named(parts, tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(open(parts[0], "rb").read()[:200])
    with pytest.raises(DataError, match="bad.parquet"):
        aggregate([parts[0], str(bad)], str(tmp_path / "x.parquet"), seed=1)


def test_a_bad_part_in_the_middle_stops_it_with_nothing_written(square_parts, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = tmp_path / "out.parquet"
    # a flipped bit in the third part (in game order): the digest catches it
    flipped = tmp_path / "flipped.parquet"
    data = bytearray(open(square_parts[2], "rb").read())
    data[len(data) // 3] ^= 0x10
    flipped.write_bytes(bytes(data))
    given = [square_parts[0], square_parts[1], str(flipped), square_parts[3]]
    with pytest.raises(DataError) as exc:
        aggregate(given, str(out), seed=1, scratch=str(scratch), bucket_rows=100)
    assert "flipped.parquet" in str(exc.value) and "\n" not in str(exc.value)
    # a part whose digest is fine but whose last row group holds a bad value:
    # pass 2 finds it when it reads that block, after other buckets were written
    t = read_part(square_parts[2])
    outcome = t.column("outcome").to_numpy().copy()
    outcome[-1] = 0.25
    i = t.schema.get_field_index("outcome")
    t = t.set_column(i, t.schema.field(i), pa.array(outcome, type=pa.float32()))
    odd = tmp_path / "odd.parquet"
    with atomic_output(str(odd)) as fh:
        w = DigestParquetWriter(fh, t.schema, row_group_rows=50)
        w.write(t)
        w.close(part_stats(t))
    given[2] = str(odd)
    with pytest.raises(DataError, match=f"odd.parquet: row {t.num_rows - 1} has an outcome"):
        aggregate(given, str(out), seed=1, scratch=str(scratch), bucket_rows=100)
    assert not out.exists() and list(tmp_path.glob(".out.parquet*")) == []
    assert list(scratch.iterdir()) == []
    assert gc.isenabled()  # off during the aggregate only, also when it fails


def test_remote_parts_are_streamed(parts, tmp_path):
    fs = fsspec.filesystem("memory")
    remote = []
    for p in parts:
        uri = f"memory://bucket/ds/{p.rsplit('/', 1)[-1]}"
        fs.pipe(uri, open(p, "rb").read())
        remote.append(uri)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    aggregate(parts, str(tmp_path / "local.parquet"), seed=4, bucket_rows=50)
    aggregate(
        remote, str(tmp_path / "remote.parquet"), seed=4, bucket_rows=50, scratch=str(scratch)
    )
    assert (tmp_path / "local.parquet").read_bytes() == (tmp_path / "remote.parquet").read_bytes()
    assert list(scratch.iterdir()) == []
    data = bytearray(fs.cat(remote[1]))
    data[100] ^= 1
    fs.pipe(remote[1], bytes(data))
    with pytest.raises(DataError, match="memory://bucket/ds/part_1.parquet") as exc:
        aggregate(remote, str(tmp_path / "x.parquet"), seed=4, scratch=str(scratch))
    assert "ringrift-agg" not in str(exc.value)  # named by its URI, not the scratch copy
    assert not (tmp_path / "x.parquet").exists()


def test_progress_line_and_quiet_cli(parts, tmp_path):
    buf = io.StringIO()
    aggregate(parts, str(tmp_path / "p.parquet"), seed=1, progress=ProgressLine(buf, every=0))
    lines = buf.getvalue().splitlines()
    assert any(x.startswith("aggregate: reading parts") for x in lines)
    assert lines[-1].startswith("aggregate: writing") and "rows/s" in lines[-1]
    assert "ETA" in lines[-1]
    cmd = [sys.executable, "-m", "ringrift", "aggregate", "--seed", "1", *parts]
    p = subprocess.run(
        [*cmd, "--output", str(tmp_path / "q.parquet")], capture_output=True, text=True, timeout=600
    )
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # not a terminal: no progress lines in a Snakemake log
    assert p.stdout.startswith("aggregated 3 parts: 9 games") and "rows/s" in p.stdout
    p = subprocess.run(
        [*cmd, "--progress", "--output", str(tmp_path / "r.parquet")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0 and "aggregate: writing" in p.stderr
    assert (tmp_path / "r.parquet").read_bytes() == (tmp_path / "q.parquet").read_bytes()


def test_dropped_games_leave_the_rest_of_their_blocks(tmp_path):
    """A part whose first game repeats another part's last: its first blocks
    lose that game's rows (one of them only some of its rows), the later
    ones keep every row; the output is the slow route's with those rows left
    out."""
    given = _square_parts(tmp_path, [2, 0])  # games 2-4 and 0-2: game 2 twice
    ids = read_part(given[0]).column("game_id").to_pylist()  # the later part's rows
    assert ids.count(ids[0]) % BLOCK_ROWS  # game 2 ends inside a block: it keeps some rows
    res = aggregate(
        given, str(tmp_path / "a.parquet"), seed=5, drop_duplicates=True, bucket_rows=90
    )
    assert res["dropped_duplicate_games"] == 1 and res["buckets"] > 1
    t = read_part(str(tmp_path / "a.parquet"))
    assert t.num_rows == res["samples"] < sum(read_part(p).num_rows for p in given)
    assert t.to_pylist() == _shuffled_by_arrow(given, 5, res["buckets"], drop=True)
