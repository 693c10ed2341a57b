"""A view whose tables changed is rebuilt from the log on start, before anything reads it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
import pytest
from attrs import evolve
from falcon import testing

from adapters.log_tools.event_log import EventLog
from adapters.log_tools.replay import Replay, Verify
from adapters.postgres.schema import prepare
from adapters.read_models.views.contacts import ContactsView
from adapters.read_models.views.inbox import InboxView
from adapters.read_models.views.registry import VIEW_CLASSES, all_views
from adapters.settings import Settings
from adapters.workers.projector import Projector
from api import bootstrap, cli
from api.services import Services
from domain.clock import FrozenClock
from tests.integration.conftest import ADMIN, ZaloPlatform
from tests.support.databases import fresh_database

CUSTOMERS = ["2512523625412515", "2512523625412516"]


@pytest.fixture
def db() -> Iterator[str]:
    """A database of this test's own: these tests change the views' tables."""
    with fresh_database() as url:
        prepare(url)
        yield url


class Seen:
    """What a progress display is told."""

    def __init__(self) -> None:
        self.started: list[tuple[int, str]] = []
        self.advanced = 0
        self.finished = 0

    def start(self, total: int, doing: str) -> None:
        self.started.append((total, doing))

    def advance(self, count: int) -> None:
        self.advanced += count

    def finish(self) -> None:
        self.finished += 1


def sql(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, params or None)
        return cursor.fetchall() if cursor.description else []


def event_count(url: str) -> int:
    return int(sql(url, "SELECT count(*) FROM zalodesk_events")[0][0])


def versions(url: str) -> dict[str, int]:
    return dict(sql(url, "SELECT view, version FROM view_versions"))


def unread(url: str) -> dict[str, int]:
    rows = sql(
        url,
        "SELECT k.zalo_user_id, i.unread_count FROM inbox_chats i "
        "JOIN contacts k ON k.contact_id = i.contact_id",
    )
    return dict(rows)


def columns(url: str, table: str) -> list[str]:
    rows = sql(
        url,
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "ORDER BY ordinal_position",
        table,
    )
    return [row[0] for row in rows]


def what_the_agent_sees(client: testing.TestClient) -> dict[str, Any]:
    chats = client.simulate_get("/api/chats").json
    tickets = client.simulate_get("/api/tickets").json
    return {
        "inbox": chats,
        "chats": [client.simulate_get(f"/api/chats/{c['id']}").json for c in chats["chats"]],
        "tickets": tickets,
        "ticket": [client.simulate_get(f"/api/tickets/{t['id']}").json for t in tickets["tickets"]],
    }


@pytest.fixture
def history(platform: ZaloPlatform, project: Any, client: testing.TestClient) -> dict[str, Any]:
    """Two customers who wrote, one of them answered and her chat ended; the views caught up."""
    for n in range(3):
        platform.text(CUSTOMERS[n % 2], f"message {n}")
    project()
    [chat] = [
        c
        for c in client.simulate_get("/api/chats").json["chats"]
        if c["customer"]["zalo_user_id"] == CUSTOMERS[1]
    ]
    client.simulate_post(f"/api/chats/{chat['id']}/messages", json={"text": "Dạ, shop nghe ạ"})
    client.simulate_post(f"/api/chats/{chat['id']}/end", json={"status": "pending"})
    project()
    seen = what_the_agent_sees(client)
    assert len(seen["inbox"]["chats"]) == 1 and len(seen["tickets"]["tickets"]) == 1
    return seen


@contextmanager
def restarted(settings: Settings, clock: FrozenClock) -> Iterator[tuple[Services, Any]]:
    """The service as a new process builds it after its start: new pools, a new app."""
    services = bootstrap.build(settings, str(settings.database_url), clock)
    try:
        yield services, testing.TestClient(bootstrap.http_app(services), headers=ADMIN)
    finally:
        services.close()


def test_a_view_whose_columns_moved_in_code_is_rebuilt_on_start_and_reads_right(
    history: dict[str, Any],
    db: str,
    settings: Settings,
    clock: FrozenClock,
    platform: ZaloPlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The next release puts a new column in the middle of the contacts table.
    [contacts] = ContactsView.schema
    key = "contact_id uuid PRIMARY KEY,"
    with_nickname = evolve(contacts, columns=contacts.columns.replace(key, f"{key} nickname text,"))
    monkeypatch.setattr(ContactsView, "schema", (with_nickname,))
    bumped = ContactsView.version + 1
    monkeypatch.setattr(ContactsView, "version", bumped)
    seen = Seen()

    prepare(db, progress=seen)

    assert columns(db, "contacts")[:3] == ["contact_id", "nickname", "account_id"]
    assert versions(db)["contacts"] == bumped
    assert seen.started == [(event_count(db), "rebuilding contacts")]  # that view alone
    assert seen.advanced == event_count(db) and seen.finished == 1
    with restarted(settings, clock) as (services, client):
        assert what_the_agent_sees(client) == history
        # The projector goes on writing the new shape right.
        platform.text("2512523625412599", "xin chào")
        Projector(services.app, services.pool, services.views).catch_up()
        newest = "SELECT account_id, anonymous, nickname FROM contacts WHERE zalo_user_id = %s"
        assert sql(db, newest, "2512523625412599") == [(UUID(platform.account["id"]), False, None)]
        log = EventLog(services.app, services.pool)
        assert all(check.equal for check in Verify(log, services.pool).run())


def test_a_view_recorded_as_another_version_is_rebuilt_before_a_command_reads_it(
    history: dict[str, Any], db: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    right = unread(db)
    sql(db, "UPDATE view_versions SET version = 0 WHERE view = 'inbox'")
    sql(db, "UPDATE inbox_chats SET unread_count = 42")  # written by that other version
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)

    assert cli.main(["verify"]) == 0  # the command starts as the service does

    assert unread(db) == right
    assert versions(db)["inbox"] == InboxView.version
    said = capsys.readouterr().err.splitlines()
    progress = [line for line in said if not line.startswith("{")]  # beside the JSON log
    events = event_count(db)
    assert progress[0].startswith(f"rebuilding inbox 100.0%  {events:,}/{events:,} events  ")
    assert progress[1].startswith(f"rebuilding inbox: {events:,} events in ")


def test_views_kept_before_versions_were_recorded_are_all_rebuilt(
    history: dict[str, Any], db: str, client: testing.TestClient
) -> None:
    right = unread(db)
    sql(db, "DROP TABLE view_versions")
    sql(db, "UPDATE inbox_chats SET unread_count = 42")
    seen = Seen()

    prepare(db, progress=seen)

    assert seen.started == [(event_count(db), f"rebuilding {', '.join(names())}")]
    assert versions(db) == {cls.name: cls.version for cls in VIEW_CLASSES}
    assert unread(db) == right
    assert what_the_agent_sees(client) == history


def test_an_unchanged_view_is_not_rebuilt(history: dict[str, Any], db: str) -> None:
    sql(db, "UPDATE inbox_chats SET unread_count = 42")
    before = versions(db)
    seen = Seen()

    prepare(db, progress=seen)

    assert seen.started == []
    assert set(unread(db).values()) == {42}  # untouched
    assert versions(db) == before


def test_a_view_new_to_a_database_with_history_is_built_before_it_is_read(
    history: dict[str, Any], db: str, platform: ZaloPlatform, project: Any
) -> None:
    right = unread(db)
    sql(db, "DROP TABLE inbox_chats")  # as if the inbox came in this release
    sql(db, "DELETE FROM view_versions WHERE view = 'inbox'")
    sql(db, "DELETE FROM view_positions WHERE view = 'inbox'")
    seen = Seen()

    prepare(db, progress=seen)

    assert seen.started == [(event_count(db), "rebuilding inbox")]
    assert unread(db) == right
    # The projector carries on from the rebuild's position: nothing is counted twice.
    platform.text(CUSTOMERS[0], "one more")
    project()
    assert unread(db) == {CUSTOMERS[0]: right[CUSTOMERS[0]] + 1}


def test_a_new_database_gets_its_views_at_their_versions_without_a_rebuild() -> None:
    seen = Seen()
    with fresh_database() as url:
        prepare(url, progress=seen)
        assert versions(url) == {cls.name: cls.version for cls in VIEW_CLASSES}
        assert {t for v in all_views() for t in v.tables} <= set(tables(url))
    assert seen.started == []


def test_a_replay_records_the_version_it_built(
    history: dict[str, Any], db: str, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(InboxView, "version", 2)
    Replay(EventLog(services.app, services.pool), services.pool).run(["inbox"])
    assert versions(db)["inbox"] == 2
    seen = Seen()

    prepare(db, progress=seen)

    assert seen.started == []


class Gate:
    """A progress display that holds its rebuild until another start waits for the database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen = Seen()

    def start(self, total: int, doing: str) -> None:
        self.seen.start(total, doing)
        deadline = time.monotonic() + 30
        while not waiting_for_a_lock(self.url):
            assert time.monotonic() < deadline, "the other start never waited"
            time.sleep(0.02)

    def advance(self, count: int) -> None:
        self.seen.advance(count)

    def finish(self) -> None:
        self.seen.finish()


def waiting_for_a_lock(url: str) -> bool:
    rows = sql(
        url,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    return bool(rows[0][0])


def test_two_starts_at_once_rebuild_once(history: dict[str, Any], db: str) -> None:
    right = unread(db)
    sql(db, "UPDATE view_versions SET version = 0 WHERE view = 'inbox'")
    sql(db, "UPDATE inbox_chats SET unread_count = 42")
    gates = [Gate(db), Gate(db)]
    ready = threading.Barrier(2)

    def start(gate: Gate) -> None:
        ready.wait()
        prepare(db, progress=gate)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(start, gates))

    assert sorted(len(g.seen.started) for g in gates) == [0, 1]
    assert unread(db) == right


def names() -> list[str]:
    return [cls.name for cls in VIEW_CLASSES]


def tables(url: str) -> list[str]:
    return [row[0] for row in sql(url, "SELECT tablename FROM pg_tables")]
