"""Azure Blob Storage (az://) against Azurite, Microsoft's storage emulator,
started by the tests on 127.0.0.1 (tests/servers.py).

* The CLI writes and reads az:// itself (adlfs through fsspec; polars' own
  reader for summarize and inspect): a part, an aggregate, verify, summarize,
  inspect, the JSONL export, training tensors and tuning steps.
* A missing account, an unreachable account and a wrong key are each one
  line, from the CLI and from the workflow (which would otherwise retry in
  silence for minutes), before any work starts.
* The workflow with every file in Azurite (snakemake-storage-plugin-azure),
  killed with SIGKILL after its first part and run again: only the missing
  part is played, the aggregate is byte-identical to an uninterrupted local
  run, and a further run has nothing to do.
* profiles/azure (Azure Batch executor) plans against Azurite.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import (  # noqa: E402,F401
    AZ_ACCOUNT,
    MINI,
    MINI_AGGREGATE,
    azurite_server,
    base_env,
    checkout,
    free_port,
    job_counts,
    mini_reference,
    snakemake,
    unavailable,
)

LOCAL = ["--profile", "profiles/local"]


def ringrift(*args, env, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "ringrift", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def az_args(srv, run):
    return [
        "--default-storage-provider",
        "azure",
        "--default-storage-prefix",
        f"az://{srv.container}/{run}",
    ]


def read(fs, path):
    with fs.open(path, "rb") as fh:
        return fh.read()


# ------------------------------------------------------------------ CLI ---


def test_cli_reads_and_writes_az(azurite_server, monkeypatch, capsys):
    """In this process (the commands' code paths are the same; this saves a
    Python and Numba start per command)."""
    from ringrift.cli import main

    srv = azurite_server
    for k, v in srv.env().items():
        monkeypatch.setenv(k, v)
    base = f"az://{srv.container}/cli"
    tuning = json.dumps(
        {
            "board_type": "square8",
            "num_players": 2,
            "seed": 5,
            "population": 2,
            "generations": 1,
            "iterations": 1,
            "games_per_candidate": 2,
            "promote_threshold": 0.5,
            "confirm_games": 2,
            "validation_games": 2,
        }
    )
    for cmd in (
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
            f"{base}/part.parquet",
        ],
        ["aggregate", "--seed", "1", "--output", f"{base}/all.parquet", f"{base}/part.parquet"],
        ["verify", f"{base}/"],
        ["summarize", "--output", f"{base}/summary.json", f"{base}/all.parquet"],
        ["export", "--output", f"{base}/all.jsonl.gz", f"{base}/all.parquet"],
        ["inspect", f"{base}/all.parquet"],
        ["tensors", "--output", f"{base}/all.npz", f"{base}/all.parquet"],
        ["tune", "init", "--run-dir", f"{base}/tune", "--run", "t", "--settings", tuning],
        ["tune", "ask", "--run-dir", f"{base}/tune", "--generation", "0"],
    ):
        rc = main(cmd)
        assert rc == 0, (cmd, capsys.readouterr())
    fs = srv.fs()
    c = srv.container
    with fs.open(f"{c}/cli/all.parquet", "rb") as fh:
        rows = pq.read_table(fh).num_rows
    assert rows > 0
    assert json.loads(read(fs, f"{c}/cli/summary.json"))["samples"] == rows
    assert fs.size(f"{c}/cli/all.jsonl.gz") > 0
    with fs.open(f"{c}/cli/all.npz", "rb") as fh, np.load(fh) as z:
        assert len(z["features"]) > 0
    assert fs.exists(f"{c}/cli/tune/settings.json")
    assert fs.glob(f"{c}/cli/tune/gen_000/*")
    # nothing half-written left next to the outputs
    assert not [f for f in fs.find(f"{c}/cli") if ".tmp" in f.rsplit("/", 1)[-1]]


def one_line_error(p):
    assert p.returncode != 0
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    return lines[0]


def test_cli_missing_credentials_unreachable_account_and_wrong_key(azurite_server, tmp_path):
    srv = azurite_server
    uri = f"az://{srv.container}/cli-errors/part.parquet"
    play = [
        "selfplay",
        "--num-games",
        "2",
        "--board-type",
        "square8",
        "--num-players",
        "2",
        "--engine-mode",
        "random",
        "--output",
        uri,
    ]
    line = one_line_error(ringrift(*play, env=base_env()))
    assert "no Azure storage account" in line and "AZURE_STORAGE_CONNECTION_STRING" in line
    dead = srv.connection_string(endpoint=f"http://127.0.0.1:{free_port()}/{AZ_ACCOUNT}")
    t0 = time.time()
    line = one_line_error(ringrift(*play, env=base_env(AZURE_STORAGE_CONNECTION_STRING=dead)))
    assert re.search(
        rf"cannot reach Azure storage account {AZ_ACCOUNT} at http://127\.0\.0\.1:\d+"
        r"/\S+: \[Errno 111\] Connection refused",
        line,
    ), line
    assert time.time() - t0 < 60
    wrong = srv.connection_string().replace("AccountKey=", "AccountKey=AAAA")
    line = one_line_error(
        ringrift("summarize", uri, env=base_env(AZURE_STORAGE_CONNECTION_STRING=wrong))
    )
    assert f"Azure storage account {AZ_ACCOUNT}" in line and "refused the credentials" in line
    line = one_line_error(
        ringrift("verify", "az://no-such-container/x/", env=base_env(**srv.env()))
    )
    assert "has no container 'no-such-container'" in line
    assert not srv.fs().exists(f"{srv.container}/cli-errors")  # nothing was played or written


def test_token_problem_names_what_was_tried():
    """Without any identity the plugin's chain fails; the message says what to
    set (checked with a stand-in credential: the real chain would probe the
    cloud metadata endpoint, which is not on this machine)."""
    from azure.core.exceptions import ClientAuthenticationError

    from ringrift.azblob import token_problem

    class NoCredential:
        def get_token(self, *scopes, **kw):
            raise ClientAuthenticationError(
                message="ChainedTokenCredential failed to retrieve a token from the included "
                "credentials.\nAttempted credentials:\n\tAzureCliCredential: Azure CLI "
                "not found on path\n\tManagedIdentityCredential: no response from the "
                "IMDS endpoint.\n"
            )

    msg = token_problem(NoCredential(), "myaccount")
    assert "\n" not in msg and "myaccount" in msg and "az login" in msg
    assert "AzureCliCredential: Azure CLI not found on path" in msg

    class Fine:
        def get_token(self, *scopes, **kw):
            return "token"

    assert token_problem(Fine(), "myaccount") is None


def test_workflow_unreachable_account_fails_fast(azurite_server, tmp_path):
    srv = azurite_server
    wd = checkout(tmp_path / "co", MINI)
    dead = srv.connection_string(endpoint=f"http://127.0.0.1:{free_port()}/{AZ_ACCOUNT}")
    t0 = time.time()
    p = snakemake(
        wd,
        *LOCAL,
        *az_args(srv, "dead"),
        "-n",
        check=False,
        timeout=300,
        env=base_env(
            AZURITE_CONNECTION_STRING=dead, SNAKEMAKE_STORAGE_AZURE_ACCOUNT_NAME=AZ_ACCOUNT
        ),
    )
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert re.search(
        rf"cannot reach Azure storage account {AZ_ACCOUNT} at \S+: "
        r"\[Errno 111\] Connection refused",
        out,
    ), out[-3000:]
    assert time.time() - t0 < 120  # the plugin alone retries for minutes


# ------------------------------------------------------------- workflow ---


def test_workflow_in_azurite_killed_and_rerun(azurite_server, tmp_path):
    srv = azurite_server
    reference = mini_reference(tmp_path.parent)
    wd = checkout(tmp_path / "co", MINI)
    env = base_env(**srv.env())
    args = [*LOCAL, *az_args(srv, "e2e")]
    fs = srv.fs()
    base = f"{srv.container}/e2e/results"
    # one core: the second part is still playing when the first is done
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args, "--cores", "1"],
        cwd=wd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines, finished = [], threading.Event()

    def reader():
        for line in proc.stdout:
            lines.append(line)
            if re.search(r"Finished jobid: \d+ \(Rule: selfplay_part\)", line):
                finished.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        finished.wait(600)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        t.join(10)
    assert finished.is_set(), "".join(lines)[-3000:]
    assert not fs.exists(f"{base}/mini/combined_training.parquet")
    done = fs.glob(f"{base}/selfplay/mini/worker_*/part_*.parquet")
    assert len(done) == 1, done
    with fs.open(done[0], "rb") as fh:  # what the container shows is a complete part
        assert pq.read_table(fh).num_rows > 0
    snakemake(wd, *args, "--unlock", env=env)
    p = snakemake(wd, *args, "--cores", "2", env=env)
    assert job_counts(p)["selfplay_part"] == 1  # only the part that was not finished
    # every file in Azurite, byte-identical aggregate, nothing kept locally
    assert read(fs, f"{base}/mini/combined_training.parquet") == reference
    assert len(fs.glob(f"{base}/selfplay/mini/worker_*/part_*.parquet")) == 2
    summary = json.loads(read(fs, f"{base}/mini/summary.json"))
    assert summary["games"] == 4
    assert fs.size(f"{base}/mini/combined_training.jsonl.gz") > 0
    assert len(fs.glob(f"{base}/mini/plots/*.png")) == 5
    assert not (wd / "results").exists()
    assert not [f for f in (wd / ".snakemake").rglob("*.parquet")]
    again = snakemake(wd, *args, "-n", env=env)
    assert "Nothing to be done" in again.stdout + again.stderr


# -------------------------------------------------------------- profile ---


def test_azure_profile_plans_against_azurite(azurite_server, tmp_path):
    try:
        import snakemake_executor_plugin_azure_batch  # noqa: F401
    except ImportError:
        unavailable("the Azure Batch executor is not installed (pip install -e '.[azure]')")
    srv = azurite_server
    wd = checkout(tmp_path / "co", MINI)
    env = base_env(
        **srv.env(),
        AZURE_BATCH_ACCOUNT_URL="https://ringrift.westeurope.batch.azure.com",
        AZURE_SUBSCRIPTION_ID="00000000-0000-0000-0000-000000000000",
        AZURE_RESOURCE_GROUP="ringrift",
        AZURE_MANAGED_IDENTITY_RESOURCE_ID="/subscriptions/0/resourceGroups/ringrift/"
        "providers/Microsoft.ManagedIdentity/userAssignedIdentities/ringrift-jobs",
        AZURE_MANAGED_IDENTITY_CLIENT_ID="11111111-1111-1111-1111-111111111111",
        AZURE_STORAGE_ACCOUNT_NAME=AZ_ACCOUNT,
        RINGRIFT_AZ_PREFIX=f"az://{srv.container}/plan",
        RINGRIFT_IMAGE="ringrift.azurecr.io/ringrift:test",
    )
    p = snakemake(wd, "--profile", "profiles/azure", "-n", env=env)
    assert job_counts(p) == {
        "selfplay_part": 2,
        "aggregate": 1,
        "export_moves": 2,
        "export_chunk": 1,
        "export_jsonl": 1,
        "summary": 1,
        "plots": 1,
        "all": 1,
    }
    assert f"az://{srv.container}/plan/results/mini/combined_training.parquet" in p.stdout
