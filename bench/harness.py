"""What every benchmark shares: options, the database and the parts (from api/bootstrap.py),
accounts and customers' first messages, processes, the load (wrk, or Python keep-alive
connections), CPU shares, the machine, and figures (percentiles, rates, ratios)."""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import functools
import http.client
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import psycopg
from falcon import testing

from adapters.settings import Settings
from adapters.zalo import translate
from api import bootstrap
from api.server import gunicorn_options
from api.services import Services
from domain import identity
from domain.application import Zalodesk
from domain.clock import Clock, system_clock
from domain.contact import Contact
from tests.support import fake_zalo, zalo
from tests.support.databases import fresh_database

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "bench-admin-token"
APP_SECRET, ACCESS_TOKEN, REFRESH_TOKEN = "bench-app-secret", "bench-access", "bench-refresh"
OA_SECRET_KEY = "bench-oa-secret-key-" + "k" * 12
WEEK = 7 * 24 * 3600
TEXTS = (
    "Chào shop, mình muốn hỏi về đơn hàng số {n} ạ",
    "Đơn {n} của mình bao giờ giao vậy shop?",
    "Cho mình đổi size áo trong đơn {n} được không?",
    "ok cảm ơn shop nhiều 👍 ({n})",
)

Opts = TypeVar("Opts", bound="DataclassInstance")
R = TypeVar("R")


# ---------------------------------------------------------------------------
# Options: one flag per field of a benchmark's frozen dataclass


NO_QUICK = object()


def opt(default: Any, help: str, quick: Any = NO_QUICK) -> Any:
    """A field of a benchmark's options: its default, its line in --help, and its value with
    ``--quick`` (small and short), if that differs."""
    return dataclasses.field(default=default, metadata={"help": help, "quick": quick})


# The options several benchmarks take


def quiet_wait(before: str) -> Any:
    return opt(120.0, f"before {before}, wait up to this long for a quiet machine", quick=5.0)


def keep(what: str) -> Any:
    return opt(False, f"keep the temporary folder: {what}")


def workers() -> Any:
    return opt(0, "gunicorn workers; 0: zalodesk's default, cores + 1")


def options(cls: type[Opts], argv: Sequence[str] | None = None) -> Opts:
    """``--chat-messages N`` for the field ``chat_messages``, and so on; a tuple field takes a
    comma list of numbers; ``--quick`` starts from the fields' ``quick`` values."""
    defaults, module = cls(), sys.modules[cls.__module__]
    parser = argparse.ArgumentParser(
        prog=f"python -m {module.__spec__.name}" if module.__spec__ else None,
        description=(module.__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument(
        "--quick", action="store_true", help="small and short: shows it works, not figures"
    )
    for f in dataclasses.fields(cls):
        default, flag = getattr(defaults, f.name), "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", default=None, help=f.metadata["help"])
            continue
        if isinstance(default, tuple):
            kind: Callable[[str], Any] = lambda s: tuple(map(int, s.split(",")))  # noqa: E731
            default = ",".join(map(str, default))
        else:
            kind = type(default)
        shown = f" (default {default})" if default != "" else ""
        parser.add_argument(flag, type=kind, help=f.metadata["help"] + shown)
    given = vars(parser.parse_args(argv))
    start = defaults
    if given.pop("quick"):
        quick = {f.name: f.metadata["quick"] for f in dataclasses.fields(cls)}
        start = dataclasses.replace(
            defaults, **{k: v for k, v in quick.items() if v is not NO_QUICK}
        )
    return dataclasses.replace(start, **{k: v for k, v in given.items() if v is not None})


# ---------------------------------------------------------------------------
# The database and the parts, as the composition root builds them


# One data folder for the run, in this process and the commands it starts: the database's
# account credentials are bound to the key file kept there. Processes a benchmark spawns
# (bench.replay runs each step in one) import this anew: they find the folder in the
# environment they inherit.
DATA_DIR = Path(
    os.environ.setdefault("ZALODESK_BENCH_DATA_DIR", tempfile.mkdtemp(prefix="zalodesk-bench-"))
)


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A database of its own on the tests' server (tests/support/databases.py), its schema
    prepared as the service prepares it; dropped at the end."""
    with fresh_database("zalodesk_bench") as url:
        bootstrap.open_database(Settings(database_url=url, data_dir=DATA_DIR))
        yield url


def settings(url: str, **changes: Any) -> Settings:
    return Settings(database_url=url, admin_token=ADMIN_TOKEN, data_dir=DATA_DIR, **changes)


@contextlib.contextmanager
def services(config: Settings, clock: Clock = system_clock) -> Iterator[Services]:
    """The parts of the service (application, pool, views, queries, log), closed at the end."""
    assert config.database_url is not None
    built = bootstrap.build(config, config.database_url, clock)
    try:
        yield built
    finally:
        built.close()


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    """A temporary folder for logs and request files; ``keep`` leaves it for reading."""
    path = Path(tempfile.mkdtemp(prefix="zalodesk-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"logs kept in {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------
# Accounts and customers


def account_form(
    name: str = "Benchmark OA", oa_id: str = zalo.OA_ID, inactivity: int = WEEK, **secrets: str
) -> dict[str, Any]:
    """The body of POST /api/accounts; a week of quiet before a chat ends, unless told."""
    return {
        "name": name,
        "app_id": zalo.APP_ID,
        "oa_id": oa_id,
        "app_secret": APP_SECRET,
        "oa_secret_key": OA_SECRET_KEY,
        "access_token": ACCESS_TOKEN,
        "refresh_token": REFRESH_TOKEN,
        "chat_inactivity_seconds": inactivity,
        **secrets,
    }


def connect_accounts(services: Services, forms: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
    """Connected through the HTTP API, in this process, as an admin connects them."""
    client = testing.TestClient(
        bootstrap.http_app(services), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    ids = []
    for form in forms:
        result = client.simulate_post("/api/accounts", json=form)
        if result.status_code != 201:
            raise SystemExit(f"POST /api/accounts answered {result.status}: {result.text[:300]}")
        ids.append(uuid.UUID(result.json["id"]))
    return ids


def customer_text(n: int) -> str:
    return TEXTS[n % len(TEXTS)].format(n=n)


def receive(app: Zalodesk, account_id: uuid.UUID, body: dict[str, Any]) -> None:
    """A webhook body handed to the application as the webhook resource hands it over."""
    raw = zalo.compact(body)
    app.receive(translate.translate(account_id, raw, translate.parse(raw)))


def contact(app: Zalodesk, account_id: uuid.UUID, customer: str) -> Contact:
    found: object = app.repository.get(identity.contact_id(account_id, customer))
    assert isinstance(found, Contact)
    return found


def first_message(app: Zalodesk, account_id: uuid.UUID, customer: str, text: str) -> uuid.UUID:
    """A customer's first text, which opens a ticket and a chat: the chat's id."""
    receive(app, account_id, zalo.user_text(customer, text, msg_id=uuid.uuid4().hex))
    chat_id = contact(app, account_id, customer).active_chat_id
    assert chat_id is not None
    return chat_id


def in_threads(threads: int, count: int, work: Callable[[int], R]) -> tuple[list[R], float]:
    """work(0), ..., work(count - 1) on ``threads`` threads: the results and the seconds."""
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(work, range(count)))
    return results, time.perf_counter() - started


# ---------------------------------------------------------------------------
# Processes: zalodesk's and the plain Falcon baseline


@dataclasses.dataclass
class Process:
    """A subprocess in its own session, its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
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

    def roles(self, role: str = "server") -> dict[int, str]:
        """For ``cores_used``: this process and its descendants as ``role``, this script as
        'bench'."""
        return {os.getpid(): "bench", **({self.proc.pid: role} if self.proc else {})}

    def serving(self, method: str, path: str, timeout: float = 60) -> Process:
        """Once it answers ``method path`` with 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                tail = self.log_path.read_text(errors="replace").splitlines()[-30:]
                raise SystemExit(f"{self.name} exited during start-up:\n" + "\n".join(tail))
            with contextlib.suppress(OSError, http.client.HTTPException):
                body = b"{}" if method == "POST" else None
                if http_call(self.port, Request(method, path, body)).status == 200:
                    return self
            time.sleep(0.2)
        raise SystemExit(f"{self.name} did not answer {method} {path} within {timeout}s")


@functools.cache
def zalo_platform() -> fake_zalo.FakeZalo:
    """The Zalo that the commands a benchmark starts call (a new customer's profile, a
    reply): a fake one in this process, started once, that names every customer."""
    fake = fake_zalo.FakeZalo(
        app_secret=APP_SECRET,
        access_token=ACCESS_TOKEN,
        refresh_token=REFRESH_TOKEN,
        rate_limit=None,
        name_everyone=True,
    )
    return fake.start()


def profiles_fetched(url: str, timeout: float = 600.0) -> str:
    """Once no customer waits for their Zalo profile (the worker looks up each new one, at
    most 50 a second), so that lookups never eat into a measured run: how long it took."""
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            row = conn.execute("SELECT count(*) FROM contacts WHERE profile_pending").fetchone()
            if row is not None and row[0] == 0:
                return f"profiles fetched {time.monotonic() - started:.1f} s later"
            time.sleep(0.5)
    return f"!! profiles still pending after {timeout:.0f} s; going on"


def zalodesk_env(url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of zalodesk's commands; settings already in ours are kept (to try one)."""
    zalo_api = zalo_platform()
    return {
        **os.environ,
        "ZALODESK_ZALO_API_BASE": zalo_api.api_base,
        "ZALODESK_ZALO_OAUTH_BASE": zalo_api.oauth_base,
        "ZALODESK_DATABASE_URL": url,
        "ZALODESK_ADMIN_TOKEN": ADMIN_TOKEN,
        "ZALODESK_DATA_DIR": str(DATA_DIR),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def zalodesk_worker(env: dict[str, str], tmp: Path) -> Process:
    argv = [sys.executable, "-m", "api", "worker"]
    return Process("zalodesk worker", argv, env, tmp / "worker.log").start()


def zalodesk_api(env: dict[str, str], log: Path, workers: int, threads: int) -> Process:
    """``zalodesk api`` under gunicorn, answering /healthz."""
    port = free_port()
    argv = [sys.executable, "-m", "api", "api", "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers), "--threads", str(threads)]
    return Process("zalodesk api", argv, env, log, port).start().serving("GET", "/healthz")


# gunicorn_options() key -> the gunicorn command-line flag that sets it.
GUNICORN_FLAGS = {
    "bind": "--bind",
    "workers": "--workers",
    "worker_class": "--worker-class",
    "threads": "--threads",
    "timeout": "--timeout",
    "graceful_timeout": "--graceful-timeout",
    "keepalive": "--keep-alive",
    "accesslog": "--access-logfile",
    "errorlog": "--error-logfile",
    "loglevel": "--log-level",
    "proc_name": "--name",
    "logger_class": "--logger-class",
}


def baseline(env: dict[str, str], log: Path, workers: int, threads: int) -> Process:
    """bench/baseline_app.py under the ``gunicorn`` executable, with zalodesk's options."""
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    argv = [gunicorn, "--chdir", str(ROOT)]
    for key, value in gunicorn_options(f"127.0.0.1:{port}", workers, threads).items():
        if value is not None:
            argv += [GUNICORN_FLAGS[key], str(value)]
    argv.append("bench.baseline_app:app")
    return Process("baseline", argv, env, log, port).start().serving("POST", "/webhooks/zalo/up")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_errors(log: Path, top: int = 3) -> str:
    """The most frequent unhandled errors in a zalodesk log (the last line of each traceback)."""
    found: collections.Counter[str] = collections.Counter()
    with contextlib.suppress(OSError):
        for line in log.read_text(errors="replace").splitlines():
            if '"level": "error"' in line:
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    text = str(record.get("error") or record.get("msg") or "").strip()
                    found[(text.splitlines() or ["?"])[-1][:200]] += 1
    return "\n".join(f"  !! {count} x {what}" for what, count in found.most_common(top))


# ---------------------------------------------------------------------------
# Load: Python keep-alive connections, or wrk


class Request(NamedTuple):
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] | None = None


class Answer(NamedTuple):
    status: int
    body: bytes


def http_call(port: int, request: Request, timeout: float = 60) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(request.method, request.path, request.body, request.headers or {})
        resp = conn.getresponse()
        return Answer(resp.status, resp.read())
    finally:
        conn.close()


@dataclasses.dataclass
class Timings:
    """Send to full answer, in seconds, in the order each connection sent."""

    seconds: list[float] = dataclasses.field(default_factory=list)
    sizes: list[int] = dataclasses.field(default_factory=list)
    errors: int = 0
    wall: float = 0.0


def closed_loop(port: int, requests: Sequence[Request], connections: int = 1) -> Timings:
    """Connection k of ``connections`` (keep-alive where the server allows it) sends requests
    k, k + connections, ... in order, each as soon as the answer to its last is read in full."""
    timings, lock = Timings(), threading.Lock()

    def client(share: Sequence[Request]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for request in share:
            started = time.perf_counter()
            try:
                conn.request(request.method, request.path, request.body, request.headers or {})
                resp = conn.getresponse()
                answer = Answer(resp.status, resp.read())
                if resp.will_close:
                    conn.close()  # reopened by the next request
            except (OSError, http.client.HTTPException):
                conn.close()
                answer = Answer(0, b"")
            took = time.perf_counter() - started
            with lock:
                timings.seconds.append(took)
                timings.sizes.append(len(answer.body))
                timings.errors += answer.status != 200
        conn.close()

    started = time.perf_counter()
    threads = [
        threading.Thread(target=client, args=(requests[k::connections],))
        for k in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.wall = time.perf_counter() - started
    return timings


def wrk(port: int, requests: Path, seconds: float, connections: int, label: str) -> Figures:
    """wrk, one thread, closed loop, sending the file's requests in order (bench/webhooks.lua);
    when they run out it starts again: zalodesk answers the repeats as duplicates."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    argv += ["-s", str(ROOT / "bench" / "webhooks.lua"), f"http://127.0.0.1:{port}"]
    done = subprocess.run([*argv, "--", str(requests)], capture_output=True, text=True, check=False)
    found = re.search(r"^WRKJSON (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or not found:
        raise SystemExit(f"wrk failed ({' '.join(argv)}):\n{done.stdout}\n{done.stderr}")
    f = json.loads(found.group(1))
    dup = f["duplicates"]
    note = f"duplicates {dup} (the request file ran out)" if dup else ""
    ms = {k: f[f"{k}_us"] / 1000 for k in ("p50", "p90", "p99", "max")}
    errors = sum(f[k] for k in WRK_ERRORS)
    return Figures(label, f["requests"], f["duration_us"] / 1e6, **ms, errors=errors, note=note)


WRK_ERRORS = ("connect_errors", "read_errors", "write_errors", "timeouts", "non200")


def wrk_version() -> str:
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout.strip().splitlines() or ["wrk"])[0].split(" Copyright")[0]


# ---------------------------------------------------------------------------
# Figures


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` (0..1) of the values at or below."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "-"


@dataclasses.dataclass(frozen=True)
class Figures:
    """A timed run: requests (or operations) answered, its wall time, latency in ms."""

    label: str
    count: int
    seconds: float
    p50: float
    p90: float
    p99: float
    max: float
    errors: int = 0
    note: str = ""

    @classmethod
    def of(cls, label: str, timings: Timings, note: str = "") -> Figures:
        ms = [s * 1000 for s in timings.seconds]
        p50, p90, p99 = (percentile(ms, q) for q in (0.5, 0.9, 0.99))
        return cls(label, len(ms), timings.wall, p50, p90, p99, max(ms), timings.errors, note)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def line(self, target_ms: float | None = None) -> str:
        text = (
            f"  {self.label:<40} {self.rate:7,.0f}/s  p50 {self.p50:6.1f} ms  p90 {self.p90:6.1f}"
            f"  p99 {self.p99:6.1f}  max {self.max:6.1f}  n {self.count:,}"
        )
        text += f"  errors {self.errors}" if self.errors else ""
        text += f"  {self.note}" if self.note else ""
        if target_ms is not None:
            text += "  ok" if self.p99 <= target_ms else f"  ABOVE {target_ms:.0f} ms"
        return text


def ratio(ours: Figures, base: Figures) -> str:
    return (
        f"zalodesk/baseline: throughput {ours.rate / max(base.rate, 1e-9):.3f}, "
        f"p99 {ours.p99 / max(base.p99, 1e-3):.1f}x ({ours.rate:,.0f}/s vs {base.rate:,.0f}/s; "
        f"p99 {ours.p99:.1f} ms vs {base.p99:.1f} ms)"
    )


def median_kib(sizes: Sequence[int]) -> str:
    return f"{statistics.median(sizes) / 1024:.1f} KiB" if sizes else ""


# ---------------------------------------------------------------------------
# CPU: who used the cores during a run, and waiting for a quiet machine

TICKS = os.sysconf("SC_CLK_TCK")


class ProcCPU(NamedTuple):
    comm: str
    ppid: int
    seconds: float  # CPU so far, user and system


def process_cpu() -> dict[int, ProcCPU]:
    """Every process's CPU time so far, from /proc/PID/stat."""
    out: dict[int, ProcCPU] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                text = (entry / "stat").read_text()
                comm_ends = text.rindex(")")  # the command name may hold spaces and brackets
                fields = text[comm_ends + 2 :].split()
                seconds = (int(fields[11]) + int(fields[12])) / TICKS  # user + system
                comm = text[text.index("(") + 1 : comm_ends]
                out[int(entry.name)] = ProcCPU(comm, int(fields[1]), seconds)
    return out


def cpu_split(
    before: dict[int, ProcCPU], after: dict[int, ProcCPU], roles: dict[int, str], wall: float
) -> dict[str, float]:
    """Cores used by each role; a role covers its descendants; the rest of the machine is
    'postgresql' (every postgres process), 'kernel' (kernel threads) or 'other'."""
    split: dict[str, float] = collections.defaultdict(float)
    for pid, now in after.items():
        then = before.get(pid)
        spent = now.seconds - (then.seconds if then and then.comm == now.comm else 0.0)
        role, parent, hops = roles.get(pid), now.ppid, 0
        while role is None and parent > 1 and hops < 64:
            role = roles.get(parent)
            parent, hops = after[parent].ppid if parent in after else 0, hops + 1
        if role is None and (pid == 2 or now.ppid == 2):
            role = "kernel"  # kernel threads: loopback networking, block I/O
        role = role or ("postgresql" if now.comm == "postgres" else "other")
        split[role] += spent / wall
    return dict(split)


def _ended_children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def cores_used(roles: dict[int, str]) -> Iterator[dict[str, float]]:
    """Fills the dict with the cores each role used meanwhile; children of this script that
    ended meanwhile (wrk) are 'wrk'."""
    shares: dict[str, float] = {}
    before, ended, started = process_cpu(), _ended_children_cpu(), time.monotonic()
    yield shares
    wall = max(time.monotonic() - started, 1e-3)
    shares.update(cpu_split(before, process_cpu(), roles, wall))
    shares["wrk"] = (_ended_children_cpu() - ended) / wall


def cores_line(shares: dict[str, float]) -> str:
    shown = ", ".join(f"{role} {n:.2f}" for role, n in sorted(shares.items()) if n >= 0.005)
    line = f"  {'':<40} cores used: {shown}"
    if shares.get("other", 0.0) > 0.1:
        line += "\n  !! other processes on this machine were busy meanwhile: figures are skewed"
    return line


def wait_for_quiet(limit: float, busy_at_most: float = 0.15, quiet_seconds: int = 2) -> None:
    """Before a timed run, wait up to ``limit`` s for the machine to be idle for a while: it
    may be shared (tests, other benchmarks); our own idle processes use a few percent."""
    started, quiet = time.monotonic(), 0
    while quiet < quiet_seconds and limit > 0:
        busy0, total0 = _cpu_times()
        time.sleep(1)
        busy1, total1 = _cpu_times()
        busy = (busy1 - busy0) / max(1, total1 - total0)
        quiet = quiet + 1 if busy <= busy_at_most else 0
        if quiet < quiet_seconds and time.monotonic() - started > limit:
            print(f"  !! the machine is still {busy:.0%} busy before the run; going on anyway")
            return


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


# ---------------------------------------------------------------------------
# The machine


def describe_machine(url: str, *more: str) -> None:
    models = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with psycopg.connect(url) as conn:
        server = conn.execute("SHOW server_version").fetchone()
        pg = conn.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN "
            "('shared_buffers', 'synchronous_commit', 'fsync', 'max_wal_size')"
        ).fetchall()
    packages = ("gunicorn", "falcon", "eventsourcing", "psycopg")
    print("== machine ==")
    print(f"  cpu: {models[0] if models else '?'}; {os.cpu_count()} cores; memory {memory:.1f} GiB")
    print(
        f"  {platform.python_implementation()} {platform.python_version()}; "
        f"PostgreSQL {server[0] if server else '?'} ("
        + ", ".join(f"{name}={value}{unit or ''}" for name, value, unit in pg)
        + ")"
    )
    print("  " + ", ".join(f"{name} {version(name)}" for name in packages))
    for line in more:
        print(f"  {line}")
