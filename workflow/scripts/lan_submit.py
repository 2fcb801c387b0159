#!/usr/bin/env python3
"""Submit one Snakemake job script to a LAN machine over SSH (profiles/lan).

Snakemake's cluster-generic executor calls ``lan_submit.py JOBSCRIPT``; this
picks the host from ``config/hosts.yaml`` with the most free slots (asking each
host what is running in its job folder), copies the job script there and starts
it detached (``setsid nohup``), then prints the job id ``host:pid:jobfolder``
that ``lan_status.py`` and ``lan_cancel.py`` take.

Credentials: Snakemake writes the variables it passes to jobs (storage plugin
settings such as ``SNAKEMAKE_STORAGE_S3_SECRET_KEY``, ``--envvars``) as an
``export NAME='value' ... &&`` prefix into the job script. That prefix is
removed from the copy sent to the host; the values travel over the ssh channel
(stdin) into the job's environment only and are never written to disk there.
Snakemake's own copy (``.snakemake/tmp.*/snakejob.*.sh``, removed only when
Snakemake exits normally) is rewritten without them as soon as it is read, and
each submission also scrubs job scripts left by earlier runs that were killed
(older than ``RINGRIFT_LAN_SCRUB_AFTER_S`` seconds, default 300: a live run
submits a script right after writing it).

Environment: ``RINGRIFT_LAN_HOSTS`` (hosts file, default config/hosts.yaml in
the working directory), ``RINGRIFT_LAN_SSH_CONFIG`` (``ssh -F`` file).
Standard library only (PyYAML if present, else the hosts file must be JSON).
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid

DEFAULT_HOSTS = "config/hosts.yaml"
SSH_BASE_OPTIONS = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
SSH_TIMEOUT = 60


class LanError(Exception):
    pass


# ------------------------------------------------------------------ hosts ---


def load_hosts(path: str | None = None) -> dict:
    """The hosts file as {"hosts": [{host, slots, jobdir, workdir, venv}], "ssh_options": [...]}."""
    path = path or os.environ.get("RINGRIFT_LAN_HOSTS") or DEFAULT_HOSTS
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError as exc:
        raise LanError(f"cannot read hosts file {path}: {exc.strerror}") from None
    try:
        import yaml

        data = yaml.safe_load(text)
    except ImportError:
        try:
            data = json.loads(text)
        except ValueError:
            raise LanError(
                f"{path}: PyYAML is not installed for {sys.executable}; run "
                "snakemake from the project's environment"
            ) from None
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), list) or not data["hosts"]:
        raise LanError(f"{path}: expected a mapping with a non-empty 'hosts' list")
    defaults = dict(data.get("defaults") or {})
    hosts = []
    for i, entry in enumerate(data["hosts"]):
        if isinstance(entry, str):
            entry = {"host": entry}
        if not isinstance(entry, dict) or not entry.get("host"):
            raise LanError(f"{path}: hosts[{i}] needs a 'host' (ssh destination)")
        h = {**defaults, **entry}
        h["slots"] = int(h.get("slots", 1))
        if h["slots"] < 1:
            raise LanError(f"{path}: hosts[{i}] slots must be at least 1")
        h.setdefault("jobdir", "~/.cache/ringrift-lan")
        h.setdefault("workdir", os.getcwd())
        h.setdefault("venv", None)
        if ":" in str(h["host"]):
            raise LanError(f"{path}: host names must not contain ':' ({h['host']})")
        hosts.append(h)
    names = [h["host"] for h in hosts]
    if len(set(names)) != len(names):
        raise LanError(f"{path}: a host is listed twice")
    opts = data.get("ssh_options") or []
    if not isinstance(opts, list):
        raise LanError(f"{path}: ssh_options must be a list of ssh arguments")
    return {"hosts": hosts, "ssh_options": [str(o) for o in opts]}


def ssh_cmd(conf: dict, host: str) -> list[str]:
    cmd = ["ssh"]
    cfg = os.environ.get("RINGRIFT_LAN_SSH_CONFIG")
    if cfg:
        cmd += ["-F", cfg]
    return cmd + SSH_BASE_OPTIONS + conf.get("ssh_options", []) + [host]


def run_ssh(
    conf: dict, host: str, remote_cmd: str, stdin: str | None = None, timeout: float = SSH_TIMEOUT
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ssh_cmd(conf, host) + [remote_cmd],
        input=stdin,
        text=True,
        capture_output=True,
        timeout=timeout,
    )


def rpath(path: str) -> str:
    """A remote path for a shell command: ~ expands, everything else quoted."""
    path = str(path)
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


# -------------------------------------------------------------- job ids ---


def make_jobid(host: str, pid: int, rdir: str) -> str:
    return f"{host}:{pid}:{rdir}"


def parse_jobid(jobid: str) -> tuple[str, int, str]:
    try:
        host, pid, rdir = jobid.strip().split(":", 2)
        return host, int(pid), rdir
    except ValueError:
        raise LanError(f"not a LAN job id: {jobid!r}") from None


# --------------------------------------------------------- job scripts ---

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_QUOTED = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_ASSIGN = re.compile(rf"({_NAME})=({_QUOTED})")
_EXPORT = re.compile(rf"export\s+((?:{_NAME}=(?:{_QUOTED})\s*)+)&&\s*")


def split_env(script: str) -> tuple[str, dict]:
    """Remove Snakemake's ``export NAME='value' ... &&`` declarations from a job
    script; return the scrubbed script and the variables (values are Python
    reprs, as Snakemake writes them)."""
    env = {}

    def take(m):
        for name, quoted in _ASSIGN.findall(m.group(1)):
            env[name] = ast.literal_eval(quoted)
        return ""

    return _EXPORT.sub(take, script), env


def _rewrite(path: str, text: str) -> None:
    """Replace ``path`` by ``text`` (same mode; atomic: a reader sees the old
    or the new script, never half of one)."""
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, os.stat(path).st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def scrub_jobscript(path: str) -> bool:
    """Remove the ``export NAME='value' ... &&`` declarations from a job
    script on this machine; True if there were any."""
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError:
        return False
    scrubbed, env = split_env(text)
    if not env:
        return False
    _rewrite(path, scrubbed)
    return True


def scrub_stale_jobscripts(jobscript: str, older_than: float | None = None) -> list[str]:
    """Scrub job scripts that Snakemake runs killed before cleaning up left in
    ``.snakemake/tmp.*/`` next to ``jobscript``'s folder (only scripts older
    than ``older_than`` seconds: a live run's script is submitted, and so
    scrubbed, right after it is written)."""
    if older_than is None:
        older_than = float(os.environ.get("RINGRIFT_LAN_SCRUB_AFTER_S", 300))
    here = os.path.dirname(os.path.abspath(jobscript))
    top = os.path.dirname(here)
    if not (os.path.basename(here).startswith("tmp.") and os.path.basename(top) == ".snakemake"):
        return []
    done = []
    now = time.time()
    for d in sorted(os.listdir(top)):
        if not d.startswith("tmp."):
            continue
        folder = os.path.join(top, d)
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if not (name.startswith("snakejob.") and name.endswith(".sh")):
                continue
            try:
                if now - os.stat(path).st_mtime < older_than:
                    continue
            except OSError:
                continue
            if scrub_jobscript(path):
                done.append(path)
    return done


def job_properties(script: str) -> dict:
    for line in script.splitlines()[:5]:
        if line.startswith("# properties = "):
            try:
                return json.loads(line[len("# properties = ") :])
            except ValueError:
                return {}
    return {}


# -------------------------------------------------------------- placing ---

LOAD_CMD = (
    "n=0; for d in {jobdir}/{alias}/*/; do "
    '[ -f "$d/pid" ] || continue; [ -f "$d/rc" ] && continue; '
    'kill -0 "$(cat "$d/pid")" 2>/dev/null || continue; '
    't=$(cat "$d/threads" 2>/dev/null || echo 1); n=$((n + t)); done; echo "$n"'
)


def host_load(conf: dict, h: dict) -> int | None:
    """Threads of live jobs in the host's job folder (None: host unreachable)."""
    try:
        r = run_ssh(
            conf,
            h["host"],
            LOAD_CMD.format(jobdir=rpath(h["jobdir"]), alias=shlex.quote(h["host"])),
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return None
    if r.returncode != 0:
        print(f"lan_submit: {h['host']} unreachable: {r.stderr.strip()}", file=sys.stderr)
        return None
    try:
        return int(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def choose_host(conf: dict, threads: int) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(16, len(conf["hosts"]))) as pool:
        loads = list(pool.map(lambda h: host_load(conf, h), conf["hosts"]))
    best, best_key = None, None
    for order, (h, load) in enumerate(zip(conf["hosts"], loads)):
        if load is None:
            continue
        free = h["slots"] - load
        # most free slots first; then the lower relative load; then file order
        key = (free >= threads, free, -load / h["slots"], -order)
        if best_key is None or key > best_key:
            best, best_key = h, key
    if best is None:
        raise LanError("no host in the hosts file is reachable over ssh")
    if not best_key[0]:
        print(
            f"lan_submit: every host is full; oversubscribing {best['host']} "
            "(set jobs: to the total slots in the profile)",
            file=sys.stderr,
        )
    return best


# -------------------------------------------------------------- launch ---


def launch_script(h: dict, name: str, script: str, env: dict, threads: int) -> str:
    """Bash program fed to ``ssh host bash -s``: writes the job folder, exports
    the forwarded variables in memory and starts the job detached."""
    rdir = f"{rpath(h['jobdir'])}/{shlex.quote(h['host'])}/{shlex.quote(name)}"
    payload = base64.b64encode(script.encode()).decode()
    # RINGRIFT_LAN_HOST tells the job it runs on a LAN host: its first job
    # there fills the host's Numba cache (workflow/rules/common.smk)
    pre = [f"cd {rpath(h['workdir'])}", f"export RINGRIFT_LAN_HOST={shlex.quote(h['host'])}"]
    if h.get("venv"):
        pre.append(f'export PATH={rpath(h["venv"])}/bin:"$PATH"')
    else:
        pre.append('if [ -x .venv/bin/python ]; then export PATH="$PWD/.venv/bin:$PATH"; fi')
    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
    inner = (
        'rdir=$1; echo $$ > "$rdir/pid.tmp" && mv "$rdir/pid.tmp" "$rdir/pid"; '
        f'( {" && ".join(pre)} && exec bash "$rdir/job.sh" ) > "$rdir/log" 2>&1; '
        'echo $? > "$rdir/rc.tmp" && mv "$rdir/rc.tmp" "$rdir/rc"'
    )
    return f"""set -eu
mask=$(umask)
umask 077
rdir={rdir}
mkdir -p "$rdir"
printf %s {payload} | base64 -d > "$rdir/job.sh"
echo {int(threads)} > "$rdir/threads"
printf '%s\\n' {" ".join(shlex.quote(k) for k in env) or "''"} > "$rdir/env.names"
{exports}
umask "$mask"
setsid nohup bash -c {shlex.quote(inner)} _ "$rdir" < /dev/null > /dev/null 2>&1 &
for i in $(seq 100); do [ -f "$rdir/pid" ] && break; sleep 0.05; done
cat "$rdir/pid"
"""


def submit(jobscript: str) -> str:
    with open(jobscript) as fh:
        script = fh.read()
    scrubbed, env = split_env(script)
    if env:  # Snakemake's copy keeps the values until it exits normally: drop them now
        _rewrite(jobscript, scrubbed)
    scrub_stale_jobscripts(jobscript)
    conf = load_hosts()
    props = job_properties(script)
    threads = max(1, int(props.get("threads", 1) or 1))
    h = choose_host(conf, threads)
    base = os.path.basename(jobscript).removesuffix(".sh").replace(":", "_")
    name = f"{base}.{time.strftime('%Y%m%dT%H%M%S')}.{uuid.uuid4().hex[:8]}"
    r = run_ssh(conf, h["host"], "bash -s", stdin=launch_script(h, name, scrubbed, env, threads))
    if r.returncode != 0 or not r.stdout.strip().isdigit():
        raise LanError(f"starting the job on {h['host']} failed: {r.stderr.strip() or r.stdout}")
    rdir = f"{h['jobdir'].rstrip('/')}/{h['host']}/{name}"
    return make_jobid(h["host"], int(r.stdout.strip()), rdir)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: lan_submit.py [ARGS...] JOBSCRIPT", file=sys.stderr)
        return 2
    try:
        print(submit(argv[-1]), flush=True)
    except (LanError, subprocess.TimeoutExpired) as exc:
        print(f"lan_submit: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
