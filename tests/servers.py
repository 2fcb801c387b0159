"""Throwaway servers for the scale-out tests, all bound to 127.0.0.1.

* ``moto_s3()``: ``moto_server`` (the S3 API) on a free port.
* ``gcs_emulator()``: ``gcp-storage-emulator`` (in memory) with one bucket.
* ``azurite()``: Azurite, Microsoft's Azure Storage emulator (Node; the blob
  service, in memory, telemetry off) with the well-known development account.
* ``slurm_cluster()``: a single-node Slurm cluster (Debian's munged,
  slurmctld and slurmd, as root) with its config and state in a temporary
  folder.
* ``sshd()``: an OpenSSH server on a free high port with a throwaway host key
  and client key, plus an ssh_config that maps the aliases ``lanhost1`` and
  ``lanhost2`` to it (two "machines" on loopback) and ``lanhost-down`` to a
  port nobody listens on (a machine that is off).

Each is a context manager that stops what it started (by process id) on exit;
the pytest fixtures at the bottom wrap them. Import the fixtures into a test
module (``from servers import s3_server  # noqa: F401``) to use them.

A server whose programs are missing skips its tests, except under CI=true
(.ci/run installs everything): there a missing program fails them, naming
the install step.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# gcsfs >= 2026 probes a gRPC API for every bucket unless this is off; against
# the emulator each probe waits ~60 s. gcsfs reads it when first imported.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

HOST = "127.0.0.1"
FAKE_KEY = "testing-access-key"
FAKE_SECRET = "testing-secret-key-never-in-job-scripts"
BIN = Path(sys.executable).parent
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {HOST}:{port}: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a server started with start_new_session=True (its own process group)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def _start(cmd, log: Path, port: int, env=None) -> subprocess.Popen:
    fh = open(log, "wb")
    proc = subprocess.Popen(
        cmd,
        stdout=fh,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    fh.close()
    try:
        wait_port(port, proc, log)
    except BaseException:
        stop(proc)
        raise
    return proc


# --------------------------------------------------------------------- S3 ---


@dataclass
class S3Server:
    endpoint: str
    bucket: str
    log: Path

    def env(self) -> dict:
        """Fake credentials and the endpoint, the way a user's shell provides them."""
        return {
            "AWS_ACCESS_KEY_ID": FAKE_KEY,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
            "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": self.endpoint,
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=FAKE_KEY,
            aws_secret_access_key=FAKE_SECRET,
        )

    def fs(self):
        import s3fs

        return s3fs.S3FileSystem(
            key=FAKE_KEY,
            secret=FAKE_SECRET,
            client_kwargs={"endpoint_url": self.endpoint, "region_name": "us-east-1"},
            use_listings_cache=False,
        )


@contextlib.contextmanager
def moto_s3(workdir: Path, bucket: str = "ringrift-test"):
    pytest.importorskip("moto.server", reason="moto[server] is not installed (test extra)")
    port = free_port()
    log = Path(workdir) / "moto_server.log"
    proc = _start([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)], log, port)
    try:
        srv = S3Server(f"http://{HOST}:{port}", bucket, log)
        srv.client().create_bucket(Bucket=bucket)
        yield srv
    finally:
        stop(proc)


# -------------------------------------------------------------------- GCS ---


@dataclass
class GCSServer:
    endpoint: str
    bucket: str
    log: Path

    def env(self) -> dict:
        return {
            "STORAGE_EMULATOR_HOST": self.endpoint,
            "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
            "GOOGLE_CLOUD_PROJECT": "test-project",
        }


@contextlib.contextmanager
def gcs_emulator(workdir: Path, bucket: str = "ringrift-test"):
    pytest.importorskip(
        "gcp_storage_emulator", reason="gcp-storage-emulator is not installed (test extra)"
    )
    port = free_port()
    log = Path(workdir) / "gcs_emulator.log"
    proc = _start(
        [
            sys.executable,
            "-m",
            "gcp_storage_emulator",
            "start",
            "--host",
            HOST,
            "--port",
            str(port),
            "--default-bucket",
            bucket,
            "--no-store-on-disk",
        ],
        log,
        port,
    )
    try:
        yield GCSServer(f"http://{HOST}:{port}", bucket, log)
    finally:
        stop(proc)


# -------------------------------------------------------------------- SSH ---


@dataclass
class SSHServer:
    port: int
    dir: Path
    ssh_config: Path
    aliases: tuple
    log: Path
    control_dir: Path
    sessions: list = field(default_factory=list)

    def ssh(self, host: str, command: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ssh", "-F", str(self.ssh_config), host, command],
            capture_output=True,
            text=True,
            timeout=60,
            **kw,
        )


def _children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(p.name))
    return out


@contextlib.contextmanager
def sshd(workdir: Path, aliases=("lanhost1", "lanhost2")):
    if not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("ssh-keygen")):
        pytest.skip("OpenSSH server/client not installed (apt-get install openssh-server)")
    d = Path(workdir) / "sshd"
    d.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True
        )
    shutil.copy(d / "client_key.pub", d / "authorized_keys")
    os.chmod(d / "authorized_keys", 0o600)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation dir
    port = free_port()
    # Sessions get the tests' Numba cache (conftest imports ringrift, which
    # sets NUMBA_CACHE_DIR), as hosts sharing a home folder would: the hosts
    # here are this machine, and a cold ~/.cache made each LAN run compile
    # every kernel again (minutes).
    (d / "sshd_config").write_text(f"""\
Port {port}
ListenAddress {HOST}
HostKey {d / "host_key"}
PidFile {d / "sshd.pid"}
AuthorizedKeysFile {d / "authorized_keys"}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
MaxStartups 100:30:200
MaxSessions 100
SetEnv NUMBA_CACHE_DIR={os.environ["NUMBA_CACHE_DIR"]}
""")
    host_pub = (d / "host_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"[{HOST}]:{port} {host_pub[0]} {host_pub[1]}\n")
    # ControlPath must be short (unix socket path limit), so not under tmp_path.
    control_dir = Path(tempfile.mkdtemp(prefix="rr-ssh-", dir="/tmp"))
    (d / "ssh_config").write_text(f"""\
Host {" ".join(aliases)}
  HostName {HOST}
  Port {port}
  User {getpass.getuser()}
  IdentityFile {d / "client_key"}
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking yes
  UserKnownHostsFile {d / "known_hosts"}
  ControlMaster auto
  ControlPath {control_dir}/%C
  ControlPersist 20
  LogLevel ERROR
Host lanhost-down
  HostName {HOST}
  Port {free_port()}
  BatchMode yes
  ConnectTimeout 5
  ControlMaster no
""")
    log = d / "sshd.log"
    proc = _start([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], log, port)
    srv = SSHServer(port, d, d / "ssh_config", tuple(aliases), log, control_dir)
    try:
        r = srv.ssh(aliases[0], "echo ok")
        if r.stdout.strip() != "ok":
            raise RuntimeError(f"ssh to the test sshd failed: {r.stderr}\n{log.read_text()}")
        yield srv
    finally:
        for alias in aliases:  # close the control masters (they hold sessions open)
            subprocess.run(
                ["ssh", "-F", str(d / "ssh_config"), "-O", "exit", alias],
                capture_output=True,
                timeout=30,
            )
        sessions = _children(proc.pid)
        stop(proc)
        for pid in sessions:  # per-connection sshd processes outlive the listener
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        shutil.rmtree(control_dir, ignore_errors=True)


# ------------------------------------------------- missing programs ---


def unavailable(what: str):
    """Skip (a developer's machine without the program), or fail under CI=true
    (.ci/run installs it, so missing means the install step broke)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: .ci/run should have installed it)", pytrace=False)
    pytest.skip(what)


# ------------------------------------------------------------------ Azure ---

# Azurite's fixed development account (public, documented by Microsoft).
AZ_ACCOUNT = "devstoreaccount1"
AZ_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_bin() -> str | None:
    """Azurite's blob server: $RINGRIFT_AZURITE, the copy .ci/run installs
    into .azurite/ (npm), or one on PATH."""
    for cand in (
        os.environ.get("RINGRIFT_AZURITE"),
        REPO / ".azurite" / "node_modules" / ".bin" / "azurite-blob",
        shutil.which("azurite-blob"),
    ):
        if cand and os.access(cand, os.X_OK):
            return str(cand)
    return None


@dataclass
class AzuriteServer:
    endpoint: str  # http://127.0.0.1:PORT/devstoreaccount1
    container: str
    log: Path

    def connection_string(self, endpoint=None) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZ_ACCOUNT};AccountKey={AZ_KEY};"
            f"BlobEndpoint={endpoint or self.endpoint};"
        )

    def env(self) -> dict:
        """For the CLI (adlfs, polars) and for Snakemake's Azure plugin (whose
        only way to take a connection string is AZURITE_CONNECTION_STRING)."""
        cs = self.connection_string()
        return {
            "AZURE_STORAGE_CONNECTION_STRING": cs,
            "AZURITE_CONNECTION_STRING": cs,
            "SNAKEMAKE_STORAGE_AZURE_ACCOUNT_NAME": AZ_ACCOUNT,
        }

    def fs(self):
        import adlfs

        return adlfs.AzureBlobFileSystem(
            connection_string=self.connection_string(), skip_instance_cache=True
        )


@contextlib.contextmanager
def azurite(workdir: Path, container: str = "ringrift-test"):
    exe = azurite_bin()
    if not exe or not shutil.which("node"):
        unavailable(
            "Azurite not installed (npm install --prefix .azurite azurite; "
            "see .ci/run) or node missing"
        )
    port = free_port()
    log = Path(workdir) / "azurite.log"
    proc = _start(
        [
            exe,
            "--blobHost",
            HOST,
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ],
        log,
        port,
    )
    try:
        srv = AzuriteServer(f"http://{HOST}:{port}/{AZ_ACCOUNT}", container, log)
        srv.fs().mkdir(container)
        yield srv
    finally:
        stop(proc)


# ------------------------------------------------------------------ Slurm ---

SLURM_PROGRAMS = (
    "munged",
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "scancel",
    "scontrol",
    "sinfo",
    "srun",
)
# Where Slurm's commands look for the config after $SLURM_CONF and
# /etc/slurm/slurm.conf: a configless slurmd links its cached copy here. Jobs
# need it: snakemake-executor-plugin-slurm-jobstep drops SLURM_* variables,
# SLURM_CONF included, before its nested srun.
RUN_CONF = Path("/run/slurm/conf/slurm.conf")


@dataclass
class SlurmCluster:
    dir: Path
    conf: Path
    node: str
    partitions: tuple

    def env(self) -> dict:
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *cmd) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(cmd), capture_output=True, text=True, timeout=60, env={**os.environ, **self.env()}
        )


def _slurm_conf(d: Path, node: str, ctld_port: int, d_port: int) -> str:
    cpus = os.cpu_count() or 1
    return f"""\
ClusterName=ringrift-test
SlurmctldHost={node}({HOST})
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={d}/munge/socket
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
KillWait=5
MinJobAge=600
NodeName={node} NodeAddr={HOST} CPUs={cpus} RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=ringrift Nodes=ALL Default=NO MaxTime=INFINITE State=UP
"""


@contextlib.contextmanager
def slurm_cluster(workdir: Path):
    search = f"/usr/sbin:/usr/bin:{os.environ.get('PATH', '')}"
    missing = [p for p in SLURM_PROGRAMS if not shutil.which(p, path=search)]
    if missing:
        unavailable(
            f"Slurm not installed: no {', '.join(missing)} "
            "(apt-get install slurmctld slurmd slurm-client munge)"
        )
    if os.geteuid() != 0:
        unavailable("a test Slurm cluster needs root (slurmd starts jobs as their user)")
    if Path("/etc/slurm/slurm.conf").exists():
        unavailable(
            "this machine has its own /etc/slurm/slurm.conf: not starting a test cluster beside it"
        )
    import fcntl

    RUN_CONF.parent.mkdir(parents=True, exist_ok=True)
    lock = open(RUN_CONF.parent.parent / ".ringrift-test.lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one test cluster per machine at a time
    # A short path (unix socket names are limited to 108 bytes), private:
    # munged refuses keys in group/world-writable folders.
    d = Path(tempfile.mkdtemp(prefix="rr-slurm-", dir="/tmp"))
    procs = []
    try:
        for sub in ("munge", "state", "spool"):
            (d / sub).mkdir(mode=0o700)
        key = d / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        node = socket.gethostname().split(".")[0]
        conf = d / "slurm.conf"
        conf.write_text(_slurm_conf(d, node, free_port(), free_port()))
        munged = shutil.which("munged", path="/usr/sbin:/usr/bin")
        procs.append(
            subprocess.Popen(
                [
                    munged,
                    "-F",
                    "-f",
                    f"--key-file={key}",
                    f"--socket={d}/munge/socket",
                    f"--pid-file={d}/munge/munged.pid",
                    f"--log-file={d}/munge/munged.log",
                    f"--seed-file={d}/munge/seed",
                ],
                stdout=open(d / "munged.out", "wb"),
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        _wait_for(lambda: (d / "munge" / "socket").exists(), 20, d / "munged.out")
        env = {**os.environ, "SLURM_CONF": str(conf)}
        for daemon in ("slurmctld", "slurmd"):
            exe = shutil.which(daemon, path="/usr/sbin:/usr/bin")
            procs.append(
                subprocess.Popen(
                    [exe, "-D", "-f", str(conf)],
                    env=env,
                    stdout=open(d / f"{daemon}.out", "wb"),
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        RUN_CONF.unlink(missing_ok=True)
        RUN_CONF.symlink_to(conf)
        cluster = SlurmCluster(d, conf, node, ("debug", "ringrift"))

        def idle():
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(
                        f"{p.args[0]} exited: {(d / 'slurmctld.out').read_text()}"
                        f"{(d / 'slurmd.out').read_text()}"[-3000:]
                    )
            return "idle" in cluster.run("sinfo", "-h", "-o", "%T").stdout

        _wait_for(idle, 60, d / "slurmd.out")
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(
                ["scancel", "--full", "--quiet", "--user", getpass.getuser()],
                env={**os.environ, "SLURM_CONF": str(d / "slurm.conf")},
                capture_output=True,
                timeout=30,
            )
        for p in reversed(procs):
            stop(p)
        with contextlib.suppress(OSError):
            if RUN_CONF.is_symlink() and RUN_CONF.resolve().is_relative_to(d):
                RUN_CONF.unlink()
        lock.close()
        # keep the daemons' logs with the test's files; the short-path folder goes
        for f in [*d.glob("*.log"), *d.glob("*.out"), d / "slurm.conf"]:
            with contextlib.suppress(OSError):
                shutil.copy(f, workdir)
        shutil.rmtree(d, ignore_errors=True)


def _wait_for(cond, timeout: float, log: Path) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.3)
    tail = log.read_text()[-3000:] if log.exists() else ""
    raise RuntimeError(f"timed out after {timeout} s: {tail}")


# ---------------------------------------------------- reference dataset ---

MINI = """\
prefix: results
datasets:
  mini:
    board_type: square8
    num_players: 2
    total_games: 4
    workers: 2
    games_per_part: 2
    engine_mode: random
    difficulty_band: light
    sample_every_n_moves: 10
    seed: 5
    jsonl: true
"""
MINI_AGGREGATE = "results/mini/combined_training.parquet"
_REFERENCE = {}


def mini_reference(tmp_root: Path) -> bytes:
    """The MINI dataset's aggregate from one uninterrupted local run (made
    once per test session): what every other executor and store must
    reproduce byte for byte."""
    if "mini" not in _REFERENCE:
        wd = checkout(Path(tmp_root) / "mini-reference", MINI)
        snakemake(wd, "--profile", "profiles/local", "--cores", "2", MINI_AGGREGATE, env=base_env())
        _REFERENCE["mini"] = (wd / MINI_AGGREGATE).read_bytes()
    return _REFERENCE["mini"]


# ------------------------------------------------------------ checkouts ---

REPO = Path(__file__).resolve().parents[1]


def checkout(path: Path, config_text: str) -> Path:
    """A stand-in checkout of this repository at ``path`` (symlinks to the
    workflow, profiles and scripts, its own config/config.yaml), so the
    profiles run exactly as users run them: ``snakemake --profile profiles/X``
    from the checkout. ``.venv/bin/python`` runs this interpreter (the LAN
    scripts put a host's ``workdir/.venv/bin`` first on PATH)."""
    path = Path(path)
    path.mkdir(parents=True)
    for name in ("workflow", "profiles"):
        (path / name).symlink_to(REPO / name)
    (path / "config").mkdir()
    (path / "config" / "config.yaml").write_text(config_text)
    venv_bin = path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    wrapper = venv_bin / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    return path


def base_env(**extra) -> dict:
    """The caller's environment without any real cloud settings, this
    interpreter's bin folder first on PATH, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "AWS_",
                "SNAKEMAKE_",
                "GOOGLE_",
                "STORAGE_EMULATOR",
                "GCSFS_",
                "RINGRIFT_LAN_",
                "RINGRIFT_S3_",
                "RINGRIFT_GCS_",
                "RINGRIFT_IMAGE",
                "AZURE_",
                "AZURITE_",
                "RINGRIFT_AZ",
                "SLURM_",
                "SBATCH_",
                "SQUEUE_",
                "RINGRIFT_SLURM_",
            )
        )
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def snakemake(cwd: Path, *args, env=None, check=True, timeout=600) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and p.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({p.returncode}):\n"
            + p.stdout[-4000:]
            + p.stderr[-6000:]
        )
    return p


def job_counts(result) -> dict:
    """{rule: count} from the job stats table Snakemake prints (a dry run
    prints it on stdout, a real run in its log on stderr)."""
    output = result if isinstance(result, str) else result.stdout + "\n" + result.stderr
    counts, in_table = {}, False
    for line in output.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table, counts = True, {}
            continue
        if in_table:
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] != "total":
                    counts[parts[0]] = int(parts[1])
            elif parts and not set(parts[0]) <= {"-"}:
                in_table = False
    return counts


# --------------------------------------------------------------- fixtures ---


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    with moto_s3(tmp_path_factory.mktemp("moto")) as srv:
        yield srv


@pytest.fixture(scope="module")
def gcs_server(tmp_path_factory):
    with gcs_emulator(tmp_path_factory.mktemp("gcs")) as srv:
        yield srv


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory):
    with sshd(tmp_path_factory.mktemp("ssh")) as srv:
        yield srv


@pytest.fixture(scope="module")
def azurite_server(tmp_path_factory):
    with azurite(tmp_path_factory.mktemp("azurite")) as srv:
        yield srv


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    with slurm_cluster(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster
