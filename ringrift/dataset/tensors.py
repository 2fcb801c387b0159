"""Numpy-only reader of training-tensor NPZ files (``ringrift tensors`` output
or the reference exporter's files): shuffled batches across shards.

    from ringrift.dataset.tensors import TensorShards
    data = TensorShards("tensors/sq8/", batch_size=256, seed=1)   # folder, prefix, file(s)
    for b in data:            # one pass; iterate again for the next epoch (new order)
        b["features"]         # (B, C, H, W) float32
        b["globals"]          # (B, 20) float32
        b["values"]           # (B,) float32 (values_mp=True: (B, 4))
        b["policy"]           # policy="dense": (B, policy_size) float32
        b["policy_rows"], b["policy_index"], b["policy_prob"]   # policy="sparse" (COO)

Shards are visited in a seeded random order (a different one each epoch) and
each shard's samples are permuted; a batch never spans two shards unless
``mix`` > 1 shards are held at once (then samples of ``mix`` shards are
shuffled together). ``part=(k, n)`` keeps every n-th shard from the k-th, to
split shards among DataLoader workers. Memory: ``mix`` decompressed shards.
"""

from __future__ import annotations

import os

import fsspec
import numpy as np

POLICY_SIZES = {"square8": 7000, "square19": 67000, "hex8": 4500, "hexagonal": 91876}


def shard_paths(paths) -> list[str]:
    """Expand files, folders and prefixes into a sorted list of .npz files."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for p in map(os.fspath, paths):
        fs, root = fsspec.core.url_to_fs(p)
        proto = p.split("://")[0] + "://" if "://" in p else ""
        if fs.isdir(root):
            out += [
                proto + f
                for f in sorted(fs.find(root))
                if f.endswith(".npz") and not f.rsplit("/", 1)[-1].startswith(".")
            ]
        elif fs.exists(root):
            out.append(p)
        else:
            out += [proto + f for f in sorted(fs.glob(root + "*.npz"))]
    if not out:
        raise FileNotFoundError(f"no .npz files under {', '.join(paths)}")
    return out


def _load(path: str) -> dict:
    with fsspec.open(path, "rb") as fh:
        with np.load(fh, allow_pickle=True) as z:
            return {k: z[k] for k in z.files}


def _flat_policy(pi, pv):
    """Object policy arrays ((N,) of arrays, or the reference's (N, 1)) ->
    CSR (offsets, indices int64, probs float32)."""
    n = len(pi)
    lens = np.fromiter((np.size(x) for x in pi), dtype=np.int64, count=n)
    off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=off[1:])
    if pi.ndim == 2:  # (N, k) of scalars
        idx = np.asarray(pi, dtype=np.int64).reshape(-1)
        val = np.asarray(pv, dtype=np.float32).reshape(-1)
    else:
        idx = (
            np.concatenate([np.asarray(x, dtype=np.int64).reshape(-1) for x in pi])
            if n
            else np.zeros(0, np.int64)
        )
        val = (
            np.concatenate([np.asarray(x, dtype=np.float32).reshape(-1) for x in pv])
            if n
            else np.zeros(0, np.float32)
        )
    return off, idx, val


class TensorShards:
    def __init__(
        self,
        paths,
        *,
        batch_size: int = 256,
        seed: int = 0,
        shuffle: bool = True,
        policy: str = "sparse",
        values_mp: bool = False,
        drop_last: bool = False,
        mix: int = 1,
        part: tuple[int, int] = (0, 1),
    ):
        if policy not in ("sparse", "dense"):
            raise ValueError(f"policy must be 'sparse' or 'dense', got {policy!r}")
        k, n = part
        self.paths = shard_paths(paths)[k::n]
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.policy = policy
        self.values_mp = values_mp
        self.drop_last = drop_last
        self.mix = max(1, int(mix))
        self.epoch = 0
        head = _load_meta(self.paths[0])
        self.board_type = str(head["board_type"])
        self.policy_size = POLICY_SIZES.get(self.board_type, 0)
        self.in_channels = int(head["in_channels"])

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        order = rng.permutation(len(self.paths)) if self.shuffle else np.arange(len(self.paths))
        for g in range(0, len(order), self.mix):
            group = [_load(self.paths[i]) for i in order[g : g + self.mix]]
            yield from self._batches(group, rng)

    def _batches(self, group, rng):
        def cat(key):
            arrs = [d[key] for d in group]
            return arrs[0] if len(arrs) == 1 else np.concatenate(arrs)

        feats = cat("features")
        glob = cat("globals")
        vals = cat("values_mp" if self.values_mp else "values").astype(np.float32)
        off, pidx, pprob = _flat_policy(cat("policy_indices"), cat("policy_values"))
        total = len(feats)
        perm = rng.permutation(total) if self.shuffle else np.arange(total)
        bs = self.batch_size
        for b0 in range(0, total, bs):
            sel = perm[b0 : b0 + bs]
            if len(sel) < bs and self.drop_last:
                break
            out = {"features": feats[sel], "globals": glob[sel], "values": vals[sel]}
            lens = off[sel + 1] - off[sel]
            rows = np.repeat(np.arange(len(sel), dtype=np.int64), lens)
            # positions of each selected sample's policy entries in the flat arrays
            pos = np.repeat(
                off[sel] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens
            ) + np.arange(int(lens.sum()), dtype=np.int64)
            idx, prob = pidx[pos], pprob[pos]
            if self.policy == "dense":
                dense = np.zeros((len(sel), self.policy_size), dtype=np.float32)
                np.add.at(dense, (rows, idx), prob)
                out["policy"] = dense
            else:
                out["policy_rows"], out["policy_index"], out["policy_prob"] = rows, idx, prob
            yield out


def _load_meta(path: str) -> dict:
    with fsspec.open(path, "rb") as fh:
        with np.load(fh, allow_pickle=False) as z:
            return {k: z[k] for k in ("board_type", "in_channels") if k in z.files}


def iter_batches(paths, **kw):
    """One pass of shuffled batches (see TensorShards)."""
    return iter(TensorShards(paths, **kw))
