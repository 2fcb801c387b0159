"""RingRift self-play training data: Numba rules engine, players, pipeline."""

import hashlib
import os
from pathlib import Path

__version__ = "0.1.0"


def _numba_cache_dir() -> str:
    """Numba checks only the file a cached function lives in, so a change in a
    module it calls would reuse stale machine code. Keying the cache folder by
    a digest of the whole package's source makes any edit start a fresh cache."""
    root = Path(__file__).resolve().parent
    h = hashlib.blake2b(digest_size=8)
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return str(base / "ringrift" / "numba" / h.hexdigest())


# An explicit NUMBA_CACHE_DIR (e.g. the one baked into the image) wins.
os.environ.setdefault("NUMBA_CACHE_DIR", _numba_cache_dir())
