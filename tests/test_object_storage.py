"""The workflow and the CLI with the data in object storage: S3 (moto_server on
127.0.0.1) and GCS (gcp-storage-emulator), fake credentials.

* A full run with ``default-storage-provider: s3`` puts every part and the
  aggregate in the bucket and nothing in the working directory; a second run
  has nothing to do.
* Killed with SIGKILL partway and run again (``--unlock``, then the profile's
  rerun-incomplete), it plays only the missing parts and the aggregate is
  byte-identical; the bucket never shows a partial part.
* Hybrid: the LAN half (profiles/hybrid: jobs over SSH, no shared folder) and
  a second profile fill one S3 prefix from disjoint batches of parts; the
  final run aggregates to the same bytes. Credentials given to Snakemake are
  never written on the hosts.
* The same with GCS; the CLI reads and writes s3:// and gs:// itself (fsspec).
* A writer killed mid multipart upload leaves no object but an incomplete
  upload; the lifecycle rule documented in docs/scale-out.md is valid S3.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import (  # noqa: E402,F401
    FAKE_KEY,
    FAKE_SECRET,
    REPO,
    base_env,
    checkout,
    gcs_server,
    job_counts,
    s3_server,
    snakemake,
    ssh_server,
)

TINY = (REPO / ".test" / "config" / "config.yaml").read_text()
MINI = TINY.replace("total_games: 16", "total_games: 4").replace(
    "games_per_part: 4", "games_per_part: 2"
)
LOCAL = ["--profile", "profiles/local", "--cores", "2"]


def s3_args(s3, run):
    return [
        "--default-storage-provider",
        "s3",
        "--default-storage-prefix",
        f"s3://{s3.bucket}/{run}",
    ]


def read_bytes(fs, path):
    with fs.open(path, "rb") as fh:
        return fh.read()


@pytest.fixture(scope="module")
def s3_run(tmp_path_factory, s3_server):
    """One uninterrupted run of the tiny dataset into s3://bucket/e2e."""
    wd = checkout(tmp_path_factory.mktemp("s3run") / "co", TINY)
    env = base_env(**s3_server.env())
    snakemake(wd, *LOCAL, *s3_args(s3_server, "e2e"), env=env)
    fs = s3_server.fs()
    combined = f"{s3_server.bucket}/e2e/results/tiny/combined_training.parquet"
    return {
        "wd": wd,
        "env": env,
        "args": s3_args(s3_server, "e2e"),
        "combined": read_bytes(fs, combined),
    }


def test_s3_run_puts_parts_and_aggregate_in_the_bucket(s3_run, s3_server):
    fs = s3_server.fs()
    base = f"{s3_server.bucket}/e2e/results"
    parts = sorted(fs.glob(f"{base}/selfplay/tiny/worker_*/part_*.parquet"))
    assert len(parts) == 4
    stats = [
        json.loads(pq.read_metadata(pa.BufferReader(read_bytes(fs, p))).metadata[b"ringrift.stats"])
        for p in parts
    ]
    assert sum(s["games"] for s in stats) == 16
    with fs.open(f"{base}/tiny/combined_training.parquet", "rb") as fh:
        assert pq.read_table(fh).num_rows == sum(s["samples"] for s in stats)
    summary = json.loads(read_bytes(fs, f"{base}/tiny/summary.json"))
    assert summary["games"] == 16
    assert fs.exists(f"{base}/tiny/combined_training.jsonl.gz")
    # nothing kept on local disk: no results folder, no staged copies left
    wd = s3_run["wd"]
    assert not (wd / "results").exists()
    assert not [p for p in (wd / ".snakemake").rglob("*.parquet")]


def test_s3_second_run_does_nothing(s3_run):
    p = snakemake(s3_run["wd"], *LOCAL, *s3_run["args"], "-n", env=s3_run["env"])
    assert "Nothing to be done" in p.stdout + p.stderr


def test_s3_kill_and_rerun_gives_identical_aggregate(s3_run, s3_server, tmp_path):
    wd = checkout(tmp_path / "co", TINY)
    env = base_env(**s3_server.env())
    args = [*LOCAL, *s3_args(s3_server, "killed")]
    fs = s3_server.fs()
    parts_glob = f"{s3_server.bucket}/killed/results/selfplay/tiny/worker_*/part_*.parquet"
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args],
        cwd=wd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines, finished = [], threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if re.search(r"Finished jobid: \d+ \(Rule: selfplay_part\)", line):
                finished.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        finished.wait(600)  # kill as soon as one part is completely done
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        reader.join(10)
    n_done = sum(bool(re.search(r"Finished jobid: \d+ \(Rule: selfplay_part\)", x)) for x in lines)
    assert 1 <= n_done < 4, "".join(lines)[-3000:]
    assert not fs.exists(f"{s3_server.bucket}/killed/results/tiny/combined_training.parquet")
    for part in fs.glob(parts_glob):  # whatever the bucket shows is a complete part
        with fs.open(part, "rb") as fh:
            assert pq.read_table(fh).num_rows > 0
    snakemake(wd, *args, "--unlock", env=env)
    p = snakemake(wd, *args, env=env)
    # only the parts not finished before the kill are played (one killed
    # mid-upload counts as unfinished: rerun-incomplete redoes it)
    assert 1 <= job_counts(p)["selfplay_part"] <= 4 - n_done
    again = read_bytes(fs, f"{s3_server.bucket}/killed/results/tiny/combined_training.parquet")
    assert again == s3_run["combined"]


def test_hybrid_lan_and_second_profile_fill_one_prefix(s3_run, s3_server, ssh_server, tmp_path):
    jobs = tmp_path / "jobs"
    remote = checkout(tmp_path / "remote", TINY)  # the hosts' own checkout (no shared folder)
    lan = checkout(tmp_path / "lan", TINY)
    (lan / "config" / "hosts.yaml").write_text(
        f"defaults: {{slots: 2, jobdir: {jobs}, workdir: {remote}}}\nhosts: [lanhost1, lanhost2]\n"
    )
    prefix = f"s3://{s3_server.bucket}/hybrid"
    # Only the submitting side has credentials in its environment; the hosts
    # get what Snakemake forwards (here keys given to Snakemake, to prove they
    # are not written anywhere there).
    env = base_env(
        **s3_server.env(),
        RINGRIFT_S3_PREFIX=prefix,
        RINGRIFT_LAN_SSH_CONFIG=str(ssh_server.ssh_config),
        SNAKEMAKE_STORAGE_S3_ACCESS_KEY=FAKE_KEY,
        SNAKEMAKE_STORAGE_S3_SECRET_KEY=FAKE_SECRET,
    )
    p = snakemake(
        lan,
        "--profile",
        "profiles/hybrid",
        "--batch",
        "aggregate=1/2",
        "--seconds-between-status-checks",
        "1",
        env=env,
    )
    out = p.stdout + p.stderr
    assert job_counts(p) == {"selfplay_part": 2}
    assert len(re.findall(r"with external jobid 'lanhost\d:", out)) == 2, out[-3000:]
    fs = s3_server.fs()
    assert len(fs.glob(f"{s3_server.bucket}/hybrid/results/selfplay/tiny/*/*.parquet")) == 2
    # nothing written in either checkout; the forwarded secret is on no host file
    for co in (lan, remote):
        assert not (co / "results").exists()
    leaked = subprocess.run(
        ["grep", "-rl", FAKE_SECRET, str(jobs), str(remote)], capture_output=True, text=True
    )
    assert leaked.stdout == "", leaked.stdout
    # the other half from another profile and checkout (local executor standing
    # in for AWS Batch); as the final batch it aggregates
    other = checkout(tmp_path / "other", TINY)
    p = snakemake(
        other,
        *LOCAL,
        "--default-storage-provider",
        "s3",
        "--default-storage-prefix",
        prefix,
        "--batch",
        "aggregate=2/2",
        env=base_env(**s3_server.env()),
    )
    counts = job_counts(p)
    assert counts["selfplay_part"] == 2 and counts["aggregate"] == 1
    combined = read_bytes(fs, f"{s3_server.bucket}/hybrid/results/tiny/combined_training.parquet")
    assert combined == s3_run["combined"]


def test_gcs_run_end_to_end(gcs_server, tmp_path):
    wd = checkout(tmp_path / "co", MINI)
    env = base_env(**gcs_server.env())
    args = [
        *LOCAL,
        "--default-storage-provider",
        "gcs",
        "--default-storage-prefix",
        f"gcs://{gcs_server.bucket}/e2e",
        "--storage-gcs-project",
        "test-project",
    ]
    snakemake(wd, *args, env=env)
    import gcsfs

    fs = gcsfs.GCSFileSystem(endpoint_url=gcs_server.endpoint, token="anon")
    base = f"{gcs_server.bucket}/e2e/results"
    assert len(fs.glob(f"{base}/selfplay/tiny/worker_*/part_*.parquet")) == 2
    summary = json.loads(read_bytes(fs, f"{base}/tiny/summary.json"))
    assert summary["games"] == 4
    with fs.open(f"{base}/tiny/combined_training.parquet", "rb") as fh:
        assert pq.read_table(fh).num_rows == summary["samples"]
    assert not (wd / "results").exists()
    assert "Nothing to be done" in snakemake(wd, *args, "-n", env=env).stdout


def test_tuning_run_in_s3(s3_server, tmp_path):
    """The tuning workflow with every file in the bucket, like self-play: the
    local ask/tell steps and the evaluation jobs meet only through storage."""
    tuning = (REPO / ".test" / "config" / "tuning.yaml").read_text()
    tuning = tuning.replace("iterations: 2", "iterations: 1")
    wd = checkout(tmp_path / "co", tuning)
    env = base_env(**s3_server.env())
    args = [*LOCAL, *s3_args(s3_server, "tune"), "tune"]
    snakemake(wd, *args, env=env)
    fs = s3_server.fs()
    base = f"{s3_server.bucket}/tune/results/tuning/tiny"
    assert len(fs.glob(f"{base}/gen_000/eval_*.json")) == 4
    profile = json.loads(read_bytes(fs, f"{base}/profile.json"))
    baseline = json.loads(read_bytes(fs, f"{base}/iter_01/baseline.json"))
    assert profile["weights"] == baseline["weights"] and profile["board_type"] == "square8"
    assert json.loads(read_bytes(fs, f"{base}/validation.json"))["games"] == 16
    assert not (wd / "results").exists()
    assert "Nothing to be done" in snakemake(wd, *args, "-n", env=env).stdout


def test_cli_writes_and_reads_s3_and_gs(s3_server, gcs_server, tmp_path):
    env = base_env(
        **s3_server.env(),
        **gcs_server.env(),
        AWS_ENDPOINT_URL=s3_server.endpoint,
        NUMBA_NUM_THREADS="1",
    )  # as the workflow's jobs run
    for url in (
        f"s3://{s3_server.bucket}/cli/part.parquet",
        f"gs://{gcs_server.bucket}/cli/part.parquet",
    ):
        cmds = [
            [
                "selfplay",
                "--num-games",
                "2",
                "--board-type",
                "square8",
                "--num-players",
                "2",
                "--engine-mode",
                "random",
                "--seed",
                "3",
                "--output",
                url,
            ],
            ["aggregate", "--seed", "1", "--output", url.replace("part", "all"), url],
        ]
        if url.startswith("s3://"):
            # summarize scans with polars' own object-store reader, which takes
            # the endpoint from AWS_ENDPOINT_URL but has no GCS emulator setting
            cmds.append(["summarize", url.replace("part", "all")])
        for cmd in cmds:
            p = subprocess.run(
                [sys.executable, "-m", "ringrift", *cmd],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert p.returncode == 0, (cmd, p.stdout, p.stderr)
    fs = s3_server.fs()
    assert not fs.exists(f"{s3_server.bucket}/cli/part.stats.json")  # stats live in the part
    with fs.open(f"{s3_server.bucket}/cli/all.parquet", "rb") as fh:
        assert pq.read_table(fh).num_rows > 0


KILLED_WRITER = """
import sys, time, s3fs
fs = s3fs.S3FileSystem(key=sys.argv[2], secret=sys.argv[3],
                       client_kwargs={"endpoint_url": sys.argv[1], "region_name": "us-east-1"})
with fs.open(sys.argv[4], "wb", block_size=5 * 2**20) as fh:
    for i in range(3):
        fh.write(b"x" * (6 * 2**20))
        fh.flush()
        print("flushed", i, flush=True)
    time.sleep(600)
"""


def lifecycle_rule_from_docs():
    text = (REPO / "docs" / "scale-out.md").read_text()
    m = re.search(r"<!-- lifecycle-rule -->\s*```json\n(.*?)```", text, re.S)
    assert m, "docs/scale-out.md lost its lifecycle rule block"
    return json.loads(m.group(1))


def test_killed_multipart_upload_is_invisible_and_the_lifecycle_rule_is_valid(s3_server):
    key = "killed/big.parquet"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_WRITER,
            s3_server.endpoint,
            FAKE_KEY,
            FAKE_SECRET,
            f"{s3_server.bucket}/{key}",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        for _ in range(2):
            assert proc.stdout.readline().startswith("flushed")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    client = s3_server.client()
    assert not s3_server.fs().exists(f"{s3_server.bucket}/{key}")
    uploads = client.list_multipart_uploads(Bucket=s3_server.bucket).get("Uploads", [])
    assert [u["Key"] for u in uploads] == [key]  # invisible, but stored (and billed)
    rule = lifecycle_rule_from_docs()
    client.put_bucket_lifecycle_configuration(Bucket=s3_server.bucket, LifecycleConfiguration=rule)
    got = client.get_bucket_lifecycle_configuration(Bucket=s3_server.bucket)["Rules"]
    assert got[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    for u in uploads:  # what the rule does after N days, by hand
        client.abort_multipart_upload(Bucket=s3_server.bucket, Key=u["Key"], UploadId=u["UploadId"])
    assert not client.list_multipart_uploads(Bucket=s3_server.bucket).get("Uploads")
