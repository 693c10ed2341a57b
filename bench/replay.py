"""Replay, verify-free rebuild, export and import at size (issue 5).

Run by hand; it prints figures and asserts nothing::

    python bench/replay.py                         # 1,000,000 events
    python bench/replay.py --events 100000         # smaller and quicker
    python bench/replay.py --cipher                # the stores encrypted at rest (AES-GCM)

What one run does:

1. a fresh database (``tests.support.databases.fresh_database()``), its tables
   made as ``zalodesk api`` makes them;
2. **the fill**: conversations played through the Application's own commands,
   in memory (the eventsourcing POPO store): Zalo webhook bodies through
   ``adapters.zalo.translate`` into ``app.receive`` (first messages,
   texts, images and stickers, follows, the echoes of our sends, delivery and
   seen receipts), replies through ``post_reply``, ``begin_send`` and
   ``record_sent``, read marks, ends by the agent with a status and by
   inactivity, reactivations, assignments, tags and token rotations. The
   events, already mapped by that Application's mapper (the same JSON, and the
   same cipher with ``--cipher``), are then written **straight into
   zalodesk_events with COPY**, in log order, with their positions: no HTTP,
   no projector, no table lock per transaction. That keeps the fill to a couple
   of minutes; it is not what is measured;
3. **replay**: ``Replay.run()`` of every view, as ``zalodesk replay`` does it
   (the batch path into ``*_rebuild`` tables, then their secondary indexes,
   then the swap): events/s over the whole log;
4. **export**: ``export_log(..., secrets=CredentialStore)`` into a file, as
   ``zalodesk log export --include-secrets -o FILE``: events/s and the size;
5. **import**: that file into a second fresh database, as
   ``zalodesk log import FILE`` (a checking pass over the whole file, then one
   COPY in one transaction): events/s, both passes included.

Each step runs in a process of its own (spawned, not forked), so the peak
memory printed for it (``resource.getrusage(...).ru_maxrss``) is that step's
own, the interpreter and imports included.

Target the issue sets (reported, not asserted): replay at least 20,000
events/s for all views together.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from eventsourcing.persistence import Notification  # noqa: E402
from psycopg_pool import ConnectionPool  # noqa: E402

from adapters.credential_cipher import CredentialCipher  # noqa: E402
from adapters.log_tools.event_log import EventLog  # noqa: E402
from adapters.log_tools.exporter import export_log  # noqa: E402
from adapters.log_tools.importer import import_log  # noqa: E402
from adapters.log_tools.replay import Replay, view_names  # noqa: E402
from adapters.postgres.connection import eventsourcing_env  # noqa: E402
from adapters.postgres.credentials import CredentialStore  # noqa: E402
from adapters.postgres.event_store import open_application  # noqa: E402
from adapters.postgres.schema import prepare  # noqa: E402
from adapters.zalo.translate import parse, translate  # noqa: E402
from domain.account import fingerprint  # noqa: E402
from domain.application import Zalodesk  # noqa: E402
from domain.clock import FrozenClock  # noqa: E402
from domain.commands import (  # noqa: E402
    ChangeTicket,
    ConnectAccount,
    EndChat,
    EndInactiveChat,
    MarkChatRead,
    PostReply,
)
from domain.contact import Contact  # noqa: E402
from domain.errors import DomainError  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402

APP_ID = "360846524940903967"
OA_ID = "388613280878808645"
CHATTER = (
    "shop ơi còn hàng không ạ size M màu đỏ giao hàng mất mấy ngày em muốn đổi trả "
    "cảm ơn anh chị nhé giá bao nhiêu có ship COD không đơn hàng của em đâu rồi"
)
WORDS = CHATTER.split()
COPY_CHUNK = 20_000


# The fill: conversations through the Application, in memory


class Conversations:
    """Customers talking to one OA, played through the Application's commands."""

    def __init__(self, app: Zalodesk, clock: FrozenClock, rng: random.Random) -> None:
        self.app, self.clock, self.rng = app, clock, rng
        self.msg_ids = iter(range(10**15, 10**16))
        account = app.connect_account(
            ConnectAccount(
                account_id=uuid4(),
                name="Shop Hoa Mai",
                app_id=APP_ID,
                oa_id=OA_ID,
                secrets_fingerprint=fingerprint("bench-app-secret", "bench-oa-secret-key"),
                tokens_fingerprint=fingerprint("bench-access-token", "bench-refresh-token"),
                access_token_expires_in=90000,
                chat_inactivity_seconds=600,
                allow_postpone=True,
                verification_code=None,
                actor="agent:admin",
            )
        )
        self.account_id = account.id

    def deliver(self, body: dict[str, Any]) -> None:
        body["timestamp"] = str(int(self.clock().timestamp() * 1000))
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        self.app.receive(translate(self.account_id, raw, parse(raw)))
        self.clock.advance(self.rng.uniform(0.5, 20))

    def msg_id(self) -> str:
        return f"{next(self.msg_ids):x}"

    def text(self, words: int) -> str:
        return " ".join(self.rng.choices(WORDS, k=words))

    def customer_says(self, user: str) -> None:
        kind = self.rng.choices(("text", "image", "sticker"), weights=(85, 10, 5))[0]
        message: dict[str, Any] = {"msg_id": self.msg_id()}
        if kind == "text":
            message["text"] = self.text(self.rng.randint(2, 25))
        else:
            payload = {"url": f"https://photo.zalo.me/{self.msg_id()}.jpg", "id": self.msg_id()}
            message["attachments"] = [{"type": kind, "payload": payload}]
        self.deliver(
            {
                "app_id": APP_ID,
                "sender": {"id": user},
                "recipient": {"id": OA_ID},
                "event_name": f"user_send_{kind}",
                "message": message,
            }
        )

    def agent_replies(self, user: str, chat_id: UUID) -> None:
        reply = self.app.post_reply(
            PostReply(actor="agent:lan", text=self.text(self.rng.randint(3, 30)), chat_id=chat_id)
        )
        if self.app.begin_send(reply.id) is None:
            return
        zalo_msg_id = self.msg_id()
        self.app.record_sent(reply.id, zalo_msg_id)
        self.clock.advance(1)
        self.deliver(
            {
                "app_id": APP_ID,
                "sender": {"id": OA_ID},
                "recipient": {"id": user},
                "event_name": "oa_send_text",
                "message": {"text": reply.text, "msg_id": zalo_msg_id},
            }
        )
        for status, chance in (("received", 0.9), ("seen", 0.7)):
            if self.rng.random() < chance:
                self.deliver(
                    {
                        "app_id": APP_ID,
                        "sender": {"id": user},
                        "recipient": {"id": OA_ID},
                        "event_name": f"user_{status}_message",
                        "message": {"msg_ids": [zalo_msg_id]},
                    }
                )

    def session(self, user: str) -> Iterator[None]:
        """One chat session: messages both ways, then its end."""
        self.customer_says(user)
        chat_id: UUID = self.contact(user).active_chat_id
        yield
        for _ in range(self.rng.randint(1, 6)):
            for _ in range(self.rng.choice((0, 1, 1, 2))):
                self.customer_says(user)
            if self.rng.random() < 0.5:
                self.app.mark_chat_read(MarkChatRead(chat_id=chat_id, actor="agent:lan"))
            self.agent_replies(user, chat_id)
            yield
        self._end(chat_id)

    def _end(self, chat_id: UUID) -> None:
        if self.rng.random() < 0.7:
            status = self.rng.choice(("pending", "closed", "closed", None))
            self.app.end_chat(
                EndChat(chat_id=chat_id, actor="agent:lan", reason="agent", status=status)
            )
        else:
            self.clock.advance(601)
            self.app.end_inactive_chat(EndInactiveChat(chat_id=chat_id))

    def story(self, user: str) -> Iterator[None]:
        """A customer: maybe a follow, one or more sessions, the ticket handled between."""
        if self.rng.random() < 0.3:
            self.deliver(
                {
                    "app_id": APP_ID,
                    "oa_id": OA_ID,
                    "follower": {"id": user},
                    "source": "oa_profile",
                    "event_name": "follow",
                }
            )
        sessions = self.rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
        for _ in range(sessions):
            yield from self.session(user)
            ticket_id: UUID = self.contact(user).current_ticket_id
            self._handle(ticket_id)
            yield

    def _handle(self, ticket_id: UUID) -> None:
        if self.rng.random() < 0.25:
            tags = tuple(self.rng.sample(("vip", "order", "return", "ship", "price"), 2))
            assignee = self.rng.choice(("agent:lan", "agent:minh", "agent:hoa"))
            change = ChangeTicket(
                ticket_id=ticket_id,
                actor="agent:lan",
                assignee=assignee,
                change_assignee=True,
                tags=tags,
            )
            self.app.change_ticket(change)

    def contact(self, user: str) -> Any:
        return self.app.repository.get(Contact.create_id(self.account_id, user))


def fill(url: str, events: int, seed: int, cipher_key: str | None) -> dict[str, Any]:
    """Play conversations until ``events`` events are stored; copy them into PostgreSQL."""
    started = time.monotonic()
    clock, rng = FrozenClock(datetime(2026, 11, 1, 8, 0, tzinfo=UTC)), random.Random(seed)
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo", "IS_SNAPSHOTTING_ENABLED": "y"}
    if cipher_key:
        env.update({k: v for k, v in eventsourcing_env(url, cipher_key).items() if "CIPHER" in k})
    app = Zalodesk(env=env, clock=clock)
    talk = Conversations(app, clock, rng)
    stories: list[Iterator[None]] = []
    copied, customers, mix = 0, 0, Counter[str]()
    with psycopg.connect(url) as conn:
        while copied < events:
            while len(stories) < 60:
                customers += 1
                stories.append(talk.story(f"8{customers:018d}"))
            story = rng.choice(stories)
            try:
                next(story)
            except StopIteration:
                stories.remove(story)
            except DomainError:
                stories.remove(story)
            if rng.random() < 0.0005:
                pair = fingerprint(f"access-token-{copied}", f"refresh-token-{copied}")
                app.rotate_tokens(talk.account_id, pair, 90000, "system")
            copied = copy_new(app, conn, copied, events, mix)
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('zalodesk_events', 'notification_id'), %s)",
            (copied,),
        )
        conn.execute("ANALYZE zalodesk_events")
    return {
        "events": copied,
        "seconds": time.monotonic() - started,
        "customers": customers,
        "mix": dict(mix),
    }


def copy_new(app: Zalodesk, conn: Any, copied: int, limit: int, mix: Counter[str]) -> int:
    head = app.recorder.max_notification_id() or 0
    if head - copied < COPY_CHUNK and head < limit:
        return copied
    rows: list[Notification] = list(
        app.recorder.select_notifications(start=copied + 1, limit=min(head, limit) - copied)
    )
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY zalodesk_events (originator_id, originator_version, topic, state, notification_id) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["uuid", "int8", "text", "bytea", "int8"])
        for n in rows:
            copy.write_row((n.originator_id, n.originator_version, n.topic, n.state, n.id))
            mix[n.topic.rpartition(":")[2]] += 1
    conn.commit()
    return rows[-1].id if rows else copied


# The measured steps


def replay_all(url: str, cipher_key: str | None, batch: int) -> dict[str, Any]:
    app, pool = opened(url, cipher_key)
    try:
        log = EventLog(app, pool)
        events = log.count(0, log.head())
        started = time.monotonic()
        position = Replay(log, pool, batch).run()
        return {"events": events, "seconds": time.monotonic() - started, "position": position}
    finally:
        pool.close()
        app.close()


def export_all(url: str, cipher_key: str | None, path: str) -> dict[str, Any]:
    app, pool = opened(url, cipher_key)
    try:
        started = time.monotonic()
        with open(path, "wb") as out:
            events = export_log(EventLog(app, pool), out, 0, credentials(url, pool)).events
        return {
            "events": events,
            "seconds": time.monotonic() - started,
            "bytes": os.path.getsize(path),
        }
    finally:
        pool.close()
        app.close()


def import_all(url: str, cipher_key: str | None, path: str) -> dict[str, Any]:
    app, pool = opened(url, cipher_key)
    try:
        started = time.monotonic()
        # The bench's account was connected without credentials: none to carry over.
        log = EventLog(app, pool)
        events = import_log(log, Path(path), credentials(url, pool), allow_redacted=True).events
        return {"events": events, "seconds": time.monotonic() - started}
    finally:
        pool.close()
        app.close()


def credentials(url: str, pool: ConnectionPool[Any]) -> CredentialStore:
    return CredentialStore(url, pool, CredentialCipher(os.urandom(32), "the bench's key"))


def opened(url: str, cipher_key: str | None) -> tuple[Zalodesk, ConnectionPool[Any]]:
    pool: ConnectionPool[Any] = ConnectionPool(
        url, min_size=1, max_size=4, open=True, kwargs={"autocommit": True}
    )
    return open_application(url, cipher_key), pool


def step(target: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run one step in a spawned process of its own; its result and its peak memory."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_in_child, args=(sending, target, args))
    process.start()
    result: dict[str, Any] = receiving.recv()
    process.join()
    if "error" in result:
        raise SystemExit(f"{target.__name__} failed: {result['error']}")
    return result


def _in_child(sending: Any, target: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> None:
    try:
        result = target(*args)
    except Exception as ex:  # reported by the parent
        result = {"error": f"{type(ex).__name__}: {ex}"}
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sending.send(result)


# Printing


def print_machine(url: str, args: argparse.Namespace) -> None:
    from importlib.metadata import version

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with psycopg.connect(url) as conn:
        server = conn.execute("SELECT version()").fetchone()
        settings = conn.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN "
            "('shared_buffers', 'synchronous_commit', 'fsync', 'max_wal_size')"
        ).fetchall()
    print("== machine ==")
    print(f"  {platform.node()}: {platform.platform()}")
    print(f"  cpu: {cpu}; {os.cpu_count()} cores; memory {memory:.1f} GiB")
    print(
        f"  python {platform.python_version()}; eventsourcing {version('eventsourcing')}, "
        f"psycopg {version('psycopg')}"
    )
    print(f"  postgresql: {server[0] if server else 'unknown'}")
    print("  settings: " + ", ".join(f"{n}={s}{u or ''}" for n, s, u in settings))
    print(
        f"  events: {args.events:,}; views: {', '.join(view_names())}; "
        f"replay batch {args.batch}; cipher {'on' if args.cipher else 'off'}"
    )


def rate(result: dict[str, Any]) -> str:
    return f"{result['events'] / result['seconds']:,.0f} events/s"


def print_step(name: str, result: dict[str, Any], extra: str = "") -> None:
    print(
        f"  {name:<8} {result['events']:>10,} events in {result['seconds']:7.1f} s  "
        f"{rate(result):>18}   peak memory {result['peak_mib']:,.0f} MiB{extra}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log size (1,000,000)")
    parser.add_argument("--batch", type=int, default=5000, help="replay events per transaction")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--cipher", action="store_true", help="encrypt the stores at rest")
    args = parser.parse_args(argv)
    key = base64.b64encode(os.urandom(16)).decode() if args.cipher else None
    with fresh_database("zalodesk_bench") as url, fresh_database("zalodesk_bench") as moved:
        prepare(url)
        prepare(moved)
        print_machine(url, args)
        run(args, url, moved, key)
    return 0


def run(args: argparse.Namespace, url: str, moved: str, key: str | None) -> None:
    print("== fill (through the Application in memory, then COPY; not a measurement) ==")
    filled = step(fill, url, args.events, args.seed, key)
    print_step("fill", filled, f"; {filled['customers']:,} customers")
    for name, count in sorted(filled["mix"].items(), key=lambda kv: -kv[1]):
        print(f"    {name:<32} {count:>9,}  {100 * count / filled['events']:5.1f} %")
    print("== measured ==")
    replayed = step(replay_all, url, key, args.batch)
    target = "ok" if replayed["events"] / replayed["seconds"] >= 20_000 else "BELOW 20,000/s"
    print_step("replay", replayed, f"   ({target})")
    with tempfile.TemporaryDirectory(prefix="zalodesk-bench-") as tmp:
        path = str(Path(tmp) / "log.jsonl")
        exported = step(export_all, url, key, path)
        print_step("export", exported, f"; {exported['bytes'] / 2**20:,.0f} MiB file")
        imported = step(import_all, moved, key, path)
        print_step("import", imported, " (checking pass and COPY)")


if __name__ == "__main__":
    raise SystemExit(main())
