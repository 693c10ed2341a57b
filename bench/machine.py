"""What every benchmark here needs: the machine it ran on, processes, ports, CPU shares.

Shared by bench/webhooks.py, bench/views.py, bench/outbox.py and bench/profile_webhooks.py.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """A subprocess in its own session, its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group of the process we started
            self.proc.wait(timeout=10)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def http_call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_until_up(process: Process, port: int, method: str, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise SystemExit(f"{process.name} exited during start-up:\n{process.tail()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = http_call(port, method, path, body=b"{}" if method == "POST" else None)
            if status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{process.name} did not answer {method} {path} within {timeout}s")


@dataclass(frozen=True)
class ProcCPU:
    comm: str
    ppid: int
    user: float  # CPU seconds so far
    system: float


def process_cpu() -> dict[int, ProcCPU]:
    """Every process's CPU time so far, from /proc/PID/stat."""
    out: dict[int, ProcCPU] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        rest = text[text.rindex(")") + 2 :].split()
        out[int(entry.name)] = ProcCPU(
            comm, int(rest[1]), int(rest[11]) / TICKS, int(rest[12]) / TICKS
        )
    return out


def cpu_split(
    before: dict[int, ProcCPU], after: dict[int, ProcCPU], roles: dict[int, str], wall: float
) -> dict[str, tuple[float, float]]:
    """Cores used by each role during the run, (user, system); a role covers its descendants."""
    split: dict[str, tuple[float, float]] = {}
    for pid, now in after.items():
        then = before.get(pid)
        if then is None or then.comm != now.comm:
            then = ProcCPU(now.comm, now.ppid, 0.0, 0.0)
        role, parent, hops = roles.get(pid), now.ppid, 0
        while role is None and parent > 1 and hops < 64:
            role = roles.get(parent)
            parent = after[parent].ppid if parent in after else 0
            hops += 1
        if role is None and (pid == 2 or now.ppid == 2):
            role = "kernel"  # kernel threads: loopback networking, block I/O
        if role is None:
            role = "postgresql" if now.comm == "postgres" else "other"
        user, system = split.get(role, (0.0, 0.0))
        split[role] = (
            user + (now.user - then.user) / wall,
            system + (now.system - then.system) / wall,
        )
    return split


def wait_for_quiet(limit: float, busy_at_most: float = 0.15, quiet_seconds: int = 2) -> None:
    """Before a timed run, wait up to ``limit`` s for the machine to be idle for a while.

    The machine may be shared (tests, other benchmarks); our own idle processes
    use a few percent at most.
    """
    started = time.monotonic()
    quiet = 0
    while quiet < quiet_seconds:
        busy0, total0 = cpu_times()
        time.sleep(1)
        busy1, total1 = cpu_times()
        busy = (busy1 - busy0) / max(1, total1 - total0)
        quiet = quiet + 1 if busy <= busy_at_most else 0
        if quiet < quiet_seconds and time.monotonic() - started > limit:
            print(f"  !! the machine is still {busy:.0%} busy before the run; going on anyway")
            return


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def version_of(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError:
        return "not installed"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT version()").fetchone()
    return str(row[0]) if row else "unknown"


def package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"
