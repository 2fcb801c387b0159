"""Training tensors: bit-exact parity with the reference exporter's NPZ files,
the Parquet -> NPZ export (soft targets, shards, determinism, bad input) and
the numpy reader."""

import itertools
import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from ringrift.cli import main as cli_main
from ringrift.dataset.parts import DataError
from ringrift.dataset.schema import history_of, row_to_state
from ringrift.dataset.tensors import TensorShards
from ringrift.engine import layout as L
from ringrift.engine.api import Rules
from ringrift.engine.rules import apply_move
from ringrift.reference.traces import read_records
from ringrift.selfplay.worker import WorkerConfig, run_worker
from ringrift.tensors import EncodeConfig, GameEncoder, GameSpec, game_arrays, spec_from_trace
from ringrift.tensors.export import ARRAY_ORDER, ExportConfig, _scalars, export_tensors
from ringrift.tensors.policy import POLICY_SIZES, constants, policy_index

REFERENCE_FILES = (
    "hex8_2p_v2_every1.npz",
    "hex8_2p_v3_every1.npz",
    "hex8_3p_v2_every1.npz",
    "hex8_3p_v3_every7.npz",
    "hex8_4p_v3_every1.npz",
    "hexagonal_2p_v2_every5.npz",
    "hexagonal_2p_v3_every5.npz",
    "square19_2p_v2_every1.npz",
    "square8_2p_swapped_v2_every1.npz",
    "square8_2p_v2_every1.npz",
    "square8_2p_v2_every10.npz",
    "square8_3p_v2_every1.npz",
    "square8_4p_v2_every1.npz",
)
SCALAR_KEYS = (
    "board_type",
    "board_size",
    "history_length",
    "feature_version",
    "policy_encoding",
    "encoder_version",
    "in_channels",
    "export_version",
)


def test_reference_folder_holds_the_listed_files(conformance_dir):
    found = sorted(p.name for p in (conformance_dir / "training-tensors").glob("*.npz"))
    assert found == sorted(REFERENCE_FILES)


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_reference_parity(conformance_dir, name):
    """Rebuild the file's games from the shared traces with our engine and
    compare every array bit for bit."""
    ref = np.load(conformance_dir / "training-tensors" / name, allow_pickle=True)
    trace = name.split("_v")[0]
    cfg = EncodeConfig(
        str(ref["board_type"]),
        encoder=str(ref["encoder_version"]),
        sample_every=int(ref["sample_every"]),
        history_length=int(ref["history_length"]),
        soft=False,
    )
    ngames = int(ref["trace_game_index"].max()) + 1
    enc = GameEncoder(cfg)
    games = []
    recs = read_records(conformance_dir / "traces" / f"{trace}.jsonl.gz")
    for i, rec in enumerate(itertools.islice(recs, ngames)):
        a = game_arrays(spec_from_trace(rec, f"{trace}:{i}"), cfg, enc)
        if a:
            a["trace_game_index"] = np.full(len(a["values"]), i, dtype=np.int32)
            games.append(a)
    ours = {k: np.concatenate([g[k] for g in games]) for k in games[0]}
    for k in ARRAY_ORDER + ("trace_game_index",):
        assert ours[k].dtype == ref[k].dtype, k
        assert ours[k].shape == ref[k].shape, k
        assert np.array_equal(ours[k], ref[k]), k
    # game_ids are TRACEFILE:INDEX in the reference files (ours: whatever id we pass)
    assert np.array_equal(
        ref["game_ids"], np.array([f"{trace}:{i}" for i in ref["trace_game_index"]], dtype=object)
    )
    sc = _scalars(cfg, str(ref["board_type"]))
    for k in SCALAR_KEYS + ("sample_every",):
        want = ref[k]
        got = np.asarray(sc[k])
        assert got.dtype == want.dtype and got.shape == () and got == want, k


# ---- Parquet inputs ----------------------------------------------------------


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    d = tmp_path_factory.mktemp("tensor_parts")
    out = {}
    for name, board, mode, games, seed in (
        ("sq_mcts", "square8", "mcts", 3, 7),
        ("sq_mixed", "square8", "mixed", 3, 8),
        ("hex_mcts", "hex8", "mcts", 2, 7),
    ):
        cfg = WorkerConfig(
            num_games=games,
            board_type=board,
            num_players=2,
            output=str(d / f"{name}.parquet"),
            seed=seed,
            engine_mode=mode,
            worker_id=name,
        )
        run_worker(cfg)
        out[name] = cfg.output
    return out


def _games_from_parquet(paths):
    """GameSpecs (with recorded policies) read straight from the Parquet."""
    specs = {}
    for p in paths:
        t = pq.read_table(p).to_pylist()
        for r in t:
            if r["ply_to_end"] == 0:
                specs[r["game_id"]] = GameSpec(
                    r["game_id"],
                    r["board_type"],
                    r["num_players"],
                    history_of(r["history"]).astype(np.int32),
                    swap_rule=bool(row_to_state(r)[L.SWAP_EN]),
                    lps_rounds=row_to_state(r)[L.LPS_REQ],
                )
        pol = {}
        for r in t:
            if r["ply_to_end"] != 0 and r["policy_index"]:
                pol.setdefault(r["game_id"], {})[r["step"]] = (r["policy_index"], r["policy_prob"])
        for gid, steps in pol.items():
            s = specs[gid]
            n = len(s.choices)
            poff = np.zeros(n + 1, dtype=np.int64)
            idx, prob = [], []
            for st in range(n):
                if st in steps:
                    idx += steps[st][0]
                    prob += steps[st][1]
                poff[st + 1] = len(idx)
            s.poff, s.pidx, s.pprob = poff, np.array(idx, np.int32), np.array(prob, np.float32)
    return specs


def _by_game(d):
    ids = np.asarray(d["game_ids"])
    return {g: np.flatnonzero(ids == g) for g in dict.fromkeys(ids.tolist())}


def test_export_onehot_equals_the_game_encoder(parts, tmp_path):
    inputs = [parts["sq_mcts"], parts["sq_mixed"]]
    res = export_tensors(
        inputs, str(tmp_path / "a.npz"), ExportConfig(policy="onehot", sample_every=2)
    )
    d = np.load(tmp_path / "a.npz", allow_pickle=True)
    assert list(d.files)[: len(ARRAY_ORDER)] == list(ARRAY_ORDER)
    cfg = EncodeConfig("square8", sample_every=2, soft=False)
    specs = _games_from_parquet(inputs)
    rows = _by_game(d)
    assert set(rows) == set(specs) and res["samples"] == len(d["values"])
    for gid, idx in rows.items():
        want = game_arrays(specs[gid], cfg)
        for k in ARRAY_ORDER:
            assert np.array_equal(d[k][idx], want[k]), (gid, k)
    assert d["policy_indices"].shape == (len(d["values"]), 1)
    assert str(d["policy_target"]) == "onehot" and int(d["sample_every"]) == 2


def _reference_loader_policy(pi, pv, policy_size):
    """What app/training/datasets.py RingRiftDataset.__getitem__ does with one
    sample's sparse policy (index assignment, then its normalisation check)."""
    assert len(pi) > 0
    idx = np.asarray(pi, dtype=np.int64)
    val = np.asarray(pv, dtype=np.float32)
    assert idx.min() >= 0 and idx.max() < policy_size
    dense = np.zeros(policy_size, dtype=np.float32)
    dense[idx] = val
    assert 0.99 < dense.sum() < 1.01
    return dense


def test_soft_targets_are_the_recorded_visit_distributions(parts, tmp_path):
    for key, board in (("sq_mcts", "square8"), ("hex_mcts", "hex8")):
        out = tmp_path / f"{key}.npz"
        export_tensors([parts[key]], str(out), ExportConfig(policy="soft"))
        d = np.load(out, allow_pickle=True)
        assert d["policy_indices"].shape == (len(d["values"]),)
        spec = _games_from_parquet([parts[key]])
        rules = Rules(board, 2)
        pc = constants(board)
        tab = GameEncoder(EncodeConfig(board)).tab
        nsoft = 0
        for gid, rows in _by_game(d).items():
            sp = spec[gid]
            s = rules.new_game()
            steps = {int(d["move_numbers"][r]): r for r in rows}
            for st, ch in enumerate(sp.choices):
                legal = rules.legal(s)
                if st in steps:
                    r = steps[st]
                    pi, pv = d["policy_indices"][r], d["policy_values"][r]
                    assert pi.dtype == np.int32 and pv.dtype == np.float32
                    total = float(pv.sum(dtype=np.float64))
                    assert np.all(np.diff(pi) > 0) and abs(total - 1) < 1e-6
                    _reference_loader_policy(pi, pv, POLICY_SIZES[board])
                    a, z = sp.poff[st], sp.poff[st + 1]
                    want = {}
                    if z > a:  # recorded distribution, mapped and merged
                        for li, p in zip(sp.pidx[a:z], sp.pprob[a:z]):
                            k = int(policy_index(rules.geo, s, legal[li], pc, tab.gx, tab.gy))
                            want[k] = want.get(k, 0.0) + float(p)
                        nsoft += len(want) > 1
                    else:
                        want[int(policy_index(rules.geo, s, legal[ch], pc, tab.gx, tab.gy))] = 1.0
                    tot = sum(want.values())
                    assert pi.tolist() == sorted(want)
                    assert np.allclose(pv, [want[k] / tot for k in sorted(want)], atol=1e-6)
                s = apply_move(rules.geo, s, legal[ch])
        assert nsoft > 0, "no MCTS distribution was exercised"


def test_soft_merges_moves_that_share_an_index(conformance_dir):
    """A uniform distribution over every legal move at every step of a hex8
    game: moves sharing an index (every hex choice / bookkeeping move) add up."""
    rec = next(iter(read_records(conformance_dir / "traces" / "hex8_2p.jsonl.gz")))
    spec = spec_from_trace(rec, "g")
    rules = Rules("hex8", 2)
    s = rules.new_game()
    poff, pidx, pprob, merged = [0], [], [], 0
    expected = []
    pc, tab = constants("hex8"), GameEncoder(EncodeConfig("hex8")).tab
    for ch in spec.choices:
        legal = rules.legal(s)
        k = len(legal)
        pidx += list(range(k))
        pprob += [1.0 / k] * k
        poff.append(len(pidx))
        want = {}
        for m in legal:
            i = int(policy_index(rules.geo, s, m, pc, tab.gx, tab.gy))
            if i >= 0:
                want[i] = want.get(i, 0) + 1
        merged += len(want) < k
        if int(policy_index(rules.geo, s, legal[ch], pc, tab.gx, tab.gy)) >= 0:
            tot = sum(want.values())
            expected.append({i: c / tot for i, c in want.items()})
        s = apply_move(rules.geo, s, legal[ch])
    spec.poff, spec.pidx, spec.pprob = (
        np.array(poff, np.int64),
        np.array(pidx, np.int32),
        np.array(pprob, np.float32),
    )
    a = game_arrays(spec, EncodeConfig("hex8", soft=True))
    assert merged > 0 and len(a["policy_indices"]) == len(expected)
    for pi, pv, want in zip(a["policy_indices"], a["policy_values"], expected):
        assert pi.tolist() == sorted(want)
        assert np.allclose(pv, [want[i] for i in sorted(want)], atol=1e-6)


def test_shards_are_streamed_deterministic_and_read_back(parts, tmp_path):
    inputs = [parts["sq_mcts"], parts["sq_mixed"]]
    one = tmp_path / "one.npz"
    export_tensors(inputs, str(one), ExportConfig(seed=3))
    per = 56 * 64 * 4 + 80
    res = export_tensors(inputs, str(tmp_path / "sh"), ExportConfig(seed=3, shard_bytes=60 * per))
    shards = sorted((tmp_path / "sh").glob("shard_*.npz"))
    assert len(shards) == len(res["outputs"]) > 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
    full = np.load(one, allow_pickle=True)
    got = [np.load(p, allow_pickle=True) for p in shards]
    for k in ("features", "globals", "values", "move_numbers", "game_ids"):
        assert np.array_equal(np.concatenate([g[k] for g in got]), full[k]), k
    # same inputs and seed -> same bytes; another seed -> another game order
    export_tensors(
        list(reversed(inputs)), str(tmp_path / "sh2"), ExportConfig(seed=3, shard_bytes=60 * per)
    )
    for p in shards:
        assert p.read_bytes() == (tmp_path / "sh2" / p.name).read_bytes()
    export_tensors(inputs, str(tmp_path / "other.npz"), ExportConfig(seed=4))
    other = np.load(tmp_path / "other.npz", allow_pickle=True)
    assert not np.array_equal(other["game_ids"], full["game_ids"])
    assert sorted(other["game_ids"].tolist()) == sorted(full["game_ids"].tolist())
    # a later run with fewer shards leaves no stale shard behind
    export_tensors(inputs, str(tmp_path / "sh"), ExportConfig(seed=3))
    assert [p.name for p in (tmp_path / "sh").glob("shard_*.npz")] == ["shard_00000.npz"]

    # reader: every sample once per epoch, sparse and dense policies agree
    data = TensorShards(str(tmp_path / "sh2"), batch_size=7, seed=1, policy="sparse")
    seen = []
    n = 0
    for b in data:
        n += len(b["values"])
        dense = np.zeros((len(b["values"]), data.policy_size), np.float32)
        np.add.at(dense, (b["policy_rows"], b["policy_index"]), b["policy_prob"])
        assert np.allclose(dense.sum(1), 1, atol=1e-5)
        seen.append(
            np.concatenate(
                [b["globals"], b["values"][:, None], b["features"].reshape(len(b["values"]), -1)],
                axis=1,
            )
        )
    assert n == len(full["values"])
    flat = np.concatenate(
        [full["globals"], full["values"][:, None], full["features"].reshape(n, -1)], axis=1
    )
    seen = np.concatenate(seen)
    assert np.array_equal(seen[np.lexsort(seen.T)], flat[np.lexsort(flat.T)])
    dense_reader = TensorShards(str(one), batch_size=1000, shuffle=False, policy="dense")
    b = next(iter(dense_reader))
    for i in range(len(b["values"])):
        want = np.zeros(data.policy_size, np.float32)
        want[full["policy_indices"][i]] = full["policy_values"][i]
        assert np.array_equal(b["policy"][i], want)


def test_bad_inputs_fail_in_one_line_and_write_nothing(parts, tmp_path, capsys):
    out = tmp_path / "out.npz"
    with pytest.raises(DataError) as e:
        export_tensors([parts["sq_mcts"], parts["hex_mcts"]], str(out))
    msg = str(e.value)
    assert "\n" not in msg and "sq_mcts.parquet" in msg and "hex_mcts.parquet" in msg
    bad = tmp_path / "bad.parquet"
    data = open(parts["sq_mixed"], "rb").read()
    bad.write_bytes(data[: len(data) // 2])  # a part cut short (no footer)
    with pytest.raises(DataError) as e:
        export_tensors([parts["sq_mcts"], str(bad)], str(tmp_path / "sh"))
    assert "bad.parquet" in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "sh").exists() and not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
    with pytest.raises(DataError) as e:
        export_tensors([parts["sq_mcts"]], str(out), ExportConfig(encoder="v3"))
    assert "v3" in str(e.value) and "square8" in str(e.value)
    rc = cli_main(["tensors", parts["sq_mcts"], "--encoder", "v3", "--output", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("ringrift: error:")
    assert not out.exists()


def test_cli_writes_hex_v3(parts, tmp_path, capsys):
    rc = cli_main(
        [
            "tensors",
            parts["hex_mcts"],
            "--encoder",
            "v3",
            "--sample-every",
            "3",
            "--output",
            str(tmp_path / "h.npz"),
        ]
    )
    assert rc == 0 and "samples" in capsys.readouterr().out
    d = np.load(tmp_path / "h.npz", allow_pickle=True)
    assert d["features"].shape[1:] == (64, 9, 9) and str(d["encoder_version"]) == "v3"
    assert int(d["in_channels"]) == 64 and np.all(d["move_numbers"] % 3 == 0)


def test_npz_writer_streams_a_valid_archive(tmp_path):
    """The streamed entry (header as a stored block, rewritten at the end,
    CRC combined) and the whole ones: np.load reads them back, every CRC and
    size checks out in zipfile, and the same writes give the same bytes."""
    import zipfile

    from ringrift.tensors import npz

    rng = np.random.default_rng(5)
    feats = rng.random((1234, 3, 5, 5), dtype=np.float32)
    feats[feats < 0.8] = 0.0
    small = {
        "values": np.arange(7, dtype=np.int32),
        "ragged": np.array([np.arange(3), np.arange(2)], dtype=object),
        "board_type": np.asarray("square8"),
    }

    ragged = [np.arange(i % 5, dtype=np.int32) for i in range(70_000)]  # pickles > 1 frame

    def write(path, step):
        with open(path, "wb") as fh:
            zw = npz.NpzWriter(fh)
            e = zw.stream("features", np.float32, (3, 5, 5))
            for i in range(0, len(feats), step):
                e.write(feats[i : i + step])
            with pytest.raises(RuntimeError):
                zw.add("values", small["values"])  # one entry open at a time
            e.close()
            for k, v in small.items():
                zw.add(k, v)
            with pytest.raises(ValueError):
                zw.stream("objects", object, ())  # would write pointers
            # object arrays drawn from generators, pickled as they come
            zw.add_objects("lazy", (len(ragged),), iter(ragged))
            zw.add_objects("column", (3, 1), (x for x in (4, 5.5, "s")))
            zw.close()

    write(tmp_path / "a.npz", 100)
    write(tmp_path / "b.npz", 100)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    write(tmp_path / "c.npz", 1234)  # other row blocks: other deflate blocks, same arrays
    assert np.array_equal(np.load(tmp_path / "c.npz")["features"], feats)
    with zipfile.ZipFile(tmp_path / "a.npz") as zf:
        assert zf.testzip() is None
        assert zf.namelist() == ["features.npy"] + [k + ".npy" for k in small] + [
            "lazy.npy",
            "column.npy",
        ]
    d = np.load(tmp_path / "a.npz", allow_pickle=True)
    assert d["features"].dtype == np.float32 and np.array_equal(d["features"], feats)
    assert np.array_equal(d["values"], small["values"]) and str(d["board_type"]) == "square8"
    assert [list(x) for x in d["ragged"]] == [[0, 1, 2], [0, 1]]
    lazy = d["lazy"]
    assert lazy.dtype == object and lazy.shape == (len(ragged),)
    assert all(a.dtype == np.int32 and np.array_equal(a, b) for a, b in zip(lazy, ragged))
    assert d["column"].shape == (3, 1) and d["column"][:, 0].tolist() == [4, 5.5, "s"]


def test_remote_shards(parts, tmp_path, monkeypatch):
    pytest.importorskip("moto.server")
    from servers import moto_s3

    (tmp_path / "moto").mkdir()
    with moto_s3(tmp_path / "moto") as srv:
        for k, v in srv.env().items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("AWS_ENDPOINT_URL", srv.endpoint)
        prefix = f"s3://{srv.bucket}/tensors/sq"
        res = export_tensors([parts["sq_mcts"]], prefix, ExportConfig(shard_bytes=1))
        fs = srv.fs()
        names = sorted(os.path.basename(p) for p in fs.ls(f"{srv.bucket}/tensors/sq"))
        assert (
            names
            == [f"shard_{i:05d}.npz" for i in range(3)]
            == [os.path.basename(p) for p in res["outputs"]]
        )
        n = sum(len(b["values"]) for b in TensorShards(prefix, batch_size=64))
        assert n == res["samples"]
