"""Throwaway servers for the scale-out tests, all bound to 127.0.0.1.

* ``moto_s3()``: ``moto_server`` (the S3 API) on a free port.
* ``gcs_emulator()``: ``gcp-storage-emulator`` (in memory) with one bucket.
* ``sshd()``: an OpenSSH server on a free high port with a throwaway host key
  and client key, plus an ssh_config that maps the aliases ``lanhost1`` and
  ``lanhost2`` to it (two "machines" on loopback) and ``lanhost-down`` to a
  port nobody listens on (a machine that is off).

Each is a context manager that stops what it started (by process id) on exit;
the pytest fixtures at the bottom wrap them. Import the fixtures into a test
module (``from servers import s3_server  # noqa: F401``) to use them.
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
    proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env)
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
        return {"AWS_ACCESS_KEY_ID": FAKE_KEY, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
                "AWS_DEFAULT_REGION": "us-east-1",
                "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": self.endpoint}

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=FAKE_KEY, aws_secret_access_key=FAKE_SECRET)

    def fs(self):
        import s3fs
        return s3fs.S3FileSystem(key=FAKE_KEY, secret=FAKE_SECRET,
                                 client_kwargs={"endpoint_url": self.endpoint,
                                                "region_name": "us-east-1"},
                                 use_listings_cache=False)


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
        return {"STORAGE_EMULATOR_HOST": self.endpoint,
                "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
                "GOOGLE_CLOUD_PROJECT": "test-project"}


@contextlib.contextmanager
def gcs_emulator(workdir: Path, bucket: str = "ringrift-test"):
    pytest.importorskip("gcp_storage_emulator",
                        reason="gcp-storage-emulator is not installed (test extra)")
    port = free_port()
    log = Path(workdir) / "gcs_emulator.log"
    proc = _start([sys.executable, "-m", "gcp_storage_emulator", "start", "--host", HOST,
                   "--port", str(port), "--default-bucket", bucket, "--no-store-on-disk"],
                  log, port)
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
        return subprocess.run(["ssh", "-F", str(self.ssh_config), host, command],
                              capture_output=True, text=True, timeout=60, **kw)


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
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)],
                       check=True)
    shutil.copy(d / "client_key.pub", d / "authorized_keys")
    os.chmod(d / "authorized_keys", 0o600)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation dir
    port = free_port()
    (d / "sshd_config").write_text(f"""\
Port {port}
ListenAddress {HOST}
HostKey {d / 'host_key'}
PidFile {d / 'sshd.pid'}
AuthorizedKeysFile {d / 'authorized_keys'}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
MaxStartups 100:30:200
MaxSessions 100
""")
    host_pub = (d / "host_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"[{HOST}]:{port} {host_pub[0]} {host_pub[1]}\n")
    # ControlPath must be short (unix socket path limit), so not under tmp_path.
    control_dir = Path(tempfile.mkdtemp(prefix="rr-ssh-", dir="/tmp"))
    (d / "ssh_config").write_text(f"""\
Host {' '.join(aliases)}
  HostName {HOST}
  Port {port}
  User {getpass.getuser()}
  IdentityFile {d / 'client_key'}
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking yes
  UserKnownHostsFile {d / 'known_hosts'}
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
            subprocess.run(["ssh", "-F", str(d / "ssh_config"), "-O", "exit", alias],
                           capture_output=True, timeout=30)
        sessions = _children(proc.pid)
        stop(proc)
        for pid in sessions:  # per-connection sshd processes outlive the listener
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        shutil.rmtree(control_dir, ignore_errors=True)


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
    for name in ("Snakefile", "workflow", "profiles"):
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
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "SNAKEMAKE_", "GOOGLE_", "STORAGE_EMULATOR", "GCSFS_",
                                "RINGRIFT_LAN_", "RINGRIFT_S3_", "RINGRIFT_GCS_",
                                "RINGRIFT_IMAGE"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def snakemake(cwd: Path, *args, env=None, check=True, timeout=600) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({p.returncode}):\n"
                             + p.stdout[-4000:] + p.stderr[-6000:])
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
