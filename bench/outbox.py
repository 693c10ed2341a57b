"""Outbox benchmark (issue 4): replies per second to a fake Zalo, fast and slow, and the limit.

Run by hand; it prints figures and asserts nothing::

    python bench/outbox.py                          # every scenario, 2,000 replies over 200 chats
    python bench/outbox.py --replies 500 --chats 50 --slow-single 20     # small and quick
    python bench/outbox.py --scenarios slow,limited

What one scenario does:

1. tests/support/fake_zalo.FakeZalo, real HTTP on 127.0.0.1, in a process of its
   own (as Zalo is: its threads do not share this process's GIL), answering
   every send after ``latency`` seconds;
2. --chats customers each send a first text (``app.receive``, in-process): one
   active chat each; then ``app.post_reply`` queues the replies, spread over the
   chats in turn (reply k to chat k mod chats), each chat's in order; then
   ``Projector(...).catch_up()`` so the outbox's queue (the transcript view)
   holds them all;
3. the outbox built as ``zalodesk worker`` builds it (tests/integration/
   test_outbox.py's make_outbox, but with the production retry delays and
   sleep): Outbox(app, pool, ZaloClient, TokenRefresher, SlidingWindowLimiter,
   concurrency=--concurrency); ``recover()`` once (timed apart), then what
   ``Outbox.run`` does after it: ``tick()`` every 50 ms, with the projector
   running beside it in a thread, as in the worker. Timed from the first tick
   until the fake has accepted every reply, and until the view shows them all
   ``sent``.

Scenarios (--scenarios, default all):

- ``fast``: --replies over --chats chats, no latency; the limiter at Zalo's
  4,000 a minute (it never binds at this size);
- ``slow``: the same with 200 ms latency (--latency): chats are sent in
  parallel, so the rate should approach min(concurrency, chats) / latency,
  not the 1 / latency of one queue;
- ``one-fast``: --replies in one chat, no latency: one chat is sent in order,
  one reply after the other;
- ``one-slow``: --slow-single replies in one chat at 200 ms: 1 / latency;
- ``limited``: --replies over --chats chats, no latency, the limiter at
  --limit calls per --limit-window seconds (100 per 1 s): the fake's busiest
  window of that length must not exceed the limit.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import platform
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from machine import cpu_model, package_version, postgres_version, wait_for_quiet  # noqa: E402
from psycopg_pool import ConnectionPool  # noqa: E402

from adapters.account_admin import AccountAdmin, NewAccount  # noqa: E402
from adapters.credential_cipher import CredentialCipher  # noqa: E402
from adapters.postgres.credentials import Credentials, CredentialStore  # noqa: E402
from adapters.postgres.event_store import open_application  # noqa: E402
from adapters.postgres.schema import prepare  # noqa: E402
from adapters.read_models.views.registry import all_views  # noqa: E402
from adapters.workers.outbox import Outbox  # noqa: E402
from adapters.workers.projector import Projector  # noqa: E402
from adapters.workers.token_refresher import TokenRefresher  # noqa: E402
from adapters.zalo import translate  # noqa: E402
from adapters.zalo.client import ZaloClient  # noqa: E402
from adapters.zalo.rate_limit import SlidingWindowLimiter  # noqa: E402
from domain import actors  # noqa: E402
from domain.application import Zalodesk  # noqa: E402
from domain.commands import PostReply  # noqa: E402
from domain.contact import Contact  # noqa: E402
from tests.support import fake_zalo, zalo  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402

CUSTOMER_BASE = 7_500_000_000_000_000_000  # 19 digits; each scenario its own million
AGENT = actors.agent("bench")


# ---------------------------------------------------------------------------
# The fake platform, in a process of its own


def fake_process(pipe: Connection, latency: float, windows: list[float]) -> None:
    """Run a FakeZalo until told to stop; answer "count" and "report" over the pipe."""
    fake = fake_zalo.FakeZalo()
    fake.latency = latency
    fake.start()
    pipe.send(fake.port)
    while True:
        what = pipe.recv()
        if what == "count":
            with fake.lock:
                pipe.send((len(fake.sent), len(fake.send_times)))
        elif what == "report":
            with fake.lock:
                sent = [(r["recipient"].get("user_id"), r["text"], r["at"]) for r in fake.sent]
                times = list(fake.send_times)
            pipe.send(
                {
                    "sent": sent,
                    "send_times": times,
                    "per_window": {w: fake.calls_per_window(w) for w in windows},
                    "refresh_calls": fake.refresh_calls,
                }
            )
        else:
            fake.stop()
            pipe.send("stopped")
            return


class FakeHandle:
    def __init__(self, latency: float, windows: list[float]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipe, child = ctx.Pipe()
        self.process = ctx.Process(target=fake_process, args=(child, latency, windows), daemon=True)
        self.process.start()
        self.port = int(self.pipe.recv())
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ask(self, what: str) -> Any:
        with self.lock:
            self.pipe.send(what)
            return self.pipe.recv()

    def stop(self) -> None:
        if self.process.is_alive():
            self.ask("stop")
        self.process.join(timeout=10)


class DeliveryLatencies(logging.Handler):
    """The outbox logs each reply's ``latency_ms``: from the start of the send (the
    limiter's wait, the call to Zalo, recording the outcome), by its outcome."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ms: list[float] = []
        self.outcomes: dict[str, int] = defaultdict(int)

    def emit(self, record: logging.LogRecord) -> None:
        latency = getattr(record, "latency_ms", None)
        if latency is not None:
            self.ms.append(float(latency))
            self.outcomes[str(getattr(record, "outcome", "?"))] += 1

    def line(self) -> str:
        if not self.ms:
            return "no deliveries logged"
        ordered = sorted(self.ms)

        def q(p: float) -> float:
            return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]

        outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(self.outcomes.items()))
        return (
            f"p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f}, max {q(1.0):.1f} ({outcomes}); "
            f"over 1 s: {sum(1 for m in ordered if m > 1000)}"
        )


def listen_overflows() -> int:
    """TcpExt ListenOverflows of the whole machine: connections a full accept queue refused."""
    try:
        lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()]
    except OSError:
        return -1
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names[0] == "TcpExt:" and "ListenOverflows" in names:
            return int(values[names.index("ListenOverflows")])
    return -1


# ---------------------------------------------------------------------------
# A scenario


@dataclass
class Scenario:
    name: str
    chats: int
    replies: int
    latency: float
    per_window: int = 4000
    window_seconds: float = 60.0

    @property
    def limited(self) -> bool:
        return self.window_seconds < 60


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    every = {
        "fast": Scenario(f"{args.chats} chats, no latency", args.chats, args.replies, 0.0),
        "slow": Scenario(
            f"{args.chats} chats, {args.latency * 1000:.0f} ms latency",
            args.chats,
            args.replies,
            args.latency,
        ),
        "one-fast": Scenario("1 chat, no latency", 1, args.replies, 0.0),
        "one-slow": Scenario(
            f"1 chat, {args.latency * 1000:.0f} ms latency", 1, args.slow_single, args.latency
        ),
        "limited": Scenario(
            f"{args.chats} chats, no latency, limit {args.limit}/{args.limit_window:g} s",
            args.chats,
            args.replies,
            0.0,
            args.limit,
            args.limit_window,
        ),
    }
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in every]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; known: {', '.join(every)}")
    return [every[s] for s in chosen]


def open_chats(
    app: Zalodesk, account_id: uuid.UUID, base: int, count: int, threads: int
) -> list[uuid.UUID]:
    """Each customer's first text (a new ticket and chat); the chats' ids, in customer order."""

    def one(i: int) -> uuid.UUID:
        customer = str(base + i)
        body = zalo.user_text(customer, f"Chào shop ({i})", msg_id=uuid.uuid4().hex)
        raw = zalo.compact(body)
        app.receive(translate.translate(account_id, raw, translate.parse(raw)))
        contact = app.repository.get(Contact.create_id(account_id, customer))
        assert isinstance(contact, Contact) and contact.active_chat_id is not None
        return contact.active_chat_id

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


def queue_replies(
    app: Zalodesk, chats: list[uuid.UUID], replies: int, tag: str, threads: int
) -> None:
    """Reply k goes to chat k mod len(chats) with text "r{k // len(chats)}"; every chat's
    replies are queued in order by one thread (threads share the chats out)."""
    plan: dict[int, list[tuple[uuid.UUID, int, int]]] = defaultdict(list)
    for k in range(replies):
        c = k % len(chats)
        plan[c % threads].append((chats[c], k // len(chats), k))

    def work(part: int) -> None:
        for chat_id, seq, k in plan[part]:
            app.post_reply(
                PostReply(
                    actor=AGENT,
                    text=f"Dạ shop trả lời r{seq} ạ",
                    chat_id=chat_id,
                    client_message_id=f"{tag}-{k}",
                )
            )

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(min(threads, len(chats)))))


def statuses(pool: ConnectionPool[Any], chats: list[uuid.UUID]) -> dict[str, int]:
    with pool.connection() as conn:
        rows = conn.execute(
            """SELECT status, count(*) FROM chat_messages
               WHERE direction = 'out' AND chat_id = ANY(%s) GROUP BY status""",
            (chats,),
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def in_order(sent: list[tuple[str, str, float]]) -> bool:
    """Every chat's replies reached the fake in the order they were queued."""
    last: dict[str, int] = {}
    for user_id, text, _ in sorted(sent, key=lambda r: r[2]):
        seq = int(text.split(" r", 1)[1].split(" ", 1)[0])
        if seq < last.get(user_id, -1):
            return False
        last[user_id] = seq
    return True


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.02) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if check():
            return time.perf_counter() - started
        time.sleep(every)
    return None


def run_scenario(
    n: int,
    scenario: Scenario,
    app: Zalodesk,
    pool: ConnectionPool[Any],
    credentials: CredentialStore,
    account_id: uuid.UUID,
    args: argparse.Namespace,
) -> dict[str, Any]:
    print(f"\n== {scenario.name}: {scenario.replies:,} replies ==", flush=True)
    fake = FakeHandle(scenario.latency, [1.0, scenario.window_seconds])
    stop = threading.Event()
    threads: list[threading.Thread] = []
    latencies = DeliveryLatencies()
    overflows = -1
    outbox: Outbox | None = None
    try:
        started = time.perf_counter()
        chats = open_chats(
            app, account_id, CUSTOMER_BASE + n * 1_000_000, scenario.chats, args.fill_threads
        )
        opened = time.perf_counter() - started
        started = time.perf_counter()
        queue_replies(app, chats, scenario.replies, f"s{n}", args.fill_threads)
        queued = time.perf_counter() - started
        projector = Projector(app, pool, all_views())
        started = time.perf_counter()
        events = projector.catch_up()
        projected = time.perf_counter() - started
        print(
            f"  set-up: {scenario.chats} chats opened in {opened:.1f} s; replies queued "
            f"(app.post_reply) {scenario.replies / queued:,.0f}/s; projected {events:,} events "
            f"in {projected:.1f} s",
            flush=True,
        )

        client = ZaloClient(fake.base, f"{fake.base}/oauth")
        limiter = SlidingWindowLimiter(scenario.per_window, scenario.window_seconds)
        outbox = Outbox(
            app,
            pool,
            client,
            TokenRefresher(app, credentials, client),
            limiter,
            concurrency=args.concurrency,
        )
        started = time.perf_counter()
        recovered = outbox.recover()
        recover_s = time.perf_counter() - started
        wait_for_quiet(args.quiet_wait, quiet_seconds=1)

        def ticking() -> None:
            assert outbox is not None
            while not stop.is_set():
                outbox.tick()
                stop.wait(0.05)

        log = logging.getLogger("zalodesk.outbox")
        log.setLevel(logging.INFO)
        log.addHandler(latencies)
        overflows = listen_overflows()
        threads = [
            threading.Thread(target=Projector(app, pool, all_views()).run, args=(stop,)),
            threading.Thread(target=ticking),
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        sent_s = wait_until(lambda: fake.ask("count")[0] >= scenario.replies, args.timeout)

        def all_recorded() -> bool:
            counts = statuses(pool, chats)
            return counts.get("queued", 0) == 0

        recorded_s = wait_until(all_recorded, args.timeout, every=0.05)
        wall = time.perf_counter() - started
        if recorded_s is not None:
            recorded_s = wall
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        if outbox is not None:
            outbox.executor.shutdown(wait=True)
        logging.getLogger("zalodesk.outbox").removeHandler(latencies)
        overflows = listen_overflows() - overflows if overflows >= 0 else -1
        report = fake.ask("report") if fake.process.is_alive() else {}
        fake.stop()

    counts = statuses(pool, chats)
    times = sorted(report.get("send_times", []))
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    parallel = min(args.concurrency, scenario.chats)
    if scenario.limited:
        bound = scenario.per_window / scenario.window_seconds
        why = f"the limit, {scenario.per_window} per {scenario.window_seconds:g} s"
    elif scenario.latency:
        bound = parallel / scenario.latency
        why = f"{parallel} chats at once / {scenario.latency:g} s"
    else:
        bound, why = 0.0, ""
    result = {
        "scenario": scenario.name,
        "replies": scenario.replies,
        "sent_s": sent_s,
        "recorded_s": recorded_s,
        "rate": scenario.replies / sent_s if sent_s else 0.0,
        "bound": bound,
    }
    print(f"  recover() at start-up over the queue: {recover_s:.2f} s ({recovered} abandoned)")
    if sent_s is None:
        print(f"  !! not every reply reached the fake within {args.timeout:.0f} s")
    else:
        print(
            f"  all {scenario.replies:,} accepted by the fake after {sent_s:.2f} s: "
            f"{result['rate']:,.1f} replies/s"
            + (f"  (bound: {bound:,.0f}/s = {why})" if bound else "")
        )
    if recorded_s is not None:
        print(
            f"  all recorded and projected ('sent' in the view) after {recorded_s:.2f} s: "
            f"{scenario.replies / recorded_s:,.1f} replies/s"
        )
    else:
        print(f"  !! replies still queued in the view after {wall:.0f} s")
    per_window = report.get("per_window", {})
    print(
        f"  calls to the fake: {len(times):,} ({len(report.get('sent', [])):,} accepted), "
        f"first to last {span:.2f} s; busiest 1 s: {per_window.get(1.0, '?')} calls"
        + (
            f"; busiest {scenario.window_seconds:g} s window: "
            f"{per_window.get(scenario.window_seconds, '?')} (limit {scenario.per_window})"
            if scenario.limited and scenario.window_seconds != 1.0
            else (f" (limit {scenario.per_window})" if scenario.limited else "")
        )
    )
    print(f"  per reply, as the outbox logs it: {latencies.line()}")
    if overflows > 0:
        print(
            f"  !! {overflows} connection(s) refused by a full accept queue on this machine "
            "during the run (TcpExt ListenOverflows; the fake listens with a backlog of 5): "
            "each costs its call about 1 s"
        )
    order = in_order(report.get("sent", []))
    print(
        f"  view: {', '.join(f'{k} {v:,}' for k, v in sorted(counts.items()))}; "
        f"each chat's replies in queue order: {'yes' if order else 'NO'}; "
        f"token refreshes {report.get('refresh_calls', '?')}",
        flush=True,
    )
    if scenario.limited:
        result["busiest"] = per_window.get(scenario.window_seconds)
    return result


# ---------------------------------------------------------------------------
# The run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Needs a PostgreSQL server (see tests/support/databases.py).",
    )
    parser.add_argument("--replies", type=int, default=2000, help="replies per scenario")
    parser.add_argument("--chats", type=int, default=200, help="chats they are spread over")
    parser.add_argument(
        "--slow-single", type=int, default=50, help="replies in the one-slow scenario (default 50)"
    )
    parser.add_argument("--latency", type=float, default=0.2, help="the slow fake's latency (s)")
    parser.add_argument("--concurrency", type=int, default=16, help="outbox threads (default 16)")
    parser.add_argument("--limit", type=int, default=100, help="calls per window, 'limited'")
    parser.add_argument("--limit-window", type=float, default=1.0, help="its window (s)")
    parser.add_argument(
        "--scenarios",
        default="fast,slow,one-fast,one-slow,limited",
        help="comma list of fast,slow,one-fast,one-slow,limited (default all)",
    )
    parser.add_argument("--fill-threads", type=int, default=4, help="threads queueing (default 4)")
    parser.add_argument("--timeout", type=float, default=600, help="give up a scenario after (s)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="before each timed drain, wait up to this many seconds for the machine to be idle",
    )
    args = parser.parse_args(argv)
    chosen = scenarios(args)
    with fresh_database("zalodesk_bench") as url:
        return run(args, url, chosen)


def run(args: argparse.Namespace, url: str, chosen: list[Scenario]) -> int:
    print("== machine ==")
    print(f"  cpu: {cpu_model()}; {os.cpu_count()} cores")
    print(f"  python: {platform.python_implementation()} {platform.python_version()}")
    print(f"  postgresql: {postgres_version(url)}")
    print(
        f"  eventsourcing {package_version('eventsourcing')}, psycopg {package_version('psycopg')}"
    )
    print(
        f"  outbox: concurrency {args.concurrency}, production retry delays, tick every 50 ms, "
        "projector beside it; fake Zalo in its own process"
    )
    prepare(url)
    app = open_application(url, None)
    pool: ConnectionPool[Any] = ConnectionPool(url, min_size=2, max_size=8, open=True)
    results = []
    credentials = CredentialStore(url, pool, CredentialCipher(os.urandom(32), "the bench's key"))
    try:
        account = AccountAdmin(app, credentials).connect(
            NewAccount(
                name="Bench OA",
                app_id=zalo.APP_ID,
                oa_id=zalo.OA_ID,
                credentials=Credentials(
                    app_secret=fake_zalo.APP_SECRET,
                    oa_secret_key="bench-oa-secret-key",
                    access_token=fake_zalo.ACCESS_TOKEN,
                    refresh_token=fake_zalo.REFRESH_TOKEN,
                ),
                access_token_expires_in=90000,
                chat_inactivity_seconds=7 * 24 * 3600,
                allow_postpone=False,
                verification_code=None,
            ),
            actor="admin",
        )
        for n, scenario in enumerate(chosen):
            results.append(run_scenario(n, scenario, app, pool, credentials, account.id, args))
    finally:
        pool.close()
        app.close()

    print("\n== summary ==")
    print(f"  {'scenario':<40} {'replies':>7} {'replies/s':>10} {'bound/s':>8}  note")
    for r in results:
        bound = f"{r['bound']:,.0f}" if r["bound"] else "-"
        note = f"busiest window {r['busiest']} calls" if "busiest" in r else ""
        print(f"  {r['scenario']:<40} {r['replies']:>7,} {r['rate']:>10,.1f} {bound:>8}  {note}")
    print(
        f"  one queue for all chats would send at most {1 / args.latency:.0f}/s at "
        f"{args.latency * 1000:.0f} ms latency"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
