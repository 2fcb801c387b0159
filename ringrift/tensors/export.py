"""Parquet parts / aggregates -> the reference trainer's NPZ (one file or shards).

Games are rebuilt from the Parquet, never re-searched: a game's terminal row
holds in ``history`` the legal-move index chosen at every engine step, and
its decision rows hold the policy target recorded for that step (the MCTS
visit distribution, or one-hot for the other players).

Two passes, memory bounded whatever the inputs:

1. every input is read batch by batch (only the small columns: ids, steps,
   winner, policy, history, header); each game's terminal row and each
   policy row go to one of B scratch bucket files by a hash of the game id.
   A corrupt or foreign input fails here, before any output exists.
2. bucket by bucket, games are grouped, put in a seeded order, replayed and
   encoded in small chunks; each chunk's features are deflated straight into
   the staged NPZ (``npz.py``: no copy, no scratch file), the other arrays
   go to scratch files and follow, streamed block by block (object arrays
   pickled element by element), when the shard closes (after a whole game,
   once it holds ``shard_bytes`` of array data or MAX_SHARD_SAMPLES samples).
   Memory does not grow with the shard, so one ``.npz`` of any size is fine.

All shards are staged and published at the end (renamed locally, uploaded to
object storage), so a failed run leaves nothing at the output.

The NPZ holds the reference exporter's arrays, dtypes and scalar metadata
(export_version 2.1). One-hot mode writes ``policy_indices`` /
``policy_values`` exactly as the reference does ((N, 1) object arrays); soft
mode writes (N,) object arrays of int32 / float32 arrays (sorted indices,
values summing to 1), which the reference's ``RingRiftDataset`` reads the
same way. Extra scalars: ``sample_every`` and ``policy_target``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import zlib
from dataclasses import dataclass

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ..dataset import parts
from ..dataset.parts import DataError, is_local
from ..dataset.schema import (
    ENGINE_VERSION,
    SCHEMA_VERSION,
    board_size,
    column_states,
    history_parts,
)
from ..engine import layout as L
from .core import (
    MOVE_TYPE_NAMES,
    PHASE_NAMES,
    EncodeConfig,
    GameEncoder,
    GameSpec,
    csr_concat,
    final_values,
    policy_elements,
    policy_shape,
)
from .npz import NpzWriter

EXPORT_VERSION = "2.1"
FEATURE_VERSION = 2
DEFAULT_SHARD_BYTES = 1 << 30
MAX_SHARD_SAMPLES = 250_000  # a reader unpickles a shard's policy arrays whole: keep them small
BUCKET_ROWS = 200_000
# samples encoded per call: small enough that a chunk's planes are still in
# cache when they are deflated
CHUNK_BYTES = 2 << 20

_READ_COLS = (
    "game_id",
    "board_type",
    "num_players",
    "step",
    "ply_to_end",
    "winner",
    "game_steps",
    "policy_index",
    "policy_prob",
    "history",
    "state",
)
ARRAY_ORDER = (
    "features",
    "globals",
    "values",
    "values_mp",
    "policy_indices",
    "policy_values",
    "move_numbers",
    "total_game_moves",
    "phases",
    "num_players",
    "player_numbers",
    "game_ids",
    "move_types",
)


@dataclass(frozen=True)
class ExportConfig:
    encoder: str = "v2"
    sample_every: int = 1
    history_length: int = 3
    policy: str = "soft"  # soft | onehot
    seed: int = 0
    shard_bytes: int = DEFAULT_SHARD_BYTES


# ---- inputs ---------------------------------------------------------------


def input_files(inputs: list[str]) -> list[str]:
    """The Parquet files of ``inputs``; a folder holding an aggregate stands
    for it alone (its parts hold the same samples)."""
    from ..dataset.inspect import select_sources

    return sorted(set(select_sources(list(inputs))[0]))


def _open_parquet(uri: str):
    try:
        fh = fsspec.open(uri, "rb").open()
        return fh, pq.ParquetFile(fh, page_checksum_verification=True)
    except FileNotFoundError:
        raise DataError(f"input not found: {uri}") from None
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise DataError(f"corrupt or unreadable input {uri}: {exc}") from None


def _check_meta(uri: str, pf) -> None:
    meta = pf.schema_arrow.metadata or {}
    ver = meta.get(b"ringrift.schema_version")
    if ver is None:
        raise DataError(f"{uri} is not a ringrift part (no schema version)")
    if int(ver) != SCHEMA_VERSION:
        raise DataError(f"{uri} has schema version {int(ver)}, expected {SCHEMA_VERSION}")
    ev = meta.get(b"ringrift.engine_version")
    if ev is not None and int(ev) != ENGINE_VERSION:
        raise DataError(
            f"{uri} was made by engine version {int(ev)}; this engine "
            f"(version {ENGINE_VERSION}) cannot replay its games exactly"
        )
    missing = [c for c in _READ_COLS if c not in pf.schema_arrow.names]
    if missing:
        raise DataError(f"{uri} lacks column(s) {', '.join(missing)}")


def _board_of(uri: str, pf) -> tuple[str, int] | None:
    for rg in range(pf.num_row_groups):
        t = pf.read_row_group(rg, columns=["board_type", "num_players"])
        if t.num_rows:
            return str(t.column(0)[0].as_py()), int(t.column(1)[0].as_py())
    return None


def check_inputs(files: list[str]) -> tuple[str, int]:
    """One board and player count across every input, or a one-line error
    naming two files that differ."""
    first = None
    for uri in files:
        parts.verify_file(uri)  # content digest and versions before anything is read
        fh, pf = _open_parquet(uri)
        try:
            _check_meta(uri, pf)
            try:
                got = _board_of(uri, pf)
            except (pa.ArrowInvalid, OSError) as exc:
                raise DataError(f"corrupt or unreadable input {uri}: {exc}") from None
        finally:
            fh.close()
        if got is None:
            continue
        if first is None:
            first = (uri, got)
        elif got != first[1]:
            raise DataError(
                f"inputs mix boards or player counts: {first[0]} is {first[1][0]} "
                f"{first[1][1]}p, {uri} is {got[0]} {got[1]}p"
            )
    if first is None:
        raise DataError(f"no samples in {', '.join(files)}")
    return first[1]


# ---- pass 1: scatter games and policies into buckets ------------------------

_GAME_SCHEMA = pa.schema(
    [
        ("game_id", pa.string()),
        ("winner", pa.int8()),
        ("game_steps", pa.int32()),
        ("history", pa.binary()),
        ("swap", pa.int32()),
        ("lps", pa.int32()),
        ("src", pa.int32()),
    ]
)
_POL_SCHEMA = pa.schema(
    [
        ("game_id", pa.string()),
        ("step", pa.int32()),
        ("policy_index", pa.list_(pa.int32())),
        ("policy_prob", pa.list_(pa.float32())),
    ]
)


def _bucket_of(ids: list[str], nb: int) -> np.ndarray:
    if nb == 1:
        return np.zeros(len(ids), dtype=np.int64)
    return np.fromiter((zlib.crc32(i.encode()) % nb for i in ids), dtype=np.int64, count=len(ids))


def _scatter(files: list[str], tmp: str) -> int:
    total = 0
    for uri in files:
        fh, pf = _open_parquet(uri)
        total += pf.metadata.num_rows
        fh.close()
    nb = max(1, -(-total // BUCKET_ROWS))
    gw = [ipc.new_stream(os.path.join(tmp, f"g{b}.arrow"), _GAME_SCHEMA) for b in range(nb)]
    pw = [ipc.new_stream(os.path.join(tmp, f"p{b}.arrow"), _POL_SCHEMA) for b in range(nb)]
    try:
        for src, uri in enumerate(files):
            fh, pf = _open_parquet(uri)
            try:
                for batch in pf.iter_batches(batch_size=16_384, columns=list(_READ_COLS)):
                    _scatter_batch(pa.Table.from_batches([batch]), src, nb, gw, pw)
            except (pa.ArrowInvalid, OSError, ValueError) as exc:
                raise DataError(f"corrupt or unreadable input {uri}: {exc}") from None
            finally:
                fh.close()
    finally:
        for w in gw + pw:
            w.close()
    return nb


def _scatter_batch(t: pa.Table, src: int, nb: int, gw, pw) -> None:
    term = pc.equal(t.column("ply_to_end"), 0)
    g = t.filter(term)
    if g.num_rows:
        size = board_size(g.column("board_type")[0].as_py(), g.column("num_players")[0].as_py())
        hdr = column_states(g.column("state").combine_chunks(), *size)[:, : L.HDR]
        if history_parts(g.column("history").combine_chunks()) is None:
            raise ValueError("a move history is not whole uint16 indices")
        gt = pa.table(
            {
                "game_id": g.column("game_id").cast(pa.string()),
                "winner": g.column("winner"),
                "game_steps": g.column("game_steps"),
                "history": g.column("history"),
                "swap": pa.array(hdr[:, L.SWAP_EN].astype(np.int32)),
                "lps": pa.array(hdr[:, L.LPS_REQ].astype(np.int32)),
                "src": pa.array(np.full(g.num_rows, src, dtype=np.int32)),
            },
            schema=_GAME_SCHEMA,
        )
        _write_buckets(gt, nb, gw)
    has_policy = pc.greater(pc.list_value_length(t.column("policy_index")), 0)
    p = t.filter(pc.and_(pc.invert(term), has_policy))
    if p.num_rows:
        pt = pa.table(
            {
                "game_id": p.column("game_id").cast(pa.string()),
                "step": p.column("step"),
                "policy_index": p.column("policy_index"),
                "policy_prob": p.column("policy_prob"),
            },
            schema=_POL_SCHEMA,
        )
        _write_buckets(pt, nb, pw)


def _write_buckets(t: pa.Table, nb: int, writers) -> None:
    b = _bucket_of(t.column("game_id").to_pylist(), nb)
    if nb == 1:
        writers[0].write_table(t)
        return
    for k in np.unique(b):
        writers[k].write_table(t.take(pa.array(np.flatnonzero(b == k))))


# ---- pass 2: games of one bucket --------------------------------------------


def _read_stream(path: str, schema) -> pa.Table:
    with ipc.open_stream(path) as rd:
        t = rd.read_all()
    return t if t.num_rows else schema.empty_table()


def _list_parts(col) -> tuple[np.ndarray, np.ndarray]:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    lens = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
    vals = arr.flatten().to_numpy(zero_copy_only=False)
    off = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=off[1:])
    return off, vals


def bucket_games(tmp: str, b: int, files: list[str], board_type: str, num_players: int, seed: int):
    """Yield (GameSpec, recorded winner) for the games of bucket b in a
    seeded order."""
    games = _read_stream(os.path.join(tmp, f"g{b}.arrow"), _GAME_SCHEMA)
    pols = _read_stream(os.path.join(tmp, f"p{b}.arrow"), _POL_SCHEMA)
    gids = games.column("game_id").to_pylist()
    if len(set(gids)) != len(gids):
        seen, dup = set(), None
        for x in gids:
            if x in seen:
                dup = x
                break
            seen.add(x)
        raise DataError(f"game {dup} appears twice in the inputs")
    pols = pols.take(pc.sort_indices(pols, [("game_id", "ascending"), ("step", "ascending")]))
    pg = pols.column("game_id").to_pylist()
    psteps = pols.column("step").to_numpy()
    ioff, ivals = _list_parts(pols.column("policy_index"))
    _, pvals = _list_parts(pols.column("policy_prob"))
    runs = {}
    i = 0
    while i < len(pg):
        j = i
        while j < len(pg) and pg[j] == pg[i]:
            j += 1
        runs[pg[i]] = (i, j)
        i = j
    known = set(gids)
    orphan = next((x for x in runs if x not in known), None)
    if orphan is not None:
        raise DataError(
            f"game {orphan} has no terminal sample in the inputs; tensors need "
            "whole games (each game's last row holds its move history)"
        )
    hvals, hoff = history_parts(games.column("history").combine_chunks())  # checked in pass 1
    winners = games.column("winner").to_numpy()
    gsteps = games.column("game_steps").to_numpy()
    swap = games.column("swap").to_numpy()
    lps = games.column("lps").to_numpy()
    src = games.column("src").to_numpy()
    order = np.argsort(np.array(gids, dtype=object), kind="stable")
    order = order[np.random.default_rng([int(seed) & 0xFFFFFFFF, b]).permutation(len(order))]
    for gi in order:
        gid = gids[gi]
        choices = hvals[hoff[gi] : hoff[gi + 1]].astype(np.int32)
        if len(choices) != int(gsteps[gi]):
            raise DataError(
                f"{files[src[gi]]}: game {gid} history holds {len(choices)} "
                f"steps, its rows say {int(gsteps[gi])}"
            )
        nsteps = len(choices)
        poff = np.zeros(nsteps + 1, dtype=np.int64)
        a, z = runs.get(gid, (0, 0))
        st = psteps[a:z]
        if len(st) and (st.min() < 0 or st.max() >= nsteps or np.any(np.diff(st) == 0)):
            raise DataError(f"{files[src[gi]]}: game {gid} has policy rows at bad steps")
        lens = ioff[a + 1 : z + 1] - ioff[a:z]
        poff[st + 1] = lens
        np.cumsum(poff, out=poff)
        pidx = ivals[ioff[a] : ioff[z]].astype(np.int32)
        pprob = pvals[ioff[a] : ioff[z]].astype(np.float32)
        spec = GameSpec(
            gid,
            board_type,
            num_players,
            choices,
            swap_rule=bool(swap[gi]),
            lps_rounds=int(lps[gi]) or 3,
            poff=poff,
            pidx=pidx,
            pprob=pprob,
        )
        yield spec, int(winners[gi]), files[src[gi]]


# ---- NPZ writing -------------------------------------------------------------


class _Spill:
    """The rows of one small array, appended to a scratch file as games come
    and read back in blocks when the shard closes: a shard's memory does not
    grow with its sample count."""

    def __init__(self, path: str, dtype):
        self.path = path
        self.fh = open(path, "w+b")
        self.dtype = np.dtype(dtype)
        self.row_shape: tuple = ()  # set by the first rows
        self.row_items = 1
        self.rows = 0

    def append(self, arr) -> None:
        arr = np.ascontiguousarray(arr, dtype=self.dtype)
        if self.rows == 0:
            self.row_shape = arr.shape[1:]
            self.row_items = int(np.prod(self.row_shape, dtype=np.int64))
        elif arr.shape[1:] != self.row_shape:
            raise ValueError(f"rows {arr.shape} do not fit {self.row_shape}")
        self.fh.write(memoryview(arr.reshape(-1)).cast("B"))
        self.rows += len(arr)

    def rewind(self) -> None:
        self.fh.flush()
        self.fh.seek(0)

    def read(self, rows: int) -> np.ndarray:
        """The next ``rows`` rows (after ``rewind``)."""
        buf = self.fh.read(rows * self.row_items * self.dtype.itemsize)
        return np.frombuffer(buf, dtype=self.dtype).reshape((rows,) + self.row_shape)

    def blocks(self, rows: int = 1 << 16):
        self.rewind()
        for a in range(0, self.rows, rows):
            yield self.read(min(rows, self.rows - a))

    def close(self) -> None:
        self.fh.close()
        os.unlink(self.path)


class ShardStage:
    """One shard being written: features stream straight into the staged
    .npz (deflated as they are encoded, never held whole); the other arrays
    are spilled to scratch files beside it and follow, block by block, when
    the shard closes. Memory stays flat whatever the shard's sample count."""

    def __init__(self, cfg: EncodeConfig, path: str):
        self.cfg = cfg
        self.path = path
        H = cfg.size
        self.fh = open(path, "wb")
        self.zw = NpzWriter(self.fh)
        self.features = self.zw.stream("features", np.float32, (cfg.channels, H, H))
        self.n = 0
        self.spills: dict[str, _Spill] = {}
        self.game_ids: list[tuple[str, int]] = []
        cols = {
            "globals": np.float32,
            "values": np.float32,
            "values_mp": np.float32,
            "move_numbers": np.int32,
            "total_game_moves": np.int32,
            "phases": np.int8,
            "num_players": np.int32,
            "player_numbers": np.int32,
            "move_types": np.int8,
            "pol_len": np.int64,  # the policy as CSR: entries per sample,
            "pol_idx": np.int32,  # their indices
            "pol_val": np.float32,  # and their values
        }
        for k, dt in cols.items():
            self.spills[k] = _Spill(f"{path}.{k}", dt)

    def add_game(
        self,
        glob,
        meta,
        pols,
        seat_value,
        vmp,
        total_moves,
        num_players,
        game_id,
    ) -> None:
        """The game's non-feature arrays (its features went to ``features``)."""
        n = len(meta)
        players = meta[:, 1].astype(np.int32)
        s = self.spills
        s["globals"].append(glob)
        s["values"].append(np.array([seat_value[int(p)] for p in players], dtype=np.float32))
        s["values_mp"].append(np.repeat(vmp[None, :], n, axis=0))
        s["move_numbers"].append(meta[:, 0])
        s["total_game_moves"].append(np.full(n, total_moves))
        s["num_players"].append(np.full(n, num_players))
        s["player_numbers"].append(players)
        s["phases"].append(meta[:, 2])
        s["move_types"].append(meta[:, 3])
        off, idx, val = pols
        s["pol_len"].append(np.diff(off))
        s["pol_idx"].append(idx[off[0] : off[-1]])
        s["pol_val"].append(val[off[0] : off[-1]])
        self.game_ids.append((game_id, n))
        self.n += n

    def _policy_blocks(self, name: str):
        """The elements of one policy array ("pol_idx" or "pol_val"), block
        by block of samples, rebuilt from the spilled CSR."""
        lens = self.spills["pol_len"]
        flat = self.spills[name]
        flat.rewind()
        for ln in lens.blocks():
            off = np.zeros(len(ln) + 1, dtype=np.int64)
            np.cumsum(ln, out=off[1:])
            yield from policy_elements(off, flat.read(int(off[-1])), self.cfg.soft, flat.dtype)

    def close(self, scalars: dict) -> None:
        if self.features.rows != self.n:
            raise RuntimeError(
                f"shard holds {self.features.rows} feature rows for {self.n} samples"
            )
        self.features.close()
        names = {"phases": PHASE_NAMES, "move_types": MOVE_TYPE_NAMES}
        for k in ARRAY_ORDER[1:]:
            if k in ("policy_indices", "policy_values"):
                shape = policy_shape(self.n, self.cfg.soft)
                src = "pol_idx" if k == "policy_indices" else "pol_val"
                self.zw.add_objects(k, shape, self._policy_blocks(src))
            elif k == "game_ids":
                ids = (g for g, m in self.game_ids for _ in range(m))
                self.zw.add_objects(k, (self.n,), ids)
            elif k in names:  # object arrays of str, as the reference writes them
                sp, table = self.spills[k], names[k]
                self.zw.add_objects(k, (self.n,), (x for b in sp.blocks() for x in table[b]))
            else:
                sp = self.spills[k]
                e = self.zw.stream(k, sp.dtype, sp.row_shape)
                for blk in sp.blocks():
                    e.write(blk)
                e.close()
        for k, v in scalars.items():
            self.zw.add(k, np.asarray(v))
        self.zw.close()
        self.fh.close()
        self._drop_spills()

    def _drop_spills(self) -> None:
        for sp in self.spills.values():
            sp.close()
        self.spills = {}

    def abort(self) -> None:
        """Close the staged file (written or not; the caller removes it)."""
        self.fh.close()
        self._drop_spills()


def _scalars(cfg: EncodeConfig, board_type: str) -> dict:
    return {
        "board_type": board_type,
        "board_size": int(cfg.size),
        "history_length": int(cfg.history_length),
        "feature_version": FEATURE_VERSION,
        "policy_encoding": "board_aware",
        "encoder_version": cfg.encoder_version,
        "in_channels": int(cfg.channels),
        "export_version": EXPORT_VERSION,
        "sample_every": int(cfg.sample_every),
        "policy_target": "soft" if cfg.soft else "onehot",
    }


# ---- output: one file or shards, published at the end ----------------------


def _output_plan(output: str):
    """(single_file?, fs, root path, protocol prefix)."""
    try:
        fs, path = fsspec.core.url_to_fs(output)
    except (ValueError, ImportError) as exc:
        raise DataError(f"unsupported output URI {output!r}: {exc}") from None
    proto = output.split("://")[0] + "://" if "://" in output else ""
    return output.endswith(".npz"), fs, path.rstrip("/"), proto


def shard_name(i: int) -> str:
    return f"shard_{i:05d}.npz"


def _publish(staged: list[str], output: str, single: bool, fs, root: str) -> list[str]:
    local = is_local(fs)
    dests = [root] if single else [f"{root}/{shard_name(i)}" for i in range(len(staged))]
    if local:
        os.makedirs(os.path.dirname(os.path.abspath(dests[0])), exist_ok=True)
        if not single and os.path.exists(root) and not os.path.isdir(root):
            raise DataError(f"output {root} exists and is not a folder")
    for src, dst in zip(staged, dests):
        os.chmod(src, 0o644)
        if local:
            try:
                os.replace(src, dst)
            except OSError:  # another filesystem: copy next to it, then rename
                tmp = dst + ".tmp"
                shutil.copyfile(src, tmp)
                os.replace(tmp, dst)
        else:
            fs.put_file(src, dst)  # one object write: visible complete or not at all
    if not single:  # stale shards of an earlier, longer run would mix in
        try:
            old = [
                p
                for p in fs.ls(root, detail=False)
                if os.path.basename(p).startswith("shard_") and p.endswith(".npz")
            ]
        except (FileNotFoundError, OSError):
            old = []
        keep = {os.path.basename(d) for d in dests}
        for p in old:
            if os.path.basename(p) not in keep:
                fs.rm(p)
    return dests


def export_tensors(
    inputs: list[str],
    output: str,
    cfg: ExportConfig = ExportConfig(),
    *,
    scratch: str | None = None,
    progress=None,
) -> dict:
    t0 = time.perf_counter()
    if cfg.policy not in ("soft", "onehot"):
        raise DataError(f"unknown policy target {cfg.policy!r}; valid: soft, onehot")
    if cfg.sample_every < 1:
        raise DataError(f"--sample-every must be >= 1, got {cfg.sample_every}")
    if cfg.history_length < 0:
        raise DataError(f"--history must be >= 0, got {cfg.history_length}")
    files = input_files(inputs)
    board_type, num_players = check_inputs(files)
    try:
        ecfg = EncodeConfig(
            board_type,
            encoder=cfg.encoder,
            sample_every=cfg.sample_every,
            history_length=cfg.history_length,
            soft=cfg.policy == "soft",
        )
        ecfg.kind
    except ValueError as exc:
        raise DataError(str(exc)) from None
    single, fs, root, _proto = _output_plan(output)
    if is_local(fs) and scratch is None:
        # stage beside the output (same filesystem: publishing is a rename)
        parent = os.path.dirname(os.path.abspath(root))
        os.makedirs(parent, exist_ok=True)
        scratch = parent
    tmp = tempfile.mkdtemp(prefix=".tmp-tensors-", dir=scratch)
    stage = None
    try:
        nb = _scatter(files, tmp)
        enc = GameEncoder(ecfg, chunk_bytes=CHUNK_BYTES)
        scalars = _scalars(ecfg, board_type)
        staged: list[str] = []
        per_sample = ecfg.sample_bytes()
        shard_samples = max(1, min(MAX_SHARD_SAMPLES, cfg.shard_bytes // per_sample))
        stats = {"games": 0, "games_without_winner": 0, "samples": 0}
        for b in range(nb):
            for spec, winner, src in bucket_games(tmp, b, files, board_type, num_players, cfg.seed):
                if winner == 0:  # the reference drops games without a winner
                    stats["games_without_winner"] += 1
                    continue
                if stage is None:
                    stage = ShardStage(ecfg, os.path.join(tmp, f"s{len(staged)}.npz"))
                glob, meta, pols = [], [], []
                gen = enc.chunks(spec)
                try:
                    while True:
                        ch = next(gen)
                        stage.features.write(ch.features)
                        glob.append(ch.globals.copy())
                        meta.append(ch.meta.copy())
                        pols.append((ch.pol_off.copy(), ch.pol_idx.copy(), ch.pol_val.copy()))
                except StopIteration as stop:
                    final = stop.value
                except ValueError as exc:
                    raise DataError(f"{src}: game {spec.game_id} does not replay: {exc}") from None
                got, vmp, seat_value = final_values(final, num_players)
                if got != winner:
                    raise DataError(
                        f"{src}: game {spec.game_id} replays to winner {got}, its rows say {winner}"
                    )
                stats["games"] += 1
                if meta:
                    stage.add_game(
                        np.concatenate(glob),
                        np.concatenate(meta),
                        csr_concat(pols),
                        seat_value,
                        vmp,
                        len(spec.choices),
                        num_players,
                        spec.game_id,
                    )
                if progress:
                    progress(stats["games"], stats["samples"] + stage.n)
                if not single and stage.n >= shard_samples:
                    stats["samples"] += stage.n
                    stage.close(scalars)
                    staged.append(stage.path)
                    stage = None
        if stage is not None and stage.n:
            stats["samples"] += stage.n
            stage.close(scalars)
            staged.append(stage.path)
        if not staged:
            raise DataError(
                f"no samples to write: {stats['games_without_winner']} game(s), none with a winner"
            )
        dests = _publish(staged, output, single, fs, root)
    finally:
        if stage is not None:
            stage.abort()
        shutil.rmtree(tmp, ignore_errors=True)
    dt = time.perf_counter() - t0
    return {
        **stats,
        "board_type": board_type,
        "num_players": num_players,
        "encoder": ecfg.encoder_version if board_type.startswith("hex") else "square",
        "policy": cfg.policy,
        "sample_every": cfg.sample_every,
        "outputs": [_proto + d if _proto and not d.startswith(_proto) else d for d in dests],
        "seconds": dt,
        "samples_per_s": stats["samples"] / dt if dt else 0.0,
    }
