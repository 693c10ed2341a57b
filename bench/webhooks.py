"""Webhook ingestion benchmark: zalodesk against a plain Falcon baseline.

Run by hand; it prints figures and asserts nothing::

    apt-get install wrk            # the load generator
    python bench/webhooks.py [--seconds 10] [--connections 16] [--workers 4 --threads 4]
    python bench/webhooks.py --sweep                     # also try several gunicorn settings

What it does, in one run:

1. a fresh database (tests.support.databases.fresh_database()); ``zalodesk api``
   and ``zalodesk worker`` started as a user starts them (two subprocesses, the
   projections running as in production); an account made through
   POST /api/accounts;
2. signed ``user_send_text`` webhooks, pre-generated, every message unique,
   from --customers customers with 19-digit ids. A seeding pass sends each
   customer's first message (new contact, ticket and chat: reported as the
   "first message" figures); the measured passes send further messages from
   customers picked at random among them, so each is one more message in an
   active chat;
3. the same requests, the same wrk and the same gunicorn settings against
   bench/baseline_app.py (run with the ``gunicorn`` executable and the options
   of api.server.gunicorn_options), and the ratios;
4. chat-length cost: one customer sends --chat-messages messages one after the
   other; the median ack of the first 100 and of the last 100;
5. the machine and the gunicorn settings.

Load: wrk, closed loop: --connections connections, each sending its next
request as soon as the previous answer has arrived (keep-alive where the worker
class allows it: gunicorn's sync worker, used when --threads is 1, closes each
connection). Latency is per request, from send to the full response, as wrk
measures it. The chat-length pass uses one Python keep-alive connection.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import platform
import random
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from machine import (  # noqa: E402
    Process,
    cpu_model,
    cpu_split,
    cpu_times,
    free_port,
    http_call,
    package_version,
    postgres_version,
    process_cpu,
    version_of,
    wait_for_quiet,
    wait_until_up,
)

from api.server import gunicorn_options  # noqa: E402
from tests.support import zalo  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402

OA_SECRET_KEY = "bench-oa-secret-key-" + "k" * 12
CUSTOMER_ID_BASE = 7_100_000_000_000_000_000  # 19 digits, far beyond 2^53
TEXTS = (
    "Chào shop, mình muốn hỏi về đơn hàng số {n} ạ",
    "Đơn {n} của mình bao giờ giao vậy shop?",
    "Cho mình đổi size áo trong đơn {n} được không?",
    "ok cảm ơn shop nhiều 👍 ({n})",
)

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
}


# ---------------------------------------------------------------------------
# Processes


# ---------------------------------------------------------------------------
# Requests


def signed_line(path: str, customer: str, text: str, timestamp: int) -> str:
    body = zalo.user_text(customer, text, msg_id=uuid.uuid4().hex)
    body["timestamp"] = str(timestamp)
    raw, headers = zalo.signed(body, OA_SECRET_KEY)
    assert b"\t" not in raw and b"\n" not in raw
    return f"{path}\t{headers['X-ZEvent-Signature']}\t{raw.decode()}\n"


def customer_id(n: int) -> str:
    return str(CUSTOMER_ID_BASE + n)


def write_requests(
    file: Path, path: str, customers: list[str], count: int, seed: int, first_messages: bool
) -> Path:
    """``count`` unique signed webhooks; the first one of each customer, or random customers."""
    rng = random.Random(seed)
    stamp = int(time.time() * 1000)
    with file.open("w") as out:
        for i in range(count):
            who = customers[i % len(customers)] if first_messages else rng.choice(customers)
            text = TEXTS[i % len(TEXTS)].format(n=seed * 1_000_000 + i)
            out.write(signed_line(path, who, text, stamp + i))
    return file


# ---------------------------------------------------------------------------
# Load


@dataclass
class Result:
    label: str
    workers: int
    threads: int
    connections: int
    figures: dict[str, Any]
    cpu_busy: float  # share of all cores busy during the run, 0..1
    wrk_cpu: float  # wrk's CPU seconds per wall second (1.0 = one core)
    # cores used by each process role, (user, system)
    cpu_roles: dict[str, tuple[float, float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return float(self.figures["requests"]) / (self.figures["duration_us"] / 1e6)

    def ms(self, name: str) -> float:
        return float(self.figures[name]) / 1000

    @property
    def errors(self) -> int:
        f = self.figures
        sockets = f["connect_errors"] + f["read_errors"] + f["write_errors"] + f["timeouts"]
        return int(sockets + f["non200"])


def run_wrk(
    label: str,
    port: int,
    requests_file: Path,
    seconds: float,
    connections: int,
    wrk_threads: int,
    workers: int,
    threads: int,
    roles: dict[int, str] | None = None,
) -> Result:
    argv = [
        "wrk",
        f"-t{wrk_threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "webhooks.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        str(requests_file),
        str(wrk_threads),
    ]
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, total0 = cpu_times()
    procs0 = process_cpu()
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    procs1 = process_cpu()
    busy1, total1 = cpu_times()
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = re.search(r"^WRKJSON (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or not found:
        raise SystemExit(f"wrk failed ({' '.join(argv)}):\n{done.stdout}\n{done.stderr}")
    wrk_cpu = (
        after_children.ru_utime
        + after_children.ru_stime
        - before_children.ru_utime
        - before_children.ru_stime
    ) / wall
    return Result(
        label=label,
        workers=workers,
        threads=threads,
        connections=connections,
        figures=json.loads(found.group(1)),
        cpu_busy=(busy1 - busy0) / max(1, total1 - total0),
        wrk_cpu=wrk_cpu,
        cpu_roles=cpu_split(procs0, procs1, roles or {os.getpid(): "bench"}, wall),
    )


def chat_length(port: int, path: str, customer: str, messages: int) -> tuple[list[float], int]:
    """One customer's messages, one after the other on a keep-alive connection: ack seconds."""
    stamp = int(time.time() * 1000)
    requests = []
    for i in range(messages):
        body = zalo.user_text(customer, f"Tin nhắn thứ {i + 1} trong cùng một cuộc trò chuyện")
        body["message"]["msg_id"] = uuid.uuid4().hex
        body["timestamp"] = str(stamp + i)  # in order, as one chat's messages are
        requests.append(zalo.signed(body, OA_SECRET_KEY))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    acks: list[float] = []
    failures = 0
    for data, headers in requests:
        started = time.perf_counter()
        conn.request("POST", path, body=data, headers=headers)
        resp = conn.getresponse()
        resp.read()
        acks.append(time.perf_counter() - started)
        if resp.status != 200:
            failures += 1
        if resp.will_close:
            conn.close()
    conn.close()
    return acks, failures


def wait_for_projections(port: int, timeout: float) -> tuple[float, int]:
    """Poll /readyz until every view has applied the whole log: (seconds waited, lag at start)."""
    started = time.monotonic()
    first_lag = -1
    while True:
        try:
            _, raw = http_call(port, "GET", "/readyz")
            lag = max(json.loads(raw).get("lag", {}).values(), default=0)
        except (OSError, ValueError, http.client.HTTPException):
            lag = -1
        if first_lag < 0:
            first_lag = lag
        if lag == 0:
            return time.monotonic() - started, first_lag
        if time.monotonic() - started > timeout:
            print(f"  (projections still {lag} events behind after {timeout:.0f}s; going on)")
            return time.monotonic() - started, first_lag
        time.sleep(0.25)


# ---------------------------------------------------------------------------
# Machine and settings


def gunicorn_argv(options: dict[str, Any]) -> list[str]:
    """The ``gunicorn`` command line for the same options zalodesk's server sets in-process."""
    argv: list[str] = []
    for key, value in options.items():
        if key not in GUNICORN_FLAGS:
            raise SystemExit(f"bench/webhooks.py does not know gunicorn option {key!r}: add it")
        if value is None:
            continue
        argv += [GUNICORN_FLAGS[key], str(value)]
    return argv


def parse_settings(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        workers, _, threads = item.strip().lower().partition("x")
        out.append((int(workers), int(threads or 1)))
    return out


# ---------------------------------------------------------------------------
# The benchmark


def wait_for_translation(timeout: float) -> None:
    """The webhook translation may still be under construction: wait until it imports."""
    check = [sys.executable, "-c", "from adapters.zalo import translate, signature"]
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(check, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"adapters.zalo.translate does not import:\n{done.stderr}")
        print("  waiting for adapters.zalo.translate to import ...", flush=True)
        time.sleep(10)


@dataclass
class Bench:
    args: argparse.Namespace
    url: str
    tmp: Path
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    account_id: str = ""
    customers: list[str] = field(default_factory=list)
    runs: int = 0
    worker: Process | None = None
    server: Process | None = None  # the HTTP server under load: zalodesk api or the baseline

    def ensure_worker(self) -> None:
        """``zalodesk worker``, started once the API has created the tables.

        Started together on an empty database, both run the schema set-up at
        once and one of them fails (CREATE TABLE races in PostgreSQL).
        """
        if self.worker is None:
            argv = [sys.executable, "-m", "api", "worker"]
            self.worker = Process("zalodesk worker", argv, self.env(), self.tmp / "worker.log")
            self.worker.start()
        elif not self.worker.alive():
            raise SystemExit(f"zalodesk worker exited:\n{self.worker.tail()}")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            ZALODESK_DATABASE_URL=self.url,
            ZALODESK_ADMIN_TOKEN=self.admin_token,
            ZALODESK_DATA_DIR=str(self.tmp / "data"),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.args.server_env)
        return env

    @property
    def path(self) -> str:
        return f"/webhooks/zalo/{self.account_id}"

    def zalodesk_api(self, port: int, workers: int, threads: int) -> Process:
        argv = [sys.executable, "-m", "api", "api", "--bind", f"127.0.0.1:{port}"]
        argv += ["--workers", str(workers), "--threads", str(threads)]
        process = Process(
            "zalodesk api", argv, self.env(), self.tmp / f"api-{workers}x{threads}.log"
        ).start()
        wait_until_up(process, port, "GET", "/healthz")
        self.server = process
        return process

    def baseline(self, port: int, workers: int, threads: int) -> Process:
        options = gunicorn_options(f"127.0.0.1:{port}", workers, threads)
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        argv = [gunicorn, "--chdir", str(BENCH), *gunicorn_argv(options), "baseline_app:app"]
        process = Process(
            "baseline", argv, self.env(), self.tmp / f"baseline-{workers}x{threads}.log"
        ).start()
        wait_until_up(process, port, "POST", "/webhooks/zalo/ready")
        self.server = process
        return process

    def create_account(self, port: int) -> None:
        body = {
            "name": "Benchmark OA",
            "app_id": zalo.APP_ID,
            "oa_id": zalo.OA_ID,
            "app_secret": "bench-app-secret",
            "oa_secret_key": OA_SECRET_KEY,
            "access_token": "bench-access-token",
            "refresh_token": "bench-refresh-token",
            # Long enough that no chat ends for inactivity during the benchmark.
            "chat_inactivity_seconds": 7 * 24 * 3600,
        }
        headers = {
            "Authorization": f"Bearer {self.admin_token}",
            "Content-Type": "application/json",
        }
        status, raw = http_call(port, "POST", "/api/accounts", json.dumps(body).encode(), headers)
        if status != 201:
            raise SystemExit(f"POST /api/accounts answered {status}: {raw[:500]!r}")
        self.account_id = json.loads(raw)["id"]

    def requests_file(self, count: int, first_messages: bool = False) -> Path:
        self.runs += 1
        file = self.tmp / f"requests-{self.runs}.txt"
        return write_requests(file, self.path, self.customers, count, self.runs, first_messages)

    def wrk(
        self, label: str, port: int, file: Path, seconds: float, conns: int, w: int, t: int
    ) -> Result:
        if label != "warm-up" and self.args.quiet_wait > 0:
            wait_for_quiet(self.args.quiet_wait)
        return run_wrk(label, port, file, seconds, conns, self.args.wrk_threads, w, t, self.roles())

    def roles(self) -> dict[int, str]:
        """Process ids whose CPU (with their descendants') is reported by name."""
        roles = {os.getpid(): "bench"}
        for process, role in ((self.server, "server"), (self.worker, "zalodesk worker")):
            if process is not None and process.proc is not None:
                roles[process.proc.pid] = role
        return roles


def report_line(result: Result) -> str:
    f = result.figures
    return (
        f"  {result.label:<22} {result.rate:8.0f}/s  p50 {result.ms('p50_us'):7.1f} ms  "
        f"p90 {result.ms('p90_us'):7.1f}  p99 {result.ms('p99_us'):7.1f}  "
        f"max {result.ms('max_us'):7.1f}  errors {result.errors}"
        f"{'  duplicates ' + str(f['duplicates']) if f['duplicates'] else ''}"
        f"  (cpu {result.cpu_busy:4.0%}, wrk {result.wrk_cpu:4.0%} of a core)"
    )


def cpu_line(result: Result) -> str:
    roles = dict(result.cpu_roles)
    shown = [
        f"{role} {user + system:.2f} (sys {system:.2f})"
        for role, (user, system) in sorted(roles.items())
        if user + system >= 0.005
    ]
    shown.append(f"wrk {result.wrk_cpu:.2f}")
    line = f"  {'':<22} cores used: {', '.join(shown)}"
    if sum(roles.get("other", (0.0, 0.0))) > 0.1:
        line += (
            "\n  !! other processes on this machine were busy during the run: figures are skewed"
        )
    return line


def server_errors(log: Path, top: int = 3) -> str:
    """The most frequent unhandled errors in a zalodesk log (the last line of each traceback)."""
    found: collections.Counter[str] = collections.Counter()
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in lines:
        if '"level": "error"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        text = str(record.get("error") or record.get("msg") or "").strip()
        found[text.splitlines()[-1][:200] if text else "?"] += 1
    return "\n".join(f"  !! {count} x {what}" for what, count in found.most_common(top))


def compare(setting: str, ours: Result, base: Result) -> str:
    return (
        f"  {setting:<22} zalodesk/baseline: throughput {ours.rate / base.rate:5.3f}, "
        f"p99 {ours.ms('p99_us') / max(base.ms('p99_us'), 1e-3):6.1f}x "
        f"({ours.rate:.0f}/s vs {base.rate:.0f}/s; p99 {ours.ms('p99_us'):.1f} ms vs "
        f"{base.ms('p99_us'):.1f} ms)"
    )


def measure_setting(
    bench: Bench, workers: int, threads: int, connections: list[int], primary: bool
) -> list[tuple[Result, Result | None]]:
    args = bench.args
    port = free_port()
    setting = f"{workers} workers x {threads} threads"
    print(f"\n== {setting} ({'gthread' if threads > 1 else 'sync'}) ==", flush=True)
    api = bench.zalodesk_api(port, workers, threads)
    bench.ensure_worker()
    pairs: list[tuple[Result, Result | None]] = []
    files: list[Path] = []
    try:
        if not bench.account_id:
            bench.create_account(port)
            print(f"  account {bench.account_id}: webhook {bench.path}")
        if not bench.customers:
            first = seed_customers(bench, port, workers, threads, connections[0])
            waited, lag = wait_for_projections(port, args.projection_timeout)
            first.extra.update(projection_lag=lag, catch_up_seconds=waited)
            print(report_line(first))
            print(cpu_line(first), flush=True)
            if first.errors:
                print(server_errors(api.log_path))
            print(
                f"  {'':<22} (each customer's first message: new contact, ticket and chat; "
                f"{len(bench.customers)} customers)"
            )
        warm = bench.requests_file(max(200, round(args.warmup * 1000)))
        bench.wrk("warm-up", port, warm, args.warmup, connections[0], workers, threads)
        waited, lag = wait_for_projections(port, args.projection_timeout)
        if primary and args.chat_messages:
            chat_length_report(bench, port)
            wait_for_projections(port, args.projection_timeout)
        for conns in connections:
            file = bench.requests_file(round(args.seconds * args.max_rate))
            files.append(file)
            label = f"zalodesk, {conns} conns"
            ours = bench.wrk(label, port, file, args.seconds, conns, workers, threads)
            waited, lag = wait_for_projections(port, args.projection_timeout)
            ours.extra.update(projection_lag=lag, catch_up_seconds=waited)
            print(report_line(ours))
            print(cpu_line(ours), flush=True)
            if ours.errors:
                print(server_errors(api.log_path))
            print(
                f"  {'':<22} projections {lag} events behind at the end, "
                f"caught up {waited:.1f} s later"
            )
            if ours.figures["wraps"]:
                print("  !! the request file ran out: repeats were sent; raise --max-rate")
            pairs.append((ours, None))
    finally:
        api.stop()
    if args.no_baseline:
        return pairs
    port = free_port()
    base_proc = bench.baseline(port, workers, threads)
    try:
        warm = bench.requests_file(max(200, round(args.warmup * 1000)))
        bench.wrk("warm-up", port, warm, args.warmup, connections[0], workers, threads)
        out = []
        for (ours, _), file, conns in zip(pairs, files, connections, strict=True):
            base = bench.wrk(
                f"baseline, {conns} conns", port, file, args.seconds, conns, workers, threads
            )
            print(report_line(base))
            print(cpu_line(base))
            print(compare(f"{conns} connections", ours, base), flush=True)
            out.append((ours, base))
        return out
    finally:
        base_proc.stop()


def chat_length_report(bench: Bench, port: int) -> None:
    n = bench.args.chat_messages
    customer = customer_id(10**9)  # not one of the load's customers
    if bench.args.quiet_wait > 0:
        wait_for_quiet(bench.args.quiet_wait)
    before, started = process_cpu(), time.monotonic()
    acks, failures = chat_length(port, bench.path, customer, n)
    split = cpu_split(before, process_cpu(), bench.roles(), time.monotonic() - started)
    window = min(100, n // 2)
    head = statistics.median(acks[:window]) * 1000
    tail = statistics.median(acks[-window:]) * 1000
    print(
        f"  chat length: one customer, {n} messages in sequence, 1 connection; "
        f"{failures} not answered 200"
    )
    print(
        f"    median ack, messages 1-{window}: {head:.2f} ms; "
        f"{n - window + 1}-{n}: {tail:.2f} ms; ratio {tail / head:.2f} (target <= 1.5)"
    )
    deciles = [
        statistics.median(acks[i : i + max(1, n // 10)]) * 1000
        for i in range(0, n, max(1, n // 10))
    ]
    print("    median ack per tenth of the chat (ms): " + " ".join(f"{d:.2f}" for d in deciles))
    shown = ", ".join(
        f"{role} {user + system:.2f}" for role, (user, system) in sorted(split.items())
    )
    print(f"    cores used meanwhile: {shown}")


def seed_customers(bench: Bench, port: int, workers: int, threads: int, conns: int) -> Result:
    """Each customer's first message (a new contact, ticket and chat each), timed with wrk.

    wrk runs for whole seconds, so the timed pass covers as many first messages
    as it can in at most 5 s; the rest are then sent untimed, so that every
    later message lands in an active chat.
    """
    args = bench.args
    bench.customers = [customer_id(n) for n in range(args.customers)]
    file = bench.requests_file(len(bench.customers), first_messages=True)
    seconds = min(args.seconds, 5)  # 5,000 first messages last 5 s up to 1,000/s
    result = bench.wrk("first messages", port, file, seconds, conns, workers, threads)
    if result.figures["wraps"] == 0:
        # One wrk thread sends its lines in order: send what it did not reach.
        done = result.figures["requests"] if args.wrk_threads == 1 else 0
        send_untimed(port, file.read_text().splitlines()[done:], conns)
    return result


def send_untimed(port: int, lines: list[str], conns: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def send(chunk: list[str]) -> None:
        for line in chunk:
            target, sig, raw = line.split("\t", 2)
            headers = {"Content-Type": "application/json", "X-ZEvent-Signature": sig}
            status, body = http_call(port, "POST", target, raw.encode(), headers, timeout=60)
            if status != 200:
                raise SystemExit(f"seeding a customer answered {status}: {body[:300]!r}")

    with ThreadPoolExecutor(conns) as pool:
        list(pool.map(send, [lines[i::conns] for i in range(conns)]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Needs wrk (apt-get install wrk) and a PostgreSQL server (see tests/support).",
    )
    parser.add_argument("--seconds", type=float, default=10, help="each measured run (default 10)")
    parser.add_argument(
        "--connections",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[16],
        help="concurrent connections, closed loop; a comma list runs each (default 16)",
    )
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (default 1, as zalodesk serve)"
    )
    parser.add_argument(
        "--sweep",
        nargs="?",
        const="1x4,1x8,2x1,2x2,2x4,3x1,3x2,3x4,4x1,4x2,4x4",
        default=None,
        metavar="WxT,...",
        help="also measure these workers x threads settings "
        "(default list: 1x4,1x8,2x1,2x2,2x4,3x1,3x2,3x4,4x1,4x2,4x4)",
    )
    parser.add_argument("--customers", type=int, default=5000, help="distinct customers")
    parser.add_argument("--chat-messages", type=int, default=2000, help="0 skips the chat pass")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per server")
    parser.add_argument(
        "--max-rate",
        type=int,
        default=2000,
        help="requests generated per measured second; repeats are reported if wrk runs out",
    )
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain Falcon app")
    parser.add_argument("--projection-timeout", type=float, default=300)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="before each timed run, wait up to this many seconds for the machine to be idle",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    parser.add_argument(
        "--server-env",
        action="append",
        type=lambda s: tuple(s.split("=", 1)),
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for zalodesk's processes, to try a setting "
        "(e.g. ZALODESK_AGGREGATE_CACHE_MAXSIZE=50000); repeatable",
    )
    args = parser.parse_args(argv)

    from api.server import default_workers

    args.workers = args.workers or default_workers()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    wait_for_translation(timeout=3600)

    tmp = Path(tempfile.mkdtemp(prefix="zalodesk-bench-"))
    try:
        with fresh_database("zalodesk_bench") as url:
            return run(args, url, tmp)
    finally:
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, url: str, tmp: Path) -> int:
    print("== machine ==")
    print(f"  cpu: {cpu_model()}; {os.cpu_count()} cores")
    print(f"  python: {platform.python_implementation()} {platform.python_version()}")
    print(f"  postgresql: {postgres_version(url)}")
    print(
        f"  gunicorn {package_version('gunicorn')}, falcon {package_version('falcon')}, "
        f"eventsourcing {package_version('eventsourcing')}, psycopg {package_version('psycopg')}; "
        f"{version_of(['wrk', '--version'])}"
    )
    args.server_env = dict(args.server_env)
    if args.server_env:
        print(f"  extra environment for zalodesk: {args.server_env}")
    options = gunicorn_options("127.0.0.1:PORT", args.workers, args.threads)
    print(f"  gunicorn settings: {json.dumps(options)}")
    print(
        f"  load: wrk, {args.wrk_threads} thread(s), closed loop, connections "
        f"{','.join(map(str, args.connections))}, {args.seconds:.0f} s per run, "
        f"{args.customers} customers"
    )

    bench = Bench(args=args, url=url, tmp=tmp)
    try:
        settings = [(args.workers, args.threads)]
        if args.sweep:
            settings += [s for s in parse_settings(args.sweep) if s not in settings]
        table: list[tuple[Result, Result | None]] = []
        for i, (workers, threads) in enumerate(settings):
            table += measure_setting(bench, workers, threads, args.connections, primary=i == 0)
        summary(table)
    finally:
        if bench.worker is not None:
            bench.worker.stop()
    return 0


def summary(table: list[tuple[Result, Result | None]]) -> None:
    print("\n== summary (closed loop; latency = send to full response) ==")
    print(
        f"  {'workers x threads':<18} {'conns':>5} {'webhooks/s':>10} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6} {'base/s':>8} {'base p99':>8} {'thr ratio':>9} "
        f"{'p99 ratio':>9}"
    )
    for ours, base in table:
        row = (
            f"  {f'{ours.workers} x {ours.threads}':<18} {ours.connections:>5} "
            f"{ours.rate:>10.0f} {ours.ms('p50_us'):>7.1f} {ours.ms('p99_us'):>7.1f} "
            f"{ours.errors:>6}"
        )
        if base is not None:
            row += (
                f" {base.rate:>8.0f} {base.ms('p99_us'):>8.1f} {ours.rate / base.rate:>9.3f} "
                f"{ours.ms('p99_us') / max(base.ms('p99_us'), 1e-3):>9.1f}"
            )
        print(row)
    best = max(table, key=lambda pair: (pair[0].ms("p99_us") <= 100, pair[0].rate))[0]
    print(
        f"  best for zalodesk: {best.workers} workers x {best.threads} threads at "
        f"{best.connections} connections: {best.rate:.0f}/s, p99 {best.ms('p99_us'):.1f} ms "
        "(highest throughput among p99 <= 100 ms, else highest throughput)"
    )
    print("  targets: >= 500 webhooks/s with p99 <= 100 ms; chat-length ratio <= 1.5")


if __name__ == "__main__":
    raise SystemExit(main())
