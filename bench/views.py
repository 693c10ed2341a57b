"""The inbox and the ticket list at size, in-process and over HTTP, and the inactivity timer.

Run by hand (bench/README.md): ``python -m bench.views [--quick]``; it prints figures and
asserts nothing.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from psycopg.types.json import Jsonb

from adapters.read_models.ticket_queries import TicketFilter
from adapters.timefmt import iso
from api import bootstrap
from api.server import default_workers
from api.services import Services
from bench import harness
from bench.harness import Figures, Request, Timings, opt
from domain import actors
from domain.commands import EndChat
from domain.subject import subject_of
from domain.values import EndReason, TicketStatus
from tests.support import zalo

ACCOUNTS = 4
FILL_THREADS = 4
DAYS = 30  # the tickets written by COPY were updated over this many past days
TIMEOUT = 600  # the accounts' chat inactivity, seconds
TARGET_MS = 50.0
ACTIVE_BASE = 7_200_000_000_000_000_000  # customers with an active chat (19 digits)
APP_ENDED_BASE = 7_300_000_000_000_000_000  # ended chats made through the Application
COPY_ENDED_BASE = 7_400_000_000_000_000_000  # ended chats written into the views by COPY
AGENT = actors.agent("bench")
# The status an ended chat's ticket is left in (None: left new), and how often.
STATUSES = (TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.CLOSED, None, TicketStatus.SPAM)
WEIGHTS = (35, 20, 30, 10, 5)


@dataclass(frozen=True)
class Options:
    chats: int = opt(10_000, "active chats", quick=300)
    tickets: int = opt(100_000, "tickets in all, the active chats' included", quick=2000)
    app_ended: int = opt(
        1000, "ended-chat tickets made through the Application; the rest by COPY", quick=100
    )
    requests: int = opt(500, "timed reads per case", quick=50)
    warmup: int = opt(50, "untimed reads per case first", quick=5)
    connections: int = opt(1, "HTTP connections, closed loop")
    workers: int = harness.workers()
    threads: int = opt(4, "threads per worker")
    no_http: bool = opt(False, "skip the reads over HTTP")
    no_timer: bool = opt(False, "skip the timer")
    quiet_wait: float = harness.quiet_wait("the timed reads")
    keep: bool = harness.keep("the API's log")

    @property
    def copied(self) -> int:
        return self.tickets - self.chats - self.app_ended


class MovableClock:
    """The wall clock plus an offset the benchmark moves (the timer's "later")."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def status_for(rng: random.Random) -> TicketStatus | None:
    return rng.choices(STATUSES, WEIGHTS)[0]


# ---------------------------------------------------------------------------
# Filling


def fill_through_app(services: Services, accounts: list[uuid.UUID], opts: Options) -> None:
    """Ended-chat tickets (a first text, then the agent ends the chat with a status), then
    the active chats (a first text), through the Application's commands."""
    app = services.app

    def ended(i: int) -> None:
        account, customer = accounts[i % len(accounts)], str(APP_ENDED_BASE + i)
        chat_id = harness.first_message(app, account, customer, harness.customer_text(i))
        status = status_for(random.Random(i))
        app.end_chat(EndChat(chat_id=chat_id, actor=AGENT, reason=EndReason.AGENT, status=status))

    def active(i: int) -> None:
        account, customer = accounts[i % len(accounts)], str(ACTIVE_BASE + i)
        harness.first_message(app, account, customer, harness.customer_text(i))

    for count, work, what in (
        (opts.app_ended, ended, "ended-chat tickets through the Application (receive + end_chat)"),
        (opts.chats, active, "active chats through the Application (receive)"),
    ):
        _, took = harness.in_threads(FILL_THREADS, count, work)
        print(f"  {count:,} {what}: {took:.1f} s, {harness.rate(count, took)}", flush=True)


COPY_TABLES = {
    "contacts": "contact_id, account_id, zalo_user_id, anonymous, conversation_id, following, "
    "created_at",
    "tickets": "ticket_id, kind, status, subject, channel, account_id, contact_id, assignee, "
    "tags, created_at, updated_at, last_message, chat_count, active_chat_id",
    "ticket_chats": "chat_id, ticket_id",
    "ticket_status_history": "ticket_id, position, status, at, actor, reason",
    "chat_sessions": "chat_id, ticket_id, account_id, contact_id, reactivation, started_at, "
    "ended_at, end_reason, ended_by",
    "chat_messages": "message_id, chat_id, ticket_id, zalo_msg_id, direction, author, kind, "
    "text, attachments, quote_msg_id, sent_at, recorded_at, status, error, position",
}


def copy_rows(count: int, accounts: list[uuid.UUID], before: datetime) -> dict[str, list[Any]]:
    """The view rows of ``count`` tickets whose one chat the agent ended with a status, as the
    projector leaves them: opened in the DAYS before ``before``, ended 1-90 minutes later."""
    rng = random.Random(20260611)
    rows: dict[str, list[Any]] = {name: [] for name in COPY_TABLES}
    for i in range(count):
        account_id, customer = accounts[i % len(accounts)], str(COPY_ENDED_BASE + i)
        contact_id, ticket_id, chat_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        opened = before - timedelta(seconds=rng.uniform(5400, DAYS * 86400))
        ended = opened + timedelta(seconds=rng.uniform(60, 5400))
        text, status, who = harness.customer_text(i), status_for(rng), actors.customer(customer)
        last = Jsonb({"text": text, "kind": "text", "direction": "in", "at": iso(opened)})
        rows["contacts"].append((contact_id, account_id, customer, False, None, False, opened))
        rows["tickets"].append(
            (ticket_id, "chat", status or TicketStatus.NEW, subject_of("text", text), "zalo",
             account_id, contact_id, None, [], opened, ended, last, 1, None)
        )  # fmt: skip
        rows["ticket_chats"].append((chat_id, ticket_id))
        rows["ticket_status_history"].append((ticket_id, 1, "new", opened, who, "opened"))
        if status is not None:
            reason = "chat ended (agent)"
            rows["ticket_status_history"].append((ticket_id, 2, status, ended, AGENT, reason))
        rows["chat_sessions"].append(
            (chat_id, ticket_id, account_id, contact_id, False, opened, ended, "agent", AGENT)
        )
        rows["chat_messages"].append(
            (uuid.uuid4(), chat_id, ticket_id, secrets.token_hex(10), "in", who, "text", text,
             Jsonb([]), None, opened, opened, "received", None, 0)
        )  # fmt: skip
    return rows


def fill_by_copy(
    services: Services, count: int, accounts: list[uuid.UUID], before: datetime
) -> None:
    started = time.perf_counter()
    rows = copy_rows(count, accounts, before)
    with services.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        for table, columns in COPY_TABLES.items():
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row(row)
    print(
        f"  {count:,} ended-chat tickets written into the views by COPY (no events in the log: "
        f"through the Application they would take far longer): {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    with services.pool.connection() as conn:
        for view in services.views:
            for table in view.tables:
                conn.execute(f"VACUUM ANALYZE {view.t(table)}")
    print(f"  VACUUM ANALYZE of the view tables: {time.perf_counter() - started:.1f} s")


def table_counts(services: Services) -> str:
    with services.pool.connection() as conn:
        found = []
        for table in ("inbox_chats", "tickets", "contacts", "chat_messages"):
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            found.append(f"{table} {row[0] if row else '?':,}")
        listed = conn.execute(
            "SELECT status, count(*) FROM tickets WHERE active_chat_id IS NULL "
            "GROUP BY status ORDER BY status"
        ).fetchall()
    statuses = ", ".join(f"{status} {n:,}" for status, n in listed)
    return f"{'; '.join(found)}; ticket list by status: {statuses}"


# ---------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class Case:
    label: str
    path: str  # over HTTP
    call: Callable[[], Any]  # in-process
    target: bool  # one of the reads the 50 ms target is for


def cases(services: Services, clock: MovableClock, account: uuid.UUID) -> list[Case]:
    def page(where: TicketFilter, cursor: str | None = None) -> Callable[[], Any]:
        return lambda: services.tickets.page(where, 50, cursor)

    opened, by_account = TicketFilter(status="open"), TicketFilter(account_id=account)
    both = TicketFilter(status="open", account_id=account)
    cursor = services.tickets.page(opened, 50, None)["next_cursor"] or ""
    return [
        Case("inbox (200 chats)", "/api/chats", lambda: services.inbox.inbox(clock(), 200), True),
        Case("tickets status=open", "/api/tickets?status=open&limit=50", page(opened), True),
        Case(
            "tickets account_id",
            f"/api/tickets?account_id={account}&limit=50",
            page(by_account),
            True,
        ),
        Case(
            "tickets status=open+account_id",
            f"/api/tickets?status=open&account_id={account}&limit=50",
            page(both),
            True,
        ),
        Case(
            "tickets status=open, page 2 (cursor)",
            f"/api/tickets?status=open&limit=50&cursor={quote(cursor)}",
            page(opened, cursor),
            True,
        ),
        Case("tickets, no filter", "/api/tickets?limit=50", page(TicketFilter()), False),
    ]


def in_process(case: Case, opts: Options) -> Figures:
    for _ in range(opts.warmup):
        case.call()
    timings = Timings()
    started = time.perf_counter()
    for _ in range(opts.requests):
        t0 = time.perf_counter()
        case.call()
        timings.seconds.append(time.perf_counter() - t0)
    timings.wall = time.perf_counter() - started
    return Figures.of(case.label, timings)


def over_http(opts: Options, url: str, tmp: Path, reads: list[Case]) -> None:
    workers = opts.workers or default_workers()
    print(
        f"\n== reads over HTTP: zalodesk api, {workers} workers x {opts.threads} threads, "
        f"{opts.connections} keep-alive connection(s), closed loop; send to full body read =="
    )
    api = harness.zalodesk_api(
        harness.zalodesk_env(url, tmp), tmp / "api.log", workers, opts.threads
    )
    headers = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}
    try:
        harness.wait_for_quiet(opts.quiet_wait, quiet_seconds=1)
        for case in reads:
            get = Request("GET", case.path, None, headers)
            harness.closed_loop(api.port, [get] * opts.warmup)
            with harness.cores_used(api.roles()) as cores:
                timings = harness.closed_loop(api.port, [get] * opts.requests, opts.connections)
            figures = Figures.of(case.label, timings, harness.median_kib(timings.sizes))
            print(figures.line(TARGET_MS if case.target else None))
            if timings.wall >= 1:  # /proc counts CPU in ticks: shorter runs are noise
                print(harness.cores_line(cores), flush=True)
            if timings.errors:
                print(harness.log_errors(api.log_path))
    finally:
        api.stop()


# ---------------------------------------------------------------------------
# The timer


def timer(running: bootstrap.Workers, services: Services, clock: MovableClock, chats: int) -> None:
    batch = bootstrap.WorkerTuning().timer_batch
    print(
        f"\n== inactivity timer: {chats:,} active chats, clock moved {TIMEOUT + 5} s on; "
        f"tick() (batch {batch}) then the projector's catch_up(), in a loop =="
    )
    clock.offset += timedelta(seconds=TIMEOUT + 5)
    ended, ticks, projecting, events = 0, [], 0.0, 0
    wall = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        now_ended = running.inactivity.tick()
        ticks.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        events += running.projector.catch_up()
        projecting += time.perf_counter() - t0
        ended += now_ended
        if now_ended == 0:
            break
    wall = time.perf_counter() - wall
    with services.pool.connection() as conn:
        row = conn.execute("SELECT count(*) FROM inbox_chats").fetchone()
    busy = ticks[:-1] or ticks
    print(
        f"  ended {ended:,} chats in {len(ticks) - 1} ticks: {sum(ticks):.1f} s ticking, "
        f"{harness.rate(ended, sum(ticks))}; a full tick {statistics.median(busy):.2f} s median"
    )
    print(
        f"  projection of the endings: {events:,} events in {projecting:.1f} s, "
        f"{harness.rate(events, projecting)}"
    )
    print(
        f"  end to end (ticks + projection): {wall:.1f} s, {harness.rate(ended, wall)}; "
        f"chats left in the inbox: {row[0] if row else '?':,}"
    )
    print(
        f"  (the worker starts a tick at most once a second, {batch} chats at most per tick: "
        f"never more than {batch}/s in production)"
    )


def main() -> None:
    opts = harness.options(Options)
    opts = dataclasses.replace(
        opts, app_ended=max(0, min(opts.app_ended, opts.tickets - opts.chats))
    )
    with harness.database() as url, harness.workdir(opts.keep) as tmp:
        harness.describe_machine(
            url,
            f"sizes: {opts.chats:,} active chats, {opts.tickets:,} tickets ({opts.app_ended:,} "
            f"ended through the Application, {opts.copied:,} written by COPY), {ACCOUNTS} "
            f"accounts; {opts.requests} timed reads per case, {opts.connections} HTTP connection(s)",
        )
        clock = MovableClock()
        settings = harness.settings(url, chat_inactivity_seconds=TIMEOUT)
        with harness.services(settings, clock) as services:
            running = bootstrap.workers(services)
            try:
                run(opts, url, tmp, services, running, clock)
            finally:
                running.close()
    print(f"\n  target: p99 <= {TARGET_MS:.0f} ms for the inbox and a filtered ticket-list page")


def run(
    opts: Options,
    url: str,
    tmp: Path,
    services: Services,
    running: bootstrap.Workers,
    clock: MovableClock,
) -> None:
    forms = [
        harness.account_form(f"Bench OA {n}", str(int(zalo.OA_ID) + n), TIMEOUT)
        for n in range(ACCOUNTS)
    ]
    accounts = harness.connect_accounts(services, forms)
    print("\n== filling ==", flush=True)
    before = clock()
    fill_through_app(services, accounts, opts)
    started = time.perf_counter()
    events = running.projector.catch_up()
    took = time.perf_counter() - started
    print(
        f"  projector catch-up: {events:,} events in {took:.1f} s, {harness.rate(events, took)} "
        f"({len(services.views)} views)",
        flush=True,
    )
    if opts.copied > 0:
        fill_by_copy(services, opts.copied, accounts, before)
    print(f"  {table_counts(services)}", flush=True)

    reads = cases(services, clock, accounts[0])
    print("\n== reads in-process (query functions: SQL + shaping, no HTTP) ==")
    harness.wait_for_quiet(opts.quiet_wait, quiet_seconds=1)
    for case in reads:
        print(in_process(case, opts).line(TARGET_MS if case.target else None), flush=True)
    if not opts.no_http:
        over_http(opts, url, tmp, reads)
    if not opts.no_timer:
        timer(running, services, clock, opts.chats)


if __name__ == "__main__":
    main()
