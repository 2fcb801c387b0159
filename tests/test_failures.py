"""What fails, and how (docs/failures.md): every command reports a bad
destination, an unreachable store, missing credentials, a bad argument or a
corrupt file as one line naming it and exits non-zero, before any work is done
and without leftovers; nothing recorded holds a URI's credentials; a killed
LAN run leaves no forwarded secret in Snakemake's job scripts.

Real components throughout: the CLI in a subprocess, moto_server and the GCS
emulator on 127.0.0.1, closed and silent loopback ports for a store that is
down, an HTTP server for a profile URL, and a real sshd for the LAN profile.
"""

import contextlib
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import (  # noqa: E402,F401
    FAKE_KEY,
    FAKE_SECRET,
    MINI,
    REPO,
    base_env,
    checkout,
    free_port,
    gcs_server,
    s3_server,
    ssh_server,
)

SCRIPTS = REPO / "workflow" / "scripts"
# More games than any of these commands could play in the time they are given:
# a check that runs after the games shows up as a timeout.
MANY = "100000"


def ringrift(*args, env=None, timeout=120):
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "ringrift", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    p.seconds = time.perf_counter() - t0
    return p


def one_line_error(p, *words):
    """Exit code non-zero and exactly one line on stderr, containing ``words``."""
    assert p.returncode != 0, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def no_credentials_env(tmp_path, **extra):
    """No AWS credentials anywhere (env, files, instance metadata)."""
    none = str(tmp_path / "no-such-aws-file")
    return base_env(
        AWS_SHARED_CREDENTIALS_FILE=none,
        AWS_CONFIG_FILE=none,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
        **extra,
    )


@contextlib.contextmanager
def silent_port():
    """A port that accepts connections (the kernel completes them from the
    backlog) and never answers: a store that hangs."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """Two small parts of different workers and their aggregate."""
    d = tmp_path_factory.mktemp("parts")
    out = []
    for w in (0, 1):
        part = d / "selfplay" / f"worker_{w}" / "part_00000.parquet"
        p = ringrift(
            "selfplay",
            "--num-games",
            3,
            "--engine-mode",
            "random",
            "--seed",
            w + 1,
            "--worker-id",
            f"w{w}",
            "--output",
            part,
            "--quiet",
            timeout=600,
        )
        assert p.returncode == 0, p.stderr
        out.append(part)
    agg = d / "ds" / "combined_training.parquet"
    p = ringrift("aggregate", *out, "--output", agg, "--seed", 3)
    assert p.returncode == 0, p.stderr
    return {"dir": d, "parts": out, "aggregate": agg}


# ------------------------------------------- 5: check the destination first ---


def test_selfplay_to_s3_without_credentials_fails_before_the_first_game(tmp_path, s3_server):
    env = no_credentials_env(tmp_path, AWS_ENDPOINT_URL=s3_server.endpoint)
    p = ringrift(
        "selfplay",
        "--num-games",
        MANY,
        "--engine-mode",
        "random",
        "--output",
        f"s3://{s3_server.bucket}/nocreds/part.parquet",
        env=env,
    )
    one_line_error(p, "credentials", f"s3://{s3_server.bucket}/nocreds/part.parquet")
    assert not s3_server.fs().exists(f"{s3_server.bucket}/nocreds")


def test_selfplay_to_a_missing_gcs_bucket_fails_before_the_first_game(gcs_server):
    env = base_env(**gcs_server.env())
    p = ringrift(
        "selfplay",
        "--num-games",
        MANY,
        "--engine-mode",
        "random",
        "--output",
        "gs://no-such-bucket/x/part.parquet",
        env=env,
    )
    one_line_error(p, "gs://no-such-bucket/x/part.parquet", "no bucket no-such-bucket")


def test_check_writable_probes_without_leaving_anything(s3_server, gcs_server, monkeypatch):
    from ringrift import storage

    for k, v in {
        **s3_server.env(),
        **gcs_server.env(),
        "AWS_ENDPOINT_URL": s3_server.endpoint,
    }.items():
        monkeypatch.setenv(k, v)
    storage.check_writable(f"s3://{s3_server.bucket}/probe/part.parquet", timeout=30)
    storage.check_writable(f"gs://{gcs_server.bucket}/probe/part.parquet", timeout=30)
    # S3: the probe is a multipart upload of the key itself, aborted
    client = s3_server.client()
    assert not client.list_multipart_uploads(Bucket=s3_server.bucket).get("Uploads")
    assert not s3_server.fs().exists(f"{s3_server.bucket}/probe")
    import gcsfs

    gfs = gcsfs.GCSFileSystem(endpoint_url=gcs_server.endpoint, token="anon")
    assert not gfs.exists(f"{gcs_server.bucket}/probe/part.parquet")


def test_check_writable_local_and_pluggable(tmp_path):
    from ringrift import storage

    storage.check_writable(str(tmp_path / "new" / "folder" / "part.parquet"))
    folder = tmp_path / "new" / "folder"
    assert folder.is_dir() and not list(folder.iterdir())
    with pytest.raises(storage.StorageError, match="is a folder"):
        storage.check_writable(str(tmp_path))
    (tmp_path / "file").write_text("x")
    with pytest.raises(storage.StorageError, match="is a file, not a folder"):
        storage.check_writable(str(tmp_path / "file" / "sub" / "part.parquet"))
    seen = []
    storage.register_write_check("memory", lambda uri, timeout: seen.append((uri, timeout)))
    try:
        storage.check_writable("memory://bucket/part.parquet", timeout=7)
    finally:
        storage.WRITE_CHECKS.pop("memory")
    assert seen == [("memory://bucket/part.parquet", 7)]


# ------------------------------------------------------ 6: fail fast ---


@pytest.mark.parametrize("store", ["gs", "s3"])
def test_unreachable_store_fails_fast_in_one_line(tmp_path, store):
    port = free_port()  # nobody listens
    endpoint = f"http://127.0.0.1:{port}"
    env = base_env(
        STORAGE_EMULATOR_HOST=endpoint,
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=FAKE_KEY,
        AWS_SECRET_ACCESS_KEY=FAKE_SECRET,
        AWS_DEFAULT_REGION="us-east-1",
        GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT="false",
    )
    p = ringrift("inspect", f"{store}://nobucket/x/", env=env, timeout=60)
    one_line_error(p, f"cannot reach {store}://nobucket/x/", f"127.0.0.1:{port}")
    assert p.seconds < 15, p.seconds
    p = ringrift(
        "selfplay",
        "--num-games",
        MANY,
        "--engine-mode",
        "random",
        "--output",
        f"{store}://nobucket/x/part.parquet",
        env=env,
        timeout=60,
    )
    one_line_error(p, "cannot reach", f"127.0.0.1:{port}")
    assert p.seconds < 30, p.seconds


@pytest.mark.parametrize("store", ["gs", "s3"])
def test_a_store_that_never_answers_is_given_a_time_limit(store):
    with silent_port() as port:
        endpoint = f"http://127.0.0.1:{port}"
        env = base_env(
            STORAGE_EMULATOR_HOST=endpoint,
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID=FAKE_KEY,
            AWS_SECRET_ACCESS_KEY=FAKE_SECRET,
            AWS_DEFAULT_REGION="us-east-1",
            GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT="false",
            RINGRIFT_STORAGE_TIMEOUT="3",
        )
        p = ringrift("inspect", f"{store}://bucket/x/", env=env, timeout=60)
    one_line_error(p, f"{store}://bucket/x/", "within 3 s")
    assert p.seconds < 20, p.seconds


# --------------------------------------------- 7: one line, no leftovers ---


def test_bad_arguments_are_one_line(tmp_path):
    out = tmp_path / "p.parquet"
    for args, words in [
        (["selfplay", "--num-games", 2, "--seed", -5, "--output", out], ["--seed", "-5"]),
        (
            ["selfplay", "--num-games", 2, "--max-moves", "99999999999999999999", "--output", out],
            ["--max-moves", "99999999999999999999"],
        ),
        (["selfplay", "--num-games", 0, "--output", out], ["--num-games"]),
        (
            ["selfplay", "--num-games", 5, "--game-offset", 2**31 - 2, "--output", out],
            ["--game-offset"],
        ),
        (["play", "--games", 1, "--seed", -1], ["--seed"]),
        (["play", "--games", 1, "--max-moves", 2**40], ["--max-moves"]),
        (
            ["aggregate", out, "--output", tmp_path / "a.parquet", "--scratch", "/nonexistent"],
            ["--scratch", "/nonexistent"],
        ),
        (["cost", "--games", 10, "--seconds", 0], ["--seconds"]),
    ]:
        p = ringrift(*args, timeout=60)
        one_line_error(p, *words)
        assert p.returncode == 2
    assert not out.exists()


def test_outputs_that_cannot_be_written_are_one_line_and_leave_nothing(parts, tmp_path):
    part = parts["parts"][0]
    folder = tmp_path / "out"
    (folder / "dir.parquet").mkdir(parents=True)
    (folder / "a_file").write_text("not a folder")
    cases = [
        (["aggregate", part, "--output", folder / "dir.parquet"], "is a folder"),
        (["aggregate", part, "--output", folder / "a_file" / "x.parquet"], "a_file is a file"),
        (["export", part, "--output", folder / "dir.parquet"], "is a folder"),
        (["summarize", part, "--output", folder / "dir.parquet"], "is a folder"),
        (["summarize", part, "--output", folder / "a_file" / "s.json"], "a_file is a file"),
        (
            [
                "selfplay",
                "--num-games",
                MANY,
                "--engine-mode",
                "random",
                "--output",
                folder / "a_file" / "p.parquet",
            ],
            "a_file is a file",
        ),
    ]
    for args, words in cases:
        p = ringrift(*args, timeout=60)
        one_line_error(p, words)
    assert sorted(x.name for x in folder.iterdir()) == ["a_file", "dir.parquet"]
    assert not list((folder / "dir.parquet").iterdir())


def test_aggregate_into_a_folder_leaves_no_temporary_file(parts, tmp_path):
    from ringrift.dataset.aggregate import aggregate
    from ringrift.dataset.parts import DataError

    target = tmp_path / "dir.parquet"
    target.mkdir()
    with pytest.raises(DataError, match="dir.parquet is a folder"):
        aggregate([str(p) for p in parts["parts"]], str(target), 1)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["dir.parquet"]


def test_commands_without_s3_credentials_are_one_line(parts, tmp_path, s3_server):
    s3_server.fs().put(str(parts["parts"][0]), f"{s3_server.bucket}/creds/part.parquet")
    url = f"s3://{s3_server.bucket}/creds/part.parquet"
    env = no_credentials_env(tmp_path, AWS_ENDPOINT_URL=s3_server.endpoint)
    for args in (
        ["inspect", url],
        ["summarize", url],
        ["plots", url, "--outdir", tmp_path / "pl"],
        ["export", url, "--output", tmp_path / "x.jsonl.gz"],
        ["aggregate", url, "--output", tmp_path / "a.parquet"],
        ["aggregate", parts["parts"][0], "--output", url.replace("part", "agg")],
        ["tune", "ask", "--run-dir", f"s3://{s3_server.bucket}/run", "--generation", 0],
    ):
        p = ringrift(*args, env=env, timeout=60)
        one_line_error(p, "credentials")
    assert not list(tmp_path.iterdir())  # nothing written locally either


# ------------------------------------------------- 8: inspect a folder ---


def test_inspect_a_results_folder_reads_the_aggregate_not_both(parts):
    agg_rows = pq.read_metadata(parts["aggregate"]).num_rows
    part_rows = sum(pq.read_metadata(p).num_rows for p in parts["parts"])
    assert agg_rows == part_rows
    p = ringrift("inspect", parts["dir"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].startswith("reading 1 aggregate (skipping 2 parts")
    assert f", {agg_rows} samples" in p.stdout
    p = ringrift("inspect", parts["dir"] / "selfplay")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == "reading 2 parts"
    assert f"2 file(s), 6 games, {part_rows} samples" in p.stdout
    p = ringrift("summarize", parts["dir"])
    assert p.returncode == 0, p.stderr
    st = json.loads(p.stdout)
    assert st["samples"] == agg_rows and st["source"].startswith("reading 1 aggregate")


def corrupt_column(src: Path, dst: Path, column: str) -> None:
    """Flip bytes in the middle of one column chunk's compressed pages."""
    data = bytearray(src.read_bytes())
    rg = pq.ParquetFile(src).metadata.row_group(0)
    chunk = next(
        rg.column(j)
        for j in range(rg.num_columns)
        if rg.column(j).path_in_schema.split(".")[0] == column
    )
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    mid = start + chunk.total_compressed_size // 2
    for k in range(mid, mid + 8):
        data[k] ^= 0xFF
    dst.write_bytes(bytes(data))


def test_inspect_names_a_truncated_or_corrupt_file(parts, tmp_path):
    good = parts["parts"][1]
    for name, make in [
        (
            "truncated",
            lambda src, dst: dst.write_bytes(src.read_bytes()[: len(src.read_bytes()) // 2]),
        ),
        # a column inspect's statistics never select: only a full read sees it
        ("zstd", lambda src, dst: corrupt_column(src, dst, "history")),
    ]:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "part_good.parquet").write_bytes(good.read_bytes())
        bad = folder / "part_bad.parquet"
        make(parts["parts"][0], bad)
        p = ringrift("inspect", folder)
        line = one_line_error(p, str(bad))
        assert "corrupt" in line
        # aggregate refuses the same file
        p = ringrift(
            "aggregate", bad, folder / "part_good.parquet", "--output", tmp_path / f"{name}.parquet"
        )
        one_line_error(p, str(bad))


# ---------------------------------------------- 10: conformance, no games ---


def test_conformance_on_a_file_without_games_is_an_error(tmp_path):
    for name, text in (("empty.jsonl", ""), ("blank.jsonl", "\n\n")):
        f = tmp_path / name
        f.write_text(text)
        p = ringrift("conformance", f)
        one_line_error(p, str(f), "no games")
        assert "0 passed, 0 failed" not in p.stdout


# --------------------------------------------------- 12: cost, real path ---


def test_cost_measures_the_worker_path(tmp_path):
    """`ringrift cost` times what a self-play job does (play, sample, write a
    part): its games/hour matches the worker's own pace, not bare play."""
    p = ringrift(
        "cost",
        "--games",
        1000,
        "--engine-mode",
        "random",
        "--seconds",
        2,
        "--workers",
        1,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    gph = float(re.search(r"measured: ([\d,]+) games/hour", p.stdout).group(1).replace(",", ""))
    m = re.search(r"samples: ([\d.]+) per game, (\d+) bytes/sample", p.stdout)
    assert m and float(m.group(1)) > 5 and int(m.group(2)) > 0, p.stdout
    # the worker, warm, in this process: a 300-game part
    from ringrift.selfplay.worker import WorkerConfig, run_worker

    cfg = dict(board_type="square8", num_players=2, engine_mode="random", seed=5, worker_id="t")
    run_worker(WorkerConfig(num_games=1, output=str(tmp_path / "w.parquet"), **cfg))
    t0 = time.perf_counter()
    run_worker(WorkerConfig(num_games=300, output=str(tmp_path / "p.parquet"), **cfg))
    worker_gph = 300 / (time.perf_counter() - t0) * 3600
    # bare play (what cost used to time) is ~4-5x the worker's pace
    assert gph < 2.5 * worker_gph, (gph, worker_gph)


# ------------------------------------------- 13: no credentials recorded ---


def test_redact_uri():
    from ringrift import storage

    r = storage.redact_uri
    assert r("http://user:TOKEN@host:8080/p.json?x=1#frag") == "http://host:8080/p.json"
    assert (
        r("https://b.s3.amazonaws.com/p.json?X-Amz-Security-Token=T&X-Amz-Signature=S")
        == "https://b.s3.amazonaws.com/p.json"
    )
    assert r("s3://bucket/run/profile.json") == "s3://bucket/run/profile.json"
    assert r("/local/profile.json") == "/local/profile.json"
    assert (
        storage.redact_text("cannot read http://u:p@h/x?t=1: 403") == "cannot read http://h/x: 403"
    )


@contextlib.contextmanager
def http_files(root: Path):
    """A plain HTTP server for ``root`` on 127.0.0.1 (ignores credentials)."""
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(root), **kw
    )
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.RequestHandlerClass.log_message = lambda *a: None
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_profile_url_credentials_are_not_recorded(tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    shipped = REPO / "ringrift" / "players" / "profiles" / "square8.json"
    (web / "p.json").write_text(shipped.read_text())
    with http_files(web) as host:
        url = (
            f"http://someone:USERTOKEN123@{host}/p.json"
            "?X-Amz-Security-Token=SESSIONTOKEN456&X-Amz-Signature=SIG789"
        )
        out = tmp_path / "part.parquet"
        p = ringrift(
            "selfplay",
            "--num-games",
            1,
            "--engine-mode",
            "heuristic",
            "--heuristic-profile",
            url,
            "--output",
            out,
            "--quiet",
            "--stats-json",
            timeout=600,
        )
        assert p.returncode == 0, p.stderr
        run = tmp_path / "tune"
        settings = {"board_type": "square8", "num_players": 2, "seed": 1, "start_profile": url}
        t = ringrift(
            "tune", "init", "--run-dir", run, "--run", "r", "--settings", json.dumps(settings)
        )
        assert t.returncode == 0, t.stderr
    stats = json.loads(pq.read_metadata(out).metadata[b"ringrift.stats"])
    assert stats["heuristic_profile"]["uri"] == f"http://{host}/p.json"
    assert not out.with_suffix(".stats.json").exists()
    recorded = [
        p.stdout,
        p.stderr,
        json.dumps({k.decode(): v.decode() for k, v in pq.read_metadata(out).metadata.items()}),
        *(f.read_text() for f in run.rglob("*.json")),
        t.stdout,
        t.stderr,
    ]
    for text in recorded:
        for secret in ("USERTOKEN123", "SESSIONTOKEN456", "SIG789", "someone"):
            assert secret not in text


def test_profile_url_errors_do_not_show_credentials(tmp_path):
    with http_files(tmp_path) as host:  # no p.json there: 404
        p = ringrift(
            "selfplay",
            "--num-games",
            1,
            "--output",
            tmp_path / "x.parquet",
            "--heuristic-profile",
            f"http://someone:USERTOKEN123@{host}/p.json?X-Amz-Security-Token=S456",
        )
    line = one_line_error(p, "p.json")
    assert "USERTOKEN123" not in line and "S456" not in line


# ------------------------------- 14: LAN secrets and Snakemake job scripts ---


def write_hosts(path, jobdir, hosts=("lanhost1", "lanhost2")):
    path.write_text(
        f"defaults: {{slots: 2, jobdir: {jobdir}}}\nhosts:\n"
        + "".join(f"  - host: {h}\n" for h in hosts)
    )
    return path


def test_lan_run_killed_with_sigkill_leaves_no_secret_in_job_scripts(tmp_path, ssh_server):
    wd = checkout(tmp_path / "co", MINI)
    write_hosts(wd / "config" / "hosts.yaml", tmp_path / "jobs")
    env = base_env(
        RINGRIFT_LAN_SSH_CONFIG=str(ssh_server.ssh_config), RINGRIFT_TEST_SECRET=FAKE_SECRET
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--profile",
            "profiles/lan",
            "--envvars",
            "RINGRIFT_TEST_SECRET",
            "--seconds-between-status-checks",
            "1",
        ],
        cwd=wd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines, ids, submitted = [], [], threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"with external jobid '([^']+)'", line)
            if m:
                ids.append(m.group(1))
                if len(ids) == 2:  # both parts are running on the hosts
                    submitted.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        submitted.wait(600)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        reader.join(10)
        if ids:  # the jobs on the hosts outlive Snakemake: stop them
            subprocess.run(
                [str(SCRIPTS / "lan_cancel.py"), *ids], env=env, timeout=60, capture_output=True
            )
    assert len(ids) == 2, "".join(lines)[-3000:]
    scripts = list((wd / ".snakemake").glob("tmp.*/snakejob.*.sh"))
    assert scripts, "expected Snakemake's job scripts to survive SIGKILL"
    for s in scripts:
        text = s.read_text()
        assert FAKE_SECRET not in text, s
        assert "ringrift selfplay" in text or "snakemake" in text  # still the job script
    leaked = subprocess.run(
        ["grep", "-rl", FAKE_SECRET, str(wd), str(tmp_path / "jobs")],
        capture_output=True,
        text=True,
    )
    assert leaked.stdout == "", leaked.stdout


def test_lan_submit_scrubs_job_scripts_left_by_killed_runs(tmp_path, ssh_server):
    hosts = write_hosts(tmp_path / "hosts.yaml", tmp_path / "jobs", hosts=("lanhost1",))
    env = base_env(
        RINGRIFT_LAN_SSH_CONFIG=str(ssh_server.ssh_config), RINGRIFT_LAN_HOSTS=str(hosts)
    )
    props = json.dumps({"rule": "x", "threads": 1, "jobid": 1})
    decl = f"export RINGRIFT_TEST_SECRET='{FAKE_SECRET}' &&"

    def jobscript(folder, name, body="true"):
        path = tmp_path / ".snakemake" / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!/bin/sh\n# properties = {props}\ncd {tmp_path} && {decl} {body}\n")
        path.chmod(0o700)
        return path

    dead = jobscript("tmp.killedrun", "snakejob.selfplay_part.3.sh")
    old = time.time() - 3600
    os.utime(dead, (old, old))
    fresh = jobscript("tmp.otherrun", "snakejob.selfplay_part.4.sh")  # not yet submitted
    live = jobscript("tmp.thisrun", "snakejob.selfplay_part.5.sh", body="sleep 1")
    r = subprocess.run(
        [str(SCRIPTS / "lan_submit.py"), str(live)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert FAKE_SECRET not in live.read_text() and "sleep 1" in live.read_text()
    assert FAKE_SECRET not in dead.read_text() and "true" in dead.read_text()
    assert dead.stat().st_mode & 0o777 == 0o700
    assert FAKE_SECRET in fresh.read_text()  # another live run's script is left alone
    subprocess.run(
        [str(SCRIPTS / "lan_cancel.py"), r.stdout.strip()], env=env, timeout=60, capture_output=True
    )
