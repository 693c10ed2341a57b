"""Replies out through the outbox to a fake Zalo: many chats, one chat, slow answers, the limit.

Run by hand (bench/README.md): ``python -m bench.outbox [--quick]``; it prints figures and
asserts nothing.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from adapters.workers.heartbeats import Heartbeats
from adapters.workers.loops import run_loop
from api import bootstrap
from api.services import Services
from bench import harness
from bench.harness import opt
from domain import actors
from domain.commands import PostReply
from tests.support import fake_zalo

CUSTOMER_BASE = 7_500_000_000_000_000_000  # 19 digits; each scenario its own million
AGENT = actors.agent("bench")
FILL_THREADS = 4
ZALO_LIMIT = 4000  # calls per minute


@dataclass(frozen=True)
class Options:
    replies: int = opt(2000, "replies per scenario", quick=200)
    chats: int = opt(200, "chats they are spread over", quick=20)
    slow_single: int = opt(50, "replies in the one-slow scenario", quick=10)
    latency: float = opt(0.2, "the slow fake's answer time, s")
    concurrency: int = opt(16, "the outbox's sender threads")
    limit: int = opt(100, "calls per window in the limited scenario")
    limit_window: float = opt(1.0, "its window, s")
    scenarios: str = opt("fast,slow,one-fast,one-slow,limited", "a comma list of these")
    timeout: float = opt(600.0, "give up a scenario after this long, s")
    quiet_wait: float = harness.quiet_wait("each timed drain")


@dataclass(frozen=True)
class Scenario:
    name: str
    chats: int
    replies: int
    latency: float
    per_window: int = ZALO_LIMIT
    window: float = 60.0

    @property
    def limited(self) -> bool:
        return self.per_window != ZALO_LIMIT

    def bound(self, concurrency: int) -> str:
        """The most replies a second the setting allows, and why."""
        if self.limited:
            return f"{self.per_window / self.window:,.0f}/s = the limit"
        if self.latency:
            parallel = min(concurrency, self.chats)
            return (
                f"{parallel / self.latency:,.0f}/s = {parallel} chats at once / {self.latency:g} s"
            )
        return ""


def scenarios(opts: Options) -> list[Scenario]:
    slow = f"{opts.latency * 1000:.0f} ms latency"
    every = {
        "fast": Scenario(f"{opts.chats} chats, no latency", opts.chats, opts.replies, 0.0),
        "slow": Scenario(f"{opts.chats} chats, {slow}", opts.chats, opts.replies, opts.latency),
        "one-fast": Scenario("1 chat, no latency", 1, opts.replies, 0.0),
        "one-slow": Scenario(f"1 chat, {slow}", 1, opts.slow_single, opts.latency),
        "limited": Scenario(
            f"{opts.chats} chats, no latency, limit {opts.limit}/{opts.limit_window:g} s",
            opts.chats,
            opts.replies,
            0.0,
            opts.limit,
            opts.limit_window,
        ),
    }
    chosen = [name.strip() for name in opts.scenarios.split(",") if name.strip()]
    if unknown := [name for name in chosen if name not in every]:
        raise SystemExit(f"unknown scenario(s) {unknown}; known: {', '.join(every)}")
    return [every[name] for name in chosen]


# ---------------------------------------------------------------------------
# The fake platform, in a process of its own (its threads do not share our GIL)


def _fake(pipe: Connection, latency: float, window: float) -> None:
    fake = fake_zalo.FakeZalo()
    fake.latency = latency
    pipe.send(fake.start().port)
    while (what := pipe.recv()) != "stop":
        if what == "count":
            with fake.lock:
                pipe.send(len(fake.sent))
            continue
        with fake.lock:
            accepted = [(r["recipient"].get("user_id"), r["text"], r["at"]) for r in fake.sent]
            times = list(fake.send_times)
        busiest = {w: fake.calls_per_window(w) for w in {1.0, window}}
        pipe.send((accepted, times, busiest, fake.refresh_calls))
    fake.stop()


class FakeZaloProcess:
    """A FakeZalo answering every send after ``latency`` s; asked over a pipe."""

    def __init__(self, latency: float, window: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_fake, args=(child, latency, window), daemon=True)
        self.process.start()
        self.base = f"http://127.0.0.1:{self.pipe.recv()}"
        self.lock = threading.Lock()

    def ask(self, what: str) -> Any:
        with self.lock:
            self.pipe.send(what)
            return self.pipe.recv()

    def stop(self) -> None:
        with self.lock:
            self.pipe.send("stop")
        self.process.join(timeout=10)


class SendTimes(logging.Handler):
    """Each reply's send time as the outbox logs it (``latency_ms``: the limiter's wait, the
    call to Zalo, recording the outcome), and its outcome."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ms: list[float] = []
        self.outcomes: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if (latency := getattr(record, "latency_ms", None)) is not None:
            self.ms.append(float(latency))
            self.outcomes[str(getattr(record, "outcome", "?"))] += 1

    def line(self) -> str:
        if not self.ms:
            return "no sends logged"
        p50, p99 = harness.percentile(self.ms, 0.5), harness.percentile(self.ms, 0.99)
        outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(self.outcomes.items()))
        over = sum(1 for ms in self.ms if ms > 1000)
        return f"p50 {p50:.1f} ms, p99 {p99:.1f}, max {max(self.ms):.1f} ({outcomes}); over 1 s: {over}"


def listen_overflows() -> int:
    """TcpExt ListenOverflows of the whole machine: connections a full accept queue refused."""
    lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()]
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names[0] == "TcpExt:" and "ListenOverflows" in names:
            return int(values[names.index("ListenOverflows")])
    return 0


# ---------------------------------------------------------------------------
# A scenario


def queue_replies(services: Services, chats: list[uuid.UUID], replies: int, tag: str) -> None:
    """Reply k to chat k mod chats, text "r{k // chats}"; each chat's queued in order by one
    thread."""
    plan: dict[int, list[tuple[uuid.UUID, int, int]]] = defaultdict(list)
    for k in range(replies):
        c = k % len(chats)
        plan[c % FILL_THREADS].append((chats[c], k // len(chats), k))

    def work(part: int) -> None:
        for chat_id, seq, k in plan[part]:
            text = f"Dạ shop trả lời r{seq} ạ"
            services.app.post_reply(
                PostReply(actor=AGENT, text=text, chat_id=chat_id, client_message_id=f"{tag}-{k}")
            )

    harness.in_threads(FILL_THREADS, min(FILL_THREADS, len(chats)), work)


def statuses(services: Services, chats: list[uuid.UUID]) -> dict[str, int]:
    with services.pool.connection() as conn:
        rows = conn.execute(
            """SELECT status, count(*) FROM chat_messages
               WHERE direction = 'out' AND chat_id = ANY(%s) GROUP BY status""",
            (chats,),
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def in_order(accepted: list[tuple[str, str, float]]) -> bool:
    """Every chat's replies reached the fake in the order they were queued."""
    last: dict[str, int] = {}
    for user_id, text, _ in sorted(accepted, key=lambda sent: sent[2]):
        seq = int(text.split(" r", 1)[1].split(" ", 1)[0])
        if seq < last.get(user_id, -1):
            return False
        last[user_id] = seq
    return True


def wait_until(check: Callable[[], bool], timeout: float, every: float) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if check():
            return time.perf_counter() - started
        time.sleep(every)
    return None


def prepare(n: int, scenario: Scenario, services: Services, account: uuid.UUID) -> list[uuid.UUID]:
    """The chats opened (a first text each) and the replies queued and projected, so that the
    outbox's queue (the transcript view) holds them all before the clock starts."""
    base = CUSTOMER_BASE + n * 1_000_000

    def open_chat(i: int) -> uuid.UUID:
        return harness.first_message(services.app, account, str(base + i), f"Chào shop ({i})")

    chats, opened = harness.in_threads(FILL_THREADS, scenario.chats, open_chat)
    started = time.perf_counter()
    queue_replies(services, chats, scenario.replies, f"s{n}")
    queued, started = time.perf_counter() - started, time.perf_counter()
    events = bootstrap.projector(services).catch_up()
    print(
        f"  set-up: {scenario.chats} chats opened in {opened:.1f} s; replies queued "
        f"(post_reply) {harness.rate(scenario.replies, queued)}; projected {events:,} "
        f"events in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return chats


@dataclass(frozen=True)
class Drained:
    sent: float | None  # seconds until the fake had every reply
    recorded: float | None  # until the view showed none queued
    overflows: int


def drain(
    scenario: Scenario,
    services: Services,
    running: bootstrap.Workers,
    fake: FakeZaloProcess,
    chats: list[uuid.UUID],
    opts: Options,
) -> Drained:
    """What the worker does: recover() once (timed apart), then tick() every 50 ms with the
    projector running beside it."""
    started = time.perf_counter()
    recovered = running.outbox.recover()
    took = time.perf_counter() - started
    print(f"  recover() at start-up over the queue: {took:.2f} s ({recovered} abandoned)")
    harness.wait_for_quiet(opts.quiet_wait, quiet_seconds=1)
    stop = threading.Event()

    heartbeats = Heartbeats(services.pool)
    threads = [
        threading.Thread(target=run_loop, args=(loop, stop, heartbeats))
        for loop in running.loops()
        if loop.name in ("projector", "outbox")
    ]
    overflows = listen_overflows()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        sent = wait_until(lambda: fake.ask("count") >= scenario.replies, opts.timeout, 0.02)
        recorded = wait_until(lambda: "queued" not in statuses(services, chats), opts.timeout, 0.05)
        recorded = time.perf_counter() - started if recorded is not None else None
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return Drained(sent, recorded, listen_overflows() - overflows)


def run_scenario(
    n: int, scenario: Scenario, url: str, account: uuid.UUID, opts: Options
) -> tuple[Scenario, float, str]:
    print(f"\n== {scenario.name}: {scenario.replies:,} replies ==", flush=True)
    fake = FakeZaloProcess(scenario.latency, scenario.window)
    settings = harness.settings(url, zalo_api_base=fake.base, zalo_oauth_base=f"{fake.base}/oauth")
    tuning = bootstrap.WorkerTuning(
        calls_per_window=scenario.per_window,
        window_seconds=scenario.window,
        outbox_concurrency=opts.concurrency,
    )
    send_times, outbox_log = SendTimes(), logging.getLogger("zalodesk.outbox")
    outbox_log.setLevel(logging.INFO)
    outbox_log.addHandler(send_times)
    try:
        with harness.services(settings) as services:
            chats = prepare(n, scenario, services, account)
            running = bootstrap.workers(services, tuning)
            try:
                drained = drain(scenario, services, running, fake, chats, opts)
            finally:
                running.close()
            counts = statuses(services, chats)
        accepted, times, busiest, refreshes = fake.ask("report")
    finally:
        outbox_log.removeHandler(send_times)
        fake.stop()

    rate = scenario.replies / drained.sent if drained.sent else 0.0
    bound = scenario.bound(opts.concurrency)
    if drained.sent is None:
        print(f"  !! not every reply reached the fake within {opts.timeout:.0f} s")
    else:
        print(
            f"  all {scenario.replies:,} accepted by the fake after {drained.sent:.2f} s: "
            f"{rate:,.1f} replies/s" + (f"  (bound: {bound})" if bound else "")
        )
    if drained.recorded is None:
        print(f"  !! replies still queued in the view after {opts.timeout:.0f} s")
    else:
        print(
            f"  all recorded and projected ('sent' in the view) after {drained.recorded:.2f} s: "
            f"{scenario.replies / drained.recorded:,.1f} replies/s"
        )
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    busiest_line = f"busiest {scenario.window:g} s: {busiest[scenario.window]} calls"
    print(
        f"  calls to the fake: {len(times):,} ({len(accepted):,} accepted), first to last "
        f"{span:.2f} s; busiest 1 s: {busiest[1.0]} calls"
        + (f"; {busiest_line}" if scenario.window != 1.0 else "")
        + (f" (limit {scenario.per_window})" if scenario.limited else "")
    )
    print(f"  per reply, as the outbox logs it: {send_times.line()}")
    if drained.overflows > 0:
        print(
            f"  !! {drained.overflows} connection(s) refused by a full accept queue on this "
            "machine meanwhile (TcpExt ListenOverflows; the fake listens with a backlog of 5): "
            "each costs its call about 1 s"
        )
    print(
        f"  view: {', '.join(f'{k} {v:,}' for k, v in sorted(counts.items()))}; each chat's "
        f"replies in queue order: {'yes' if in_order(accepted) else 'NO'}; token refreshes "
        f"{refreshes}",
        flush=True,
    )
    return scenario, rate, busiest_line if scenario.limited else ""


def main() -> None:
    opts = harness.options(Options)
    chosen = scenarios(opts)
    with harness.database() as url:
        harness.describe_machine(
            url,
            f"outbox: concurrency {opts.concurrency}, production retry delays, tick every 50 ms, "
            "the projector beside it; the fake Zalo in a process of its own",
        )
        form = harness.account_form(
            app_secret=fake_zalo.APP_SECRET,
            access_token=fake_zalo.ACCESS_TOKEN,
            refresh_token=fake_zalo.REFRESH_TOKEN,
        )
        with harness.services(harness.settings(url)) as services:
            account = harness.connect_accounts(services, [form])[0]
        results = [
            run_scenario(n, scenario, url, account, opts) for n, scenario in enumerate(chosen)
        ]
    print("\n== summary ==")
    print(f"  {'scenario':<40} {'replies':>7} {'replies/s':>10}  bound, note")
    for scenario, replies_per_second, note in results:
        print(
            f"  {scenario.name:<40} {scenario.replies:>7,} {replies_per_second:>10,.1f}  "
            + "; ".join(filter(None, (scenario.bound(opts.concurrency), note)))
        )
    print(
        f"  one queue for all chats would send at most {1 / opts.latency:.0f}/s at "
        f"{opts.latency * 1000:.0f} ms latency"
    )


if __name__ == "__main__":
    main()
