"""`ringrift warmup` compiles one layer of the call graph per child process
(ringrift/warmup.py). The layers below the game loop must call their functions
with the argument types the game loop passes, else the game loop's layer
compiles other specialisations of them and holds the whole compile again; and
after the warm-up the dataset jobs must find everything they run compiled."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ringrift  # noqa: F401  (sets NUMBA_CACHE_DIR)
from ringrift.warmup import CALL_LAYERS, PACKAGE, is_marked, source_stamp

# In a fresh process whose cache has everything but the game loop: compile the
# game loop (it types every function it calls, loading each from the cache),
# then compare each layer's argument types with the signatures the loop typed.
TYPES = """
import json, tempfile
from ringrift import warmup
with tempfile.TemporaryDirectory() as folder:  # the layer's parts go there
    warmup.warm_layer("games", folder)
seen = {}
for layer in warmup.CALL_LAYERS:
    for fn, args in warmup.layer_calls(layer):
        want = str(tuple(fn.typeof_pyval(a) for a in args))
        seen[f"{layer}: {fn.__name__}"] = [want, [str(s) for s in fn.signatures]]
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def warm_cache() -> Path:
    """This code's Numba cache folder, after `ringrift warmup`."""
    run = subprocess.run(
        [sys.executable, "-m", "ringrift", "warmup"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("numba cache warm in ")
    return Path(os.environ["NUMBA_CACHE_DIR"])


def _files(folder: Path) -> dict:
    return {str(f.relative_to(folder)): f.read_bytes() for f in folder.rglob("*") if f.is_file()}


def test_warmup_layers_use_the_game_loops_argument_types(warm_cache, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(warm_cache, cache)
    gone = [
        f
        for pattern in ("*/game.play_game-*", "*/select.select_move-*")
        for f in cache.glob(pattern)
    ]
    assert gone, "the warm-up cached no game loop"
    for f in gone:
        f.unlink()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", TYPES], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.splitlines()[-1])
    assert {name.split(":")[0] for name in seen} == set(CALL_LAYERS)
    for name, (want, typed) in seen.items():
        # one signature: the loop's, and the layer's arguments have its types
        assert typed == [want], f"{name}: the layer calls {want}, the game loop {typed}"


# The workflow's dataset commands on another board, player count and modes
# than the warm-up's: after the warm-up they only load compiled code.
JOBS = """
import sys
from ringrift.cli import main
d = sys.argv[1]
for argv in (
    ["selfplay", "--quiet", "--num-games", "2", "--board-type", "hex8", "--num-players", "3",
     "--engine-mode", "mixed", "--difficulty-band", "full", "--output", f"{d}/p.parquet"],
    ["aggregate", f"{d}/p.parquet", "--output", f"{d}/c.parquet", "--seed", "4"],
    ["moves", f"{d}/p.parquet", "--output", f"{d}/m.parquet"],
    ["export", "--chunk", "0/2", f"{d}/c.parquet", "--moves", f"{d}/m.parquet",
     "--output", f"{d}/e.jsonl.gz"],
    ["tensors", "--encoder", "v3", "--policy", "onehot", "--seed", "4", "--output", f"{d}/t",
     f"{d}/c.parquet"],
    ["verify", f"{d}/c.parquet"],
):
    assert main(argv) == 0, argv
"""


def test_after_the_warmup_dataset_jobs_compile_nothing(warm_cache, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(warm_cache, cache)
    before = _files(cache)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    run = subprocess.run(
        [sys.executable, "-c", JOBS, str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "t").is_dir() and (tmp_path / "e.jsonl.gz").stat().st_size > 0
    after = _files(cache)
    assert sorted(set(after) - set(before)) == [], "compiled after the warm-up"
    assert [f for f in before if after[f] != before[f]] == [], "recompiled after the warm-up"


def test_a_warm_cache_is_not_compiled_again(tmp_path):
    """The start hook calls `ringrift warmup` on every run: with this host's
    marker in the cache folder it returns at once and compiles nothing (an
    empty cache would take minutes and fill the folder)."""
    cache = tmp_path / "cache"
    marker = cache / "warm" / socket.gethostname()
    marker.parent.mkdir(parents=True)
    marker.write_text(f"{source_stamp()}\nengine\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    run = subprocess.run(
        [sys.executable, "-m", "ringrift", "warmup"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("numba cache warm in ")
    assert sorted(str(p.relative_to(cache)) for p in cache.rglob("*")) == [
        "warm",
        f"warm/{socket.gethostname()}",
    ]


def test_a_marker_of_other_source_files_is_not_trusted(tmp_path):
    """Numba loads a cached function only for the same source path, time and
    size, while the cache folder is named by the source alone: the same code
    cloned again or elsewhere finds the folder and its marker, with nothing
    in it Numba will load. Such a marker (an older one, without the stamp)
    makes the warm-up compile: it takes the lock, which the fast path never
    does; the compile itself is stopped there."""
    cache = tmp_path / "cache"
    marker = cache / "warm" / socket.gethostname()
    marker.parent.mkdir(parents=True)
    marker.write_text("engine heuristic minimax mcts games moves export tensors\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    warm = subprocess.Popen(
        [sys.executable, "-m", "ringrift", "warmup"], env=env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not (cache / "warm" / ".lock").exists() and warm.poll() is None:
            assert time.monotonic() < deadline, "the warm-up neither compiled nor returned"
            time.sleep(0.05)
        assert (cache / "warm" / ".lock").exists(), "trusted a marker of other source files"
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have returned
            os.killpg(warm.pid, signal.SIGKILL)
        warm.wait()
    assert is_marked(cache / "warm" / "x", "0") is False  # no marker: not warm


def test_the_source_stamp_follows_what_numba_checks(tmp_path):
    """The same source elsewhere, or with another file time (a fresh clone),
    has another stamp; unchanged files keep theirs."""
    copy = tmp_path / "ringrift"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    first = source_stamp(copy)
    assert source_stamp(copy) == first != source_stamp()
    f = copy / "warmup.py"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert source_stamp(copy) != first
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert source_stamp(copy) == first
