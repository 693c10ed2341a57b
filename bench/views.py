"""Views benchmark (issue 3): the inbox and the ticket list at size, and the inactivity timer.

Run by hand; it prints figures and asserts nothing::

    python bench/views.py                              # 10,000 active chats, 100,000 tickets
    python bench/views.py --chats 1000 --tickets 5000 --requests 200    # small and quick

What one run does:

1. a fresh database (tests.support.databases.fresh_database()), its tables made
   as ``zalodesk api`` makes them, and --accounts accounts connected through the
   Application in-process;
2. **filling**, in-process, through the Application's commands (``app.receive``
   of a customer's first text; ``app.end_chat`` with a status), on
   --fill-threads threads:
   - --app-ended tickets whose chat ended (receive, then end with a status);
   - --chats active chats (receive): real Chat aggregates, for the timer;
   then ``Projector(...).catch_up()`` over the whole log (timed: events/s);
3. the rest of the ended-chat tickets (--tickets minus the above) are **written
   into the views directly with COPY**, shaped as the projector writes them:
   rows in tickets, ticket_status_history, ticket_chats, contacts,
   chat_sessions and chat_messages, but no events in the log (through the
   Application they would take far longer than the rest of the run). Then
   VACUUM ANALYZE of the view tables, as autovacuum would have done by then;
4. **queries in-process**: InboxQueries.inbox() and TicketQueries.page() called
   --requests times each (p50/p90/p99/max);
5. **over HTTP**: ``zalodesk api`` under gunicorn (zalodesk's default settings,
   or --workers/--threads), the same reads as GET /api/chats and
   GET /api/tickets?... on --connections keep-alive connections, closed loop;
6. **the timer**: the clock moved past the accounts' inactivity timeout, then
   ``InactivityTimer.tick()`` in a loop, each tick followed by
   ``Projector.catch_up()`` (the worker runs the projector beside the timer;
   without it the next tick would find the same chats again): chats ended per
   second of ticking, and per second including the projection.

Target the issue sets (reported, not asserted): p99 at most 50 ms for the inbox
and a filtered ticket-list page, with 10,000 active chats and 100,000 tickets.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from machine import (  # noqa: E402
    Process,
    cpu_model,
    cpu_split,
    free_port,
    package_version,
    postgres_version,
    process_cpu,
    wait_for_quiet,
    wait_until_up,
)
from psycopg.rows import dict_row  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402
from psycopg_pool import ConnectionPool  # noqa: E402

from adapters.postgres.event_store import open_application  # noqa: E402
from adapters.postgres.schema import prepare  # noqa: E402
from adapters.read_models.inbox_queries import INBOX_COLUMNS, INBOX_FROM, InboxQueries  # noqa: E402
from adapters.read_models.ticket_queries import TicketFilter, TicketQueries  # noqa: E402
from adapters.read_models.views.registry import all_views  # noqa: E402
from adapters.timefmt import iso  # noqa: E402
from adapters.workers.inactivity_timer import DUE, InactivityTimer  # noqa: E402
from adapters.workers.projector import Projector  # noqa: E402
from adapters.zalo import translate  # noqa: E402
from api.server import default_workers, gunicorn_options  # noqa: E402
from domain import actors, identity  # noqa: E402
from domain.account import fingerprint  # noqa: E402
from domain.application import Zalodesk  # noqa: E402
from domain.commands import ConnectAccount, EndChat  # noqa: E402
from domain.contact import Contact  # noqa: E402
from domain.subject import subject_of  # noqa: E402
from tests.support import zalo  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402

ACTIVE_BASE = 7_200_000_000_000_000_000  # customers with an active chat (19 digits)
APP_ENDED_BASE = 7_300_000_000_000_000_000  # ended chats made through the Application
COPY_ENDED_BASE = 7_400_000_000_000_000_000  # ended chats written into the views by COPY
AGENT = actors.agent("bench")
# The status an ended chat's ticket is left in (None: left "new"), with weights.
STATUS_MIX = (("open", 35), ("pending", 20), ("closed", 30), (None, 10), ("spam", 5))
TEXTS = (
    "Chào shop, mình muốn hỏi về đơn hàng số {n} ạ",
    "Đơn {n} của mình bao giờ giao vậy shop?",
    "Cho mình đổi size áo trong đơn {n} được không?",
    "ok cảm ơn shop nhiều 👍 ({n})",
)


class MovableClock:
    """The wall clock plus an offset the benchmark moves (the timer's "later")."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


# ---------------------------------------------------------------------------
# Figures


@dataclass
class Timings:
    label: str
    seconds: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    cores: dict[str, float] = field(default_factory=dict)

    def ms(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000

    def line(self, target_ms: float | None = None) -> str:
        n = len(self.seconds)
        text = (
            f"  {self.label:<42} n {n:4d}  p50 {self.ms(0.5):6.1f} ms  p90 {self.ms(0.9):6.1f}  "
            f"p99 {self.ms(0.99):6.1f}  max {self.ms(1.0):6.1f}"
        )
        if self.wall:
            text += f"  {n / self.wall:6.0f}/s"
        if self.sizes:
            text += f"  {statistics.median(self.sizes) / 1024:6.1f} KiB"
        if self.errors:
            text += f"  errors {self.errors}"
        if target_ms is not None:
            text += "  ok" if self.ms(0.99) <= target_ms else f"  ABOVE {target_ms:.0f} ms"
        return text


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "-"


# ---------------------------------------------------------------------------
# Filling


def first_message(app: Zalodesk, account_id: uuid.UUID, customer: str, n: int) -> Contact:
    """The customer's first text, as the webhook resource hands it to the Application."""
    body = zalo.user_text(customer, TEXTS[n % len(TEXTS)].format(n=n), msg_id=uuid.uuid4().hex)
    raw = zalo.compact(body)
    app.receive(translate.translate(account_id, raw, translate.parse(raw)))
    contact = app.repository.get(Contact.create_id(account_id, customer))
    assert isinstance(contact, Contact)
    return contact


def status_for(rng: random.Random) -> str | None:
    statuses, weights = zip(*STATUS_MIX, strict=True)
    return rng.choices(statuses, weights)[0]


def in_threads(threads: int, count: int, work: Callable[[int], None]) -> float:
    """Run work(0..count-1) on ``threads`` threads; the seconds it took."""
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(work, range(count)):
            pass
    return time.perf_counter() - started


def fill_through_app(
    app: Zalodesk, accounts: list[uuid.UUID], args: argparse.Namespace
) -> list[uuid.UUID]:
    """Ended-chat tickets and active chats through the commands; the active chats' ids."""
    if args.app_ended:

        def ended(i: int) -> None:
            contact = first_message(app, accounts[i % len(accounts)], str(APP_ENDED_BASE + i), i)
            assert contact.active_chat_id is not None
            status = status_for(random.Random(i))
            app.end_chat(EndChat(contact.active_chat_id, AGENT, "agent", status))

        took = in_threads(args.fill_threads, args.app_ended, ended)
        print(
            f"  {args.app_ended:,} ended-chat tickets through the Application (receive + end_chat): "
            f"{took:.1f} s, {rate(args.app_ended, took)}",
            flush=True,
        )
    chat_ids: list[uuid.UUID | None] = [None] * args.chats

    def active(i: int) -> None:
        contact = first_message(app, accounts[i % len(accounts)], str(ACTIVE_BASE + i), i)
        chat_ids[i] = contact.active_chat_id

    took = in_threads(args.fill_threads, args.chats, active)
    print(
        f"  {args.chats:,} active chats through the Application (receive): "
        f"{took:.1f} s, {rate(args.chats, took)}",
        flush=True,
    )
    return [c for c in chat_ids if c is not None]


COPY_TABLES = {
    "contacts": (
        "contact_id, account_id, zalo_user_id, anonymous, conversation_id, following, created_at"
    ),
    "tickets": (
        "ticket_id, kind, status, subject, channel, account_id, contact_id, assignee, tags, "
        "created_at, updated_at, last_message, chat_count, active_chat_id"
    ),
    "ticket_chats": "chat_id, ticket_id",
    "ticket_status_history": "ticket_id, position, status, at, actor, reason",
    "chat_sessions": (
        "chat_id, ticket_id, account_id, contact_id, reactivation, started_at, ended_at, "
        "end_reason, ended_by"
    ),
    "chat_messages": (
        "message_id, chat_id, ticket_id, zalo_msg_id, direction, author, kind, text, "
        "attachments, quote_msg_id, sent_at, recorded_at, status, error, position"
    ),
}


def copy_rows(
    count: int, accounts: list[uuid.UUID], before: datetime, days: float
) -> dict[str, list[tuple[Any, ...]]]:
    """The view rows of ``count`` tickets whose one chat ended (agent end, with a status).

    Each as the projector leaves it after Ticket.Opened, Chat.Started,
    Chat.CustomerMessageReceived, Chat.Ended, Ticket.StatusChanged and
    Ticket.ChatDetached: created in the ``days`` before ``before``, ended 1-90
    minutes later.
    """
    rng = random.Random(20260611)
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COPY_TABLES}
    for i in range(count):
        account_id = accounts[i % len(accounts)]
        customer = str(COPY_ENDED_BASE + i)
        contact_id = identity.contact_id(account_id, customer)
        ticket_id, chat_id = uuid.uuid4(), uuid.uuid4()
        opened = before - timedelta(seconds=rng.uniform(5400, days * 86400))
        ended = opened + timedelta(seconds=rng.uniform(60, 5400))
        text = TEXTS[i % len(TEXTS)].format(n=i)
        status = status_for(rng)
        who = actors.customer(customer)
        last = {"text": text, "kind": "text", "direction": "in", "at": iso(opened)}
        zalo_msg_id = secrets.token_hex(10)
        rows["contacts"].append((contact_id, account_id, customer, False, None, False, opened))
        rows["tickets"].append(
            (
                ticket_id,
                "chat",
                status or "new",
                subject_of("text", text),
                "zalo",
                account_id,
                contact_id,
                None,
                [],
                opened,
                ended,
                Jsonb(last),
                1,
                None,
            )
        )
        rows["ticket_chats"].append((chat_id, ticket_id))
        rows["ticket_status_history"].append((ticket_id, 1, "new", opened, who, "opened"))
        if status is not None:
            rows["ticket_status_history"].append(
                (ticket_id, 2, status, ended, AGENT, "chat ended (agent)")
            )
        rows["chat_sessions"].append(
            (chat_id, ticket_id, account_id, contact_id, False, opened, ended, "agent", AGENT)
        )
        rows["chat_messages"].append(
            (
                identity.message_id(account_id, f"zalo:{zalo_msg_id}"),
                chat_id,
                ticket_id,
                zalo_msg_id,
                "in",
                who,
                "text",
                text,
                Jsonb([]),
                None,
                opened,
                opened,
                "received",
                None,
                0,
            )
        )
    return rows


def fill_by_copy(
    pool: ConnectionPool[Any], count: int, accounts: list[uuid.UUID], before: datetime, days: float
) -> float:
    started = time.perf_counter()
    rows = copy_rows(count, accounts, before, days)
    with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        for table, columns in COPY_TABLES.items():
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row(row)
    return time.perf_counter() - started


def vacuum_analyze(pool: ConnectionPool[Any]) -> float:
    started = time.perf_counter()
    with pool.connection() as conn:
        conn.autocommit = True
        for view in all_views():
            for table in view.tables:
                conn.execute(f"VACUUM ANALYZE {view.t(table)}")
    return time.perf_counter() - started


def table_counts(pool: ConnectionPool[Any]) -> str:
    with pool.connection() as conn:
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


@dataclass
class Case:
    label: str
    path: str  # over HTTP
    call: Callable[[], Any]  # in-process
    target: bool  # one of the reads the issue sets 50 ms for


def cases(
    inbox: InboxQueries, tickets: TicketQueries, clock: MovableClock, account: uuid.UUID
) -> list[Case]:
    first = tickets.page(TicketFilter(status="open"), 50, None)
    cursor = first["next_cursor"] or ""
    return [
        Case("inbox (200 chats)", "/api/chats", lambda: inbox.inbox(clock(), 200), True),
        Case(
            "tickets status=open, limit 50",
            "/api/tickets?status=open&limit=50",
            lambda: tickets.page(TicketFilter(status="open"), 50, None),
            True,
        ),
        Case(
            "tickets account_id, limit 50",
            f"/api/tickets?account_id={account}&limit=50",
            lambda: tickets.page(TicketFilter(account_id=account), 50, None),
            True,
        ),
        Case(
            "tickets status=open+account_id, limit 50",
            f"/api/tickets?status=open&account_id={account}&limit=50",
            lambda: tickets.page(TicketFilter(status="open", account_id=account), 50, None),
            True,
        ),
        Case(
            "tickets status=open, page 2 (cursor)",
            f"/api/tickets?status=open&limit=50&cursor={quote(cursor)}",
            lambda: tickets.page(TicketFilter(status="open"), 50, cursor),
            True,
        ),
        Case(
            "tickets, no filter, limit 50",
            "/api/tickets?limit=50",
            lambda: tickets.page(TicketFilter(), 50, None),
            False,
        ),
    ]


def inbox_sql(pool: ConnectionPool[Any], timeout: int) -> Callable[[], Any]:
    """The inbox's two statements as InboxQueries.inbox() runs them, rows fetched, not shaped."""

    def call() -> Any:
        with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"""SELECT {INBOX_COLUMNS} FROM {INBOX_FROM}
                    ORDER BY c.last_activity_at DESC, c.chat_id DESC LIMIT %(limit)s""",
                {"default_timeout": timeout, "limit": 200},
            )
            rows = cur.fetchall()
            cur.execute(
                """SELECT count(*) FILTER (WHERE is_new) AS new_chats,
                          count(*) FILTER (WHERE unread_count > 0) AS unread_chats
                   FROM inbox_chats"""
            )
            return rows, cur.fetchone()

    return call


def in_process(case: Case, requests: int, warmup: int) -> Timings:
    for _ in range(warmup):
        case.call()
    result = Timings(case.label)
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        case.call()
        result.seconds.append(time.perf_counter() - t0)
    result.wall = time.perf_counter() - started
    return result


def over_http(
    port: int, token: str, case: Case, requests: int, warmup: int, connections: int
) -> Timings:
    """``requests`` GETs on ``connections`` keep-alive connections, each sending as soon as
    its previous answer has been read in full (closed loop)."""
    headers = {"Authorization": f"Bearer {token}"}
    result = Timings(case.label)
    lock = threading.Lock()

    def client(count: int, record: bool) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for _ in range(count):
                t0 = time.perf_counter()
                try:
                    conn.request("GET", case.path, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    status = resp.status
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    body, status = b"", 0
                took = time.perf_counter() - t0
                if not record:
                    continue
                with lock:
                    result.seconds.append(took)
                    result.sizes.append(len(body))
                    result.errors += status != 200
        finally:
            conn.close()

    client(warmup, record=False)
    shares = [requests // connections + (i < requests % connections) for i in range(connections)]
    threads = [threading.Thread(target=client, args=(n, True)) for n in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall = time.perf_counter() - started
    return result


@contextlib.contextmanager
def cores_used(result: Timings, roles: dict[int, str]) -> Iterator[None]:
    before, t0 = process_cpu(), time.monotonic()
    yield
    split = cpu_split(before, process_cpu(), roles, max(time.monotonic() - t0, 1e-3))
    result.cores = {role: user + system for role, (user, system) in split.items()}


def cores_line(result: Timings) -> str:
    shown = ", ".join(
        f"{role} {cores:.2f}" for role, cores in sorted(result.cores.items()) if cores >= 0.005
    )
    return f"  {'':<42} cores used: {shown}"


# ---------------------------------------------------------------------------
# The run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Needs a PostgreSQL server (see tests/support/databases.py).",
    )
    parser.add_argument("--chats", type=int, default=10_000, help="active chats (default 10,000)")
    parser.add_argument(
        "--tickets",
        type=int,
        default=100_000,
        help="tickets in all, the active chats' included (default 100,000)",
    )
    parser.add_argument(
        "--app-ended",
        type=int,
        default=1000,
        help="of the ended-chat tickets, how many to make through the Application "
        "(receive + end_chat); the rest are written into the views by COPY (default 1,000)",
    )
    parser.add_argument("--accounts", type=int, default=4, help="Official Accounts (default 4)")
    parser.add_argument(
        "--days", type=float, default=30, help="the COPY tickets spread over this many past days"
    )
    parser.add_argument("--fill-threads", type=int, default=4, help="threads filling (default 4)")
    parser.add_argument("--requests", type=int, default=500, help="timed reads per case")
    parser.add_argument("--warmup", type=int, default=50, help="untimed reads per case first")
    parser.add_argument("--connections", type=int, default=1, help="HTTP connections (default 1)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--timeout", type=int, default=600, help="the accounts' inactivity s")
    parser.add_argument(
        "--timer-batch", type=int, default=500, help="InactivityTimer batch_size (default 500)"
    )
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP reads")
    parser.add_argument("--no-timer", action="store_true", help="skip the timer")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="before the timed reads, wait up to this many seconds for the machine to be idle",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (api log)")
    args = parser.parse_args(argv)
    args.workers = args.workers or default_workers()
    args.app_ended = max(0, min(args.app_ended, args.tickets - args.chats))

    tmp = Path(tempfile.mkdtemp(prefix="zalodesk-bench-views-"))
    try:
        with fresh_database("zalodesk_bench") as url:
            return run(args, url, tmp)
    finally:
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def print_machine(url: str, args: argparse.Namespace) -> None:
    print("== machine ==")
    print(f"  cpu: {cpu_model()}; {os.cpu_count()} cores")
    print(f"  python: {platform.python_implementation()} {platform.python_version()}")
    print(f"  postgresql: {postgres_version(url)}")
    print(
        f"  gunicorn {package_version('gunicorn')}, falcon {package_version('falcon')}, "
        f"eventsourcing {package_version('eventsourcing')}, psycopg {package_version('psycopg')}"
    )
    options = gunicorn_options("127.0.0.1:PORT", args.workers, args.threads)
    print(f"  gunicorn settings: {json.dumps(options)}")
    copied = args.tickets - args.chats - args.app_ended
    print(
        f"  sizes: {args.chats:,} active chats, {args.tickets:,} tickets "
        f"({args.app_ended:,} ended through the Application, {copied:,} written by COPY), "
        f"{args.accounts} accounts; {args.requests} timed reads per case, "
        f"{args.connections} HTTP connection(s)"
    )


def run(args: argparse.Namespace, url: str, tmp: Path) -> int:
    print_machine(url, args)
    prepare(url)
    clock = MovableClock()
    app = open_application(url, None, clock, args.timeout)
    pool: ConnectionPool[Any] = ConnectionPool(
        url, min_size=1, max_size=8, open=True, kwargs={"autocommit": True}
    )
    try:
        accounts = [
            app.connect_account(
                ConnectAccount(
                    account_id=uuid.uuid4(),
                    name=f"Bench OA {n}",
                    app_id=zalo.APP_ID,
                    oa_id=str(int(zalo.OA_ID) + n),
                    secrets_fingerprint=fingerprint("bench-app-secret", "bench-oa-secret-key"),
                    tokens_fingerprint=fingerprint("bench-access-token", "bench-refresh-token"),
                    access_token_expires_in=90000,
                    chat_inactivity_seconds=args.timeout,
                    allow_postpone=True,
                    verification_code=None,
                    actor="admin",
                )
            ).id
            for n in range(args.accounts)
        ]
        print("\n== filling ==", flush=True)
        before = clock()
        chat_ids = fill_through_app(app, accounts, args)
        projector = Projector(app, pool, all_views())
        started = time.perf_counter()
        events = projector.catch_up()
        took = time.perf_counter() - started
        print(
            f"  projector catch-up: {events:,} events in {took:.1f} s, {rate(events, took)} "
            f"(batch {projector.batch_size}, {len(projector.views)} views)",
            flush=True,
        )
        copied = args.tickets - args.chats - args.app_ended
        if copied > 0:
            took = fill_by_copy(pool, copied, accounts, before, args.days)
            print(
                f"  {copied:,} ended-chat tickets written into the views by COPY (no events in "
                f"the log: through the Application they would take far longer): {took:.1f} s",
                flush=True,
            )
        took = vacuum_analyze(pool)
        print(f"  VACUUM ANALYZE of the view tables: {took:.1f} s")
        print(f"  {table_counts(pool)}", flush=True)

        inbox = InboxQueries(pool, args.timeout)
        tickets = TicketQueries(pool)
        reads = cases(inbox, tickets, clock, accounts[0])
        print("\n== reads in-process (query functions: SQL + shaping, no HTTP) ==")
        wait_for_quiet(args.quiet_wait, quiet_seconds=1)
        for case in reads:
            result = in_process(case, args.requests, args.warmup)
            print(result.line(50 if case.target else None), flush=True)
        sql = Case("  of which the inbox's SQL alone", "", inbox_sql(pool, args.timeout), False)
        print(in_process(sql, args.requests, args.warmup).line(), flush=True)

        if not args.no_http:
            http_reads(args, url, tmp, reads)

        if not args.no_timer:
            timer_run(args, app, pool, projector, clock, len(chat_ids))
    finally:
        pool.close()
        app.close()
    print("\n  target (issue 3): p99 <= 50 ms for the inbox and a filtered ticket-list page")
    return 0


def http_reads(args: argparse.Namespace, url: str, tmp: Path, reads: list[Case]) -> None:
    token = secrets.token_urlsafe(24)
    env = dict(os.environ)
    env.update(
        ZALODESK_DATABASE_URL=url,
        ZALODESK_ADMIN_TOKEN=token,
        ZALODESK_DATA_DIR=str(tmp / "data"),
        ZALODESK_CHAT_INACTIVITY_SECONDS=str(args.timeout),
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    argv = [sys.executable, "-m", "api", "api", "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(args.workers), "--threads", str(args.threads)]
    api = Process("zalodesk api", argv, env, tmp / "api.log").start()
    print(
        f"\n== reads over HTTP: zalodesk api, {args.workers} workers x {args.threads} threads, "
        f"{args.connections} keep-alive connection(s), closed loop; send to full body read =="
    )
    try:
        wait_until_up(api, port, "GET", "/healthz")
        wait_for_quiet(args.quiet_wait, quiet_seconds=1)
        roles = {os.getpid(): "bench"}
        if api.proc is not None:
            roles[api.proc.pid] = "server"
        for case in reads:
            result = Timings(case.label)
            with cores_used(result, roles):
                measured = over_http(
                    port, token, case, args.requests, args.warmup, args.connections
                )
            measured.cores = result.cores
            print(measured.line(50 if case.target else None))
            if measured.wall >= 1:  # /proc counts CPU in ticks: shorter runs are noise
                print(cores_line(measured), flush=True)
    finally:
        api.stop()


def timer_run(
    args: argparse.Namespace,
    app: Zalodesk,
    pool: ConnectionPool[Any],
    projector: Projector,
    clock: MovableClock,
    chats: int,
) -> None:
    print(
        f"\n== inactivity timer: {chats:,} active chats, clock moved {args.timeout + 5} s on; "
        f"tick() (batch {args.timer_batch}) then Projector.catch_up(), in a loop =="
    )
    clock.advance(args.timeout + 5)
    with pool.connection() as conn:
        started = time.perf_counter()
        due = conn.execute(
            DUE, {"default": args.timeout, "now": clock(), "limit": args.timer_batch}
        ).fetchall()
        query_ms = (time.perf_counter() - started) * 1000
    print(f"  the timer's due query alone (first batch, {len(due)} rows): {query_ms:.1f} ms")
    timer = InactivityTimer(app, pool, batch_size=args.timer_batch)
    ended_total, tick_s, project_s, events, ticks = 0, 0.0, 0.0, 0, []
    wall = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        ended = timer.tick()
        ticks.append(time.perf_counter() - t0)
        tick_s += ticks[-1]
        t0 = time.perf_counter()
        events += projector.catch_up()
        project_s += time.perf_counter() - t0
        ended_total += ended
        if ended == 0:
            break
    wall = time.perf_counter() - wall
    with pool.connection() as conn:
        row = conn.execute("SELECT count(*) FROM inbox_chats").fetchone()
        left = row[0] if row else -1
    busy = ticks[:-1] or ticks
    print(
        f"  ended {ended_total:,} chats in {len(ticks) - 1} ticks: {tick_s:.1f} s ticking, "
        f"{rate(ended_total, tick_s)}; a full tick {statistics.median(busy):.2f} s median"
    )
    print(
        f"  projection of the endings: {events:,} events in {project_s:.1f} s, "
        f"{rate(events, project_s)}"
    )
    print(
        f"  end to end (ticks + projection): {wall:.1f} s, {rate(ended_total, wall)}; "
        f"chats left in the inbox: {left:,}"
    )
    print(
        f"  (the worker starts a tick at most once a second, {args.timer_batch} chats at most "
        f"per tick: never more than {args.timer_batch}/s in production)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
