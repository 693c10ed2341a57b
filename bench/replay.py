"""Replay of every view, export and import of the log, at size.

Run by hand (bench/README.md): ``python -m bench.replay [--quick]``; it prints figures and
asserts nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import multiprocessing
import os
import random
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent

from adapters.log_tools.exporter import export_log
from adapters.log_tools.importer import import_log
from adapters.log_tools.replay import Replay, view_names
from adapters.postgres.connection import eventsourcing_env
from bench import harness
from bench.harness import opt
from domain.application import Zalodesk
from domain.clock import FrozenClock
from domain.commands import ChangeTicket, EndChat, EndInactiveChat, MarkChatRead, PostReply
from domain.errors import DomainError
from domain.values import EndReason, TicketStatus
from tests.support import zalo

CHATTER = (
    "shop ơi còn hàng không ạ size M màu đỏ giao hàng mất mấy ngày em muốn đổi trả "
    "cảm ơn anh chị nhé giá bao nhiêu có ship COD không đơn hàng của em đâu rồi"
)
WORDS = CHATTER.split()
COPY_CHUNK = 20_000
INACTIVITY = 600
TARGET = 20_000  # replay events/s


@dataclass(frozen=True)
class Options:
    events: int = opt(1_000_000, "events in the log", quick=20_000)
    batch: int = opt(5000, "replay events per transaction")
    seed: int = opt(5, "of the conversations' random choices")
    cipher: bool = opt(False, "the stores encrypted at rest (AES-GCM)")


@dataclass
class Step:
    events: int
    seconds: float
    note: str = ""
    mix: dict[str, int] = field(default_factory=dict)
    peak_mib: float = 0.0

    def line(self, name: str) -> str:
        return (
            f"  {name:<8} {self.events:>10,} events in {self.seconds:7.1f} s  "
            f"{self.events / self.seconds:>10,.0f} events/s   peak memory "
            f"{self.peak_mib:,.0f} MiB{self.note}"
        )


# ---------------------------------------------------------------------------
# The fill: conversations through the Application, in memory


class Conversations:
    """Customers talking to one OA, played through the Application's commands: texts, images
    and stickers, follows, replies with their echoes and receipts, read marks, ends by an agent
    with a status or by inactivity, further sessions, assignments and tags."""

    def __init__(self, app: Zalodesk, account_id: UUID, clock: FrozenClock, rng: random.Random):
        self.app, self.account_id, self.clock, self.rng = app, account_id, clock, rng
        self.msg_ids = iter(range(10**15, 10**16))

    def deliver(self, event: str, sender: str, recipient: str, **body: Any) -> None:
        body = {"app_id": zalo.APP_ID, "event_name": event, **body}
        if event != "follow":
            body.update(sender={"id": sender}, recipient={"id": recipient})
        body["timestamp"] = str(int(self.clock().timestamp() * 1000))
        harness.receive(self.app, self.account_id, body)
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
        self.deliver(f"user_send_{kind}", user, zalo.OA_ID, message=message)

    def agent_replies(self, user: str, chat_id: UUID) -> None:
        text = self.text(self.rng.randint(3, 30))
        reply = self.app.post_reply(PostReply(actor="agent:lan", text=text, chat_id=chat_id))
        if self.app.begin_send(reply.id) is None:
            return
        zalo_msg_id = self.msg_id()
        self.app.record_sent(reply.id, zalo_msg_id)
        self.clock.advance(1)
        echo = {"text": text, "msg_id": zalo_msg_id}
        self.deliver("oa_send_text", zalo.OA_ID, user, message=echo)
        for status, chance in (("received", 0.9), ("seen", 0.7)):
            if self.rng.random() < chance:
                receipt = {"msg_ids": [zalo_msg_id]}
                self.deliver(f"user_{status}_message", user, zalo.OA_ID, message=receipt)

    def session(self, user: str) -> Iterator[None]:
        """One chat session: messages both ways, then its end."""
        self.customer_says(user)
        chat_id = harness.contact(self.app, self.account_id, user).active_chat_id
        assert chat_id is not None
        yield
        for _ in range(self.rng.randint(1, 6)):
            for _ in range(self.rng.choice((0, 1, 1, 2))):
                self.customer_says(user)
            if self.rng.random() < 0.5:
                self.app.mark_chat_read(MarkChatRead(chat_id=chat_id, actor="agent:lan"))
            self.agent_replies(user, chat_id)
            yield
        if self.rng.random() < 0.7:
            status = self.rng.choice(
                (TicketStatus.PENDING, TicketStatus.CLOSED, TicketStatus.CLOSED, None)
            )
            end = EndChat(chat_id=chat_id, actor="agent:lan", reason=EndReason.AGENT, status=status)
            self.app.end_chat(end)
        else:
            self.clock.advance(INACTIVITY + 1)
            self.app.end_inactive_chat(EndInactiveChat(chat_id=chat_id))

    def story(self, user: str) -> Iterator[None]:
        """A customer: maybe a follow, one or more sessions, the ticket handled between."""
        if self.rng.random() < 0.3:
            follower = {"oa_id": zalo.OA_ID, "follower": {"id": user}, "source": "oa_profile"}
            self.deliver("follow", user, zalo.OA_ID, **follower)
        for _ in range(self.rng.choices((1, 2, 3), weights=(70, 22, 8))[0]):
            yield from self.session(user)
            ticket_id = harness.contact(self.app, self.account_id, user).current_ticket_id
            if ticket_id is not None and self.rng.random() < 0.25:
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
            yield


def fill(url: str, events: int, seed: int, cipher_key: str | None) -> Step:
    """Conversations played in memory until ``events`` events are stored, copied into
    zalodesk_events with COPY in log order with their positions: no HTTP, no projector, no
    table lock per transaction; a couple of minutes for a million."""
    started = time.monotonic()
    # The account is connected through the API into the database; the in-memory
    # application starts from the database's log.
    with harness.services(harness.settings(url, cipher_key=cipher_key)) as services:
        form = harness.account_form("Shop Hoa Mai", inactivity=INACTIVITY)
        account_id = harness.connect_accounts(services, [form])[0]
        stored = list(services.app.recorder.select_notifications(start=1, limit=10_000))
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo", "IS_SNAPSHOTTING_ENABLED": "y"}
    env.update({k: v for k, v in eventsourcing_env(url, cipher_key).items() if "CIPHER" in k})
    clock, rng = FrozenClock(datetime(2026, 11, 1, 8, 0, tzinfo=UTC)), random.Random(seed)
    app = Zalodesk(env=env, clock=clock)
    app.recorder.insert_events(
        [StoredEvent(n.originator_id, n.originator_version, n.topic, n.state) for n in stored]
    )
    talk = Conversations(app, account_id, clock, rng)
    stories: list[Iterator[None]] = []
    copied, customers, mix = len(stored), 0, Counter[str]()
    with psycopg.connect(url) as conn:
        while copied < events:
            while len(stories) < 60:
                customers += 1
                stories.append(talk.story(f"8{customers:018d}"))
            story = rng.choice(stories)
            try:
                next(story)
            except (StopIteration, DomainError):
                stories.remove(story)
            copied = copy_new(app, conn, copied, events, mix)
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('zalodesk_events', 'notification_id'), %s)",
            (copied,),
        )
        conn.execute("ANALYZE zalodesk_events")
    note = f"; {customers:,} customers"
    return Step(copied, time.monotonic() - started, note, dict(mix))


def copy_new(
    app: Zalodesk, conn: psycopg.Connection[Any], copied: int, limit: int, mix: Counter[str]
) -> int:
    head = app.recorder.max_notification_id() or 0
    if head - copied < COPY_CHUNK and head < limit:
        return copied
    rows = app.recorder.select_notifications(start=copied + 1, limit=min(head, limit) - copied)
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY zalodesk_events (originator_id, originator_version, topic, state, "
            "notification_id) FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["uuid", "int8", "text", "bytea", "int8"])
        for n in rows:
            copy.write_row((n.originator_id, n.originator_version, n.topic, n.state, n.id))
            mix[n.topic.rpartition(":")[2]] += 1
    conn.commit()
    return rows[-1].id if rows else copied


# ---------------------------------------------------------------------------
# The measured steps, each as its command does it


def replay_all(url: str, cipher_key: str | None, batch: int) -> Step:
    """As ``zalodesk replay``: into ``*_rebuild`` tables, their indexes, then the swap."""
    with harness.services(harness.settings(url, cipher_key=cipher_key)) as services:
        events = services.log.count(0, services.log.head())
        started = time.monotonic()
        Replay(services.log, services.pool, batch).run()
        return Step(events, time.monotonic() - started)


def export_all(url: str, cipher_key: str | None, path: str) -> Step:
    """As ``zalodesk log export --include-secrets -o FILE``."""
    with harness.services(harness.settings(url, cipher_key=cipher_key)) as services:
        started = time.monotonic()
        with open(path, "wb") as out:
            events = export_log(services.log, out, secrets=services.credentials).events
        note = f"; {os.path.getsize(path) / 2**20:,.0f} MiB file"
        return Step(events, time.monotonic() - started, note)


def import_all(url: str, cipher_key: str | None, path: str) -> Step:
    """As ``zalodesk log import FILE``: a checking pass over the file, then one COPY."""
    with harness.services(harness.settings(url, cipher_key=cipher_key)) as services:
        started = time.monotonic()
        events = import_log(services.log, Path(path), services.credentials).events
        return Step(events, time.monotonic() - started, " (checking pass and COPY)")


def step(target: Callable[..., Step], *args: Any) -> Step:
    """One step in a spawned process of its own, so that its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_in_child, args=(sending, target, args))
    process.start()
    result: Step | str = receiving.recv()
    process.join()
    if isinstance(result, str):
        raise SystemExit(f"{target.__name__} failed: {result}")
    return result


def _in_child(sending: Connection, target: Callable[..., Step], args: tuple[Any, ...]) -> None:
    try:
        result = target(*args)
    except Exception as ex:  # reported by the parent
        sending.send(f"{type(ex).__name__}: {ex}")
        return
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sending.send(dataclasses.replace(result, peak_mib=peak))


def main() -> None:
    opts = harness.options(Options)
    key = base64.b64encode(os.urandom(16)).decode() if opts.cipher else None
    with harness.database() as url, harness.database() as moved:
        harness.describe_machine(
            url,
            f"events: {opts.events:,}; views: {', '.join(view_names())}; replay batch "
            f"{opts.batch}; cipher {'on' if opts.cipher else 'off'}",
        )
        print("== fill (through the Application in memory, then COPY; not a measurement) ==")
        filled = step(fill, url, opts.events, opts.seed, key)
        print(filled.line("fill"))
        for name, count in sorted(filled.mix.items(), key=lambda kv: -kv[1]):
            print(f"    {name:<32} {count:>9,}  {100 * count / filled.events:5.1f} %")
        print("== measured ==")
        replayed = step(replay_all, url, key, opts.batch)
        ok = replayed.events / replayed.seconds >= TARGET
        print(replayed.line("replay") + ("   (ok)" if ok else f"   (BELOW {TARGET:,}/s)"))
        with tempfile.TemporaryDirectory(prefix="zalodesk-bench-") as tmp:
            path = str(Path(tmp) / "log.jsonl")
            print(step(export_all, url, key, path).line("export"))
            print(step(import_all, moved, key, path).line("import"))


if __name__ == "__main__":
    main()
