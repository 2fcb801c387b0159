"""The scale-out profiles (profiles/{lan,aws,gcp,hybrid}; slurm and azure follow the same
conventions here and run in test_slurm.py and test_azure.py).

* Every profile plans the workflow (``snakemake --profile profiles/X -n``, run
  from a checkout as users run it): aws and hybrid against moto_server, gcp
  against the GCS emulator, all with fake credentials.
* The LAN profile runs a small dataset over SSH on a real sshd on 127.0.0.1
  (two host aliases), and its submit/status/cancel scripts place, track,
  cancel and lose jobs as documented, without writing forwarded credentials
  into the job scripts on the hosts.
"""

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import (  # noqa: E402,F401
    FAKE_SECRET,
    MINI,
    REPO,
    base_env,
    checkout,
    gcs_server,
    job_counts,
    s3_server,
    snakemake,
    ssh_server,
)

PROFILES = ("lan", "aws", "gcp", "hybrid", "slurm", "azure")
SCRIPTS = REPO / "workflow" / "scripts"
TINY = (REPO / ".test" / "config" / "config.yaml").read_text()


def profile(name):
    return yaml.safe_load((REPO / "profiles" / name / "profile.yaml").read_text())


def cloud_env(s3=None, gcs=None, **extra):
    env = base_env(**extra)
    if s3 is not None:
        env.update(
            s3.env(),
            RINGRIFT_S3_PREFIX=f"s3://{s3.bucket}/plan",
            RINGRIFT_IMAGE="registry.example/ringrift:test",
            SNAKEMAKE_AWS_BATCH_JOB_QUEUE="arn:aws:batch:us-east-1:123456789012:job-queue/q",
            SNAKEMAKE_AWS_BATCH_JOB_ROLE="arn:aws:iam::123456789012:role/ringrift-job",
        )
    if gcs is not None:
        env.update(
            gcs.env(),
            RINGRIFT_GCS_PREFIX=f"gcs://{gcs.bucket}/plan",
            RINGRIFT_IMAGE="registry.example/ringrift:test",
            GOOGLE_CLOUD_REGION="us-central1",
        )
    return env


# ------------------------------------------------------------ the files ---


def test_profile_files_follow_the_conventions():
    names = sorted(p.name for p in (REPO / "profiles").iterdir() if p.is_dir())
    assert "default" not in names  # would be loaded as a workflow profile
    for name in PROFILES:
        files = sorted(p.name for p in (REPO / "profiles" / name).iterdir())
        assert files == ["profile.yaml"], (name, files)
        text = (REPO / "profiles" / name / "profile.yaml").read_text()
        conf = yaml.safe_load(text)
        for key in conf:  # never credentials in a profile
            assert not any(w in key for w in ("access-key", "secret", "token", "password")), key
        assert conf["rerun-incomplete"] is True and "keep-incomplete" not in conf
        assert "code" not in conf["rerun-triggers"]
    assert int(profile("aws")["aws-batch-task-timeout"]) > 300  # plugin default kills at 300 s
    assert profile("aws")["shared-fs-usage"] == "none"
    assert int(profile("gcp")["googlebatch-max-run-duration"].rstrip("s")) > 3600
    assert "batch-cos" in profile("gcp")["googlebatch-image-family"]  # else no container
    for name in ("lan", "hybrid"):
        conf = profile(name)
        for key in ("submit", "status", "cancel"):
            script = (REPO / "profiles" / name / conf[f"cluster-generic-{key}-cmd"]).resolve()
            assert script.parent == SCRIPTS and os.access(script, os.X_OK), script
    hosts = yaml.safe_load((REPO / "config" / "hosts.yaml").read_text())
    assert hosts["hosts"] and all(h.get("host") for h in hosts["hosts"])


# ------------------------------------------------------------ dry runs ---


def test_lan_profile_plans(tmp_path):
    wd = checkout(tmp_path / "co", TINY)
    p = snakemake(wd, "--profile", "profiles/lan", "-n", env=base_env())
    assert job_counts(p) == {
        "selfplay_part": 4,
        "aggregate": 1,
        "export_moves": 4,
        "export_chunk": 1,
        "export_jsonl": 1,
        "summary": 1,
        "plots": 1,
        "all": 1,
    }


def test_aws_profile_plans_against_moto(tmp_path, s3_server):
    wd = checkout(tmp_path / "co", TINY)
    p = snakemake(wd, "--profile", "profiles/aws", "-n", env=cloud_env(s3=s3_server))
    out = p.stdout + p.stderr
    # every job on Batch: no local warm-up marker (the image has the Numba cache)
    assert job_counts(p) == {
        "selfplay_part": 4,
        "aggregate": 1,
        "export_moves": 4,
        "export_chunk": 1,
        "export_jsonl": 1,
        "summary": 1,
        "plots": 1,
        "all": 1,
    }
    assert f"s3://{s3_server.bucket}/plan/results/tiny/combined_training.parquet" in out


def test_aws_profile_dry_run_needs_credentials(tmp_path, s3_server):
    wd = checkout(tmp_path / "co", TINY)
    env = cloud_env(s3=s3_server)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    env["AWS_SHARED_CREDENTIALS_FILE"] = env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    p = snakemake(wd, "--profile", "profiles/aws", "-n", env=env, check=False)
    assert p.returncode != 0
    assert "credentials" in (p.stdout + p.stderr).lower()


def test_hybrid_profile_plans_against_moto(tmp_path, s3_server):
    wd = checkout(tmp_path / "co", TINY)
    p = snakemake(
        wd,
        "--profile",
        "profiles/hybrid",
        "-n",
        "--batch",
        "aggregate=1/2",
        env=cloud_env(s3=s3_server),
    )
    assert job_counts(p) == {"selfplay_part": 2}


def _googlebatch_python():
    """A Python with the googlebatch executor: this one, or RINGRIFT_GCP_PYTHON
    (its own environment, since the plugin pins google-cloud-storage<3)."""
    try:
        import snakemake_executor_plugin_googlebatch  # noqa: F401

        return sys.executable
    except ImportError:
        return os.environ.get("RINGRIFT_GCP_PYTHON")


def test_gcp_profile_plans_against_gcs_emulator(tmp_path, gcs_server):
    py = _googlebatch_python()
    if not py:
        pytest.skip(
            "googlebatch executor not installed here; set RINGRIFT_GCP_PYTHON to a "
            "Python with the [gcp] extra (docs/scale-out.md)"
        )
    wd = checkout(tmp_path / "co", TINY)
    p = subprocess.run(
        [py, "-m", "snakemake", "--profile", "profiles/gcp", "-n"],
        cwd=wd,
        env=cloud_env(gcs=gcs_server),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert job_counts(p) == {
        "selfplay_part": 4,
        "aggregate": 1,
        "export_moves": 4,
        "export_chunk": 1,
        "export_jsonl": 1,
        "summary": 1,
        "plots": 1,
        "all": 1,
    }
    assert f"gs://{gcs_server.bucket}/plan/results/tiny/summary.json" in p.stdout + p.stderr


def test_gcp_profile_storage_settings_against_gcs_emulator(tmp_path, gcs_server):
    """The gcp profile minus its executor keys (that plugin lives in its own
    environment) plans against the emulator: storage provider, prefix, project."""
    conf = {
        k: v
        for k, v in profile("gcp").items()
        if not k.startswith(("googlebatch-", "preemptible-")) and k != "executor"
    }
    (tmp_path / "gcp-storage").mkdir()
    (tmp_path / "gcp-storage" / "profile.yaml").write_text(yaml.safe_dump(conf))
    wd = checkout(tmp_path / "co", TINY)
    p = snakemake(
        wd,
        "--profile",
        str(tmp_path / "gcp-storage"),
        "-n",
        "--cores",
        "2",
        env=cloud_env(gcs=gcs_server),
    )
    assert job_counts(p)["selfplay_part"] == 4
    assert f"gs://{gcs_server.bucket}/plan/results/tiny/summary.json" in p.stdout + p.stderr


def test_worker_range_plays_a_share_and_leaves_the_aggregate(tmp_path):
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert "worker_range" in schema["properties"]
    wd = checkout(tmp_path / "co", TINY)
    p = snakemake(
        wd, "--profile", "profiles/lan", "-n", "--config", "worker_range=1", env=base_env()
    )
    assert job_counts(p) == {"selfplay_part": 2, "all": 1}
    assert "worker_00" not in p.stdout and "worker_01/part_00001" in p.stdout
    p = snakemake(
        wd, "--profile", "profiles/lan", "-n", "--config", "worker_range=0-7", env=base_env()
    )
    assert job_counts(p) == {"selfplay_part": 4, "all": 1}


# ---------------------------------------------------- LAN over real SSH ---


def lan_env(ssh, hosts_file, **extra):
    return base_env(
        RINGRIFT_LAN_SSH_CONFIG=str(ssh.ssh_config), RINGRIFT_LAN_HOSTS=str(hosts_file), **extra
    )


def write_hosts(path, jobdir, hosts=("lanhost1", "lanhost2"), slots=2, workdir=None):
    lines = [
        f"defaults: {{slots: {slots}, jobdir: {jobdir}"
        + (f", workdir: {workdir}" if workdir else "")
        + "}",
        "hosts:",
    ]
    lines += [f"  - host: {h}" for h in hosts]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def test_lan_profile_runs_jobs_over_ssh(tmp_path, ssh_server):
    wd = checkout(tmp_path / "co", MINI)
    hosts = write_hosts(wd / "config" / "hosts.yaml", tmp_path / "jobs")
    env = base_env(RINGRIFT_LAN_SSH_CONFIG=str(ssh_server.ssh_config))  # default hosts file
    p = snakemake(wd, "--profile", "profiles/lan", "--seconds-between-status-checks", "1", env=env)
    out = p.stdout + p.stderr
    assert hosts.exists()
    # every non-local job went through ssh, to both hosts
    submitted = [line for line in out.splitlines() if "with external jobid" in line]
    rules = sorted(re.search(r"snakejob\.(\w+)\.", s).group(1) for s in submitted)
    assert rules == [
        "aggregate",
        "export_chunk",
        "export_jsonl",
        "export_moves",
        "export_moves",
        "plots",
        "selfplay_part",
        "selfplay_part",
        "summary",
    ], out[-3000:]
    assert any("'lanhost1:" in s for s in submitted) and any("'lanhost2:" in s for s in submitted)
    res = wd / "results"
    summary = json.loads((res / "mini" / "summary.json").read_text())
    assert summary["games"] == 4
    assert pq.read_table(res / "mini" / "combined_training.parquet").num_rows == summary["samples"]
    assert (res / "mini" / "combined_training.jsonl.gz").stat().st_size > 0
    # finished jobs leave nothing behind on the hosts
    assert not [d for d in (tmp_path / "jobs").glob("*/*") if d.is_dir()]
    # the hosts' jobs warmed their machine's Numba cache (sshd gives them the
    # tests' cache folder): a marker for this machine, made by a LAN job
    marker = Path(env["NUMBA_CACHE_DIR"]) / "nodes" / socket.gethostname()
    assert marker.exists() and "by job on LAN host lanhost" in marker.read_text()
    assert "Nothing to be done" in snakemake(wd, "--profile", "profiles/lan", "-n", env=env).stdout


# ------------------------------------------ the LAN scripts on their own ---


def run_script(name, *args, env):
    return subprocess.run(
        [str(SCRIPTS / name), *args], env=env, capture_output=True, text=True, timeout=120
    )


def jobscript(path, body, env_decl=""):
    """A job script in the shape cluster-generic writes (properties line, then
    ``cd ... && export NAME='value' ... && command``)."""
    props = json.dumps({"rule": "x", "threads": 1, "jobid": 1})
    path.write_text(f"#!/bin/sh\n# properties = {props}\ncd {path.parent} && {env_decl}{body}\n")
    return path


def wait_status(jobid, env, want, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = run_script("lan_status.py", jobid, env=env).stdout.strip()
        if st != "running":
            break
        time.sleep(0.2)
    assert st == want, st
    return st


def test_lan_scripts_forward_credentials_without_writing_them(tmp_path, ssh_server):
    hosts = write_hosts(tmp_path / "hosts.yaml", tmp_path / "jobs", hosts=("lanhost1",))
    env = lan_env(ssh_server, hosts)
    decl = (
        f"export SNAKEMAKE_STORAGE_S3_SECRET_KEY='{FAKE_SECRET}' "
        "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL='http://127.0.0.1:1' &&"
    )
    digest = hashlib.sha256(FAKE_SECRET.encode()).hexdigest()
    js = jobscript(
        tmp_path / "snakejob.x.1.sh",
        '[ "$(printf %s "$SNAKEMAKE_STORAGE_S3_SECRET_KEY" | sha256sum | cut -d" " -f1)"'
        f" = {digest} ] && echo secret-arrived && sleep 1",
        env_decl=decl + " ",
    )
    r = run_script("lan_submit.py", str(js), env=env)
    assert r.returncode == 0, r.stderr
    jobid = r.stdout.strip()
    host, pid, rdir = jobid.split(":", 2)
    assert host == "lanhost1" and pid.isdigit()
    on_host = Path(rdir) / "job.sh"
    assert FAKE_SECRET not in on_host.read_text() and "export" not in on_host.read_text()
    assert "SNAKEMAKE_STORAGE_S3_SECRET_KEY" in (Path(rdir) / "env.names").read_text()
    log = Path(rdir) / "log"
    deadline = time.time() + 20
    while time.time() < deadline and not log.read_text().strip():
        time.sleep(0.1)
    assert log.read_text().strip() == "secret-arrived"
    for f in Path(rdir).iterdir():  # nothing on the host's disk holds the value
        assert FAKE_SECRET not in f.read_text(), f
    wait_status(jobid, env, "success")
    assert not Path(rdir).exists()


def test_lan_scripts_place_by_free_slots_and_skip_unreachable_hosts(tmp_path, ssh_server):
    hosts = write_hosts(
        tmp_path / "hosts.yaml",
        tmp_path / "jobs",
        slots=1,
        hosts=("lanhost1", "lanhost-down", "lanhost2"),
    )
    env = lan_env(ssh_server, hosts)
    js = jobscript(tmp_path / "snakejob.sleep.1.sh", "sleep 30")
    ids = []
    for _ in range(3):
        r = run_script("lan_submit.py", str(js), env=env)
        assert r.returncode == 0, r.stderr
        ids.append(r.stdout.strip())
    placed = [i.split(":")[0] for i in ids]
    assert placed[:2] in (["lanhost1", "lanhost2"], ["lanhost2", "lanhost1"])  # one each
    assert placed[2] in ("lanhost1", "lanhost2")  # all full: oversubscribe, say so
    assert "lanhost-down unreachable" in r.stderr and "oversubscrib" in r.stderr
    assert run_script("lan_status.py", ids[0], env=env).stdout.strip() == "running"
    # cancel: the process group gets SIGTERM, the status turns failed
    assert run_script("lan_cancel.py", ids[0], ids[1], env=env).returncode == 0
    for jobid in ids[:2]:
        wait_status(jobid, env, "failed")
        pid = int(jobid.split(":")[1])
        stat = Path(f"/proc/{pid}/stat")
        assert not Path(f"/proc/{pid}").exists() or "Z" in stat.read_text().split()[2]
    # a job that dies without an exit code (machine lost) is failed, not running forever
    host, pid, rdir = ids[2].split(":", 2)
    os.killpg(int(pid), 9)
    wait_status(ids[2], env, "failed")
