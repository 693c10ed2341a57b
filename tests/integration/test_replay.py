"""Views rebuilt from the log while traffic flows, swapped in without losing or doubling events."""

from __future__ import annotations

import io
import logging
import threading
import time
from typing import Any

import pytest
from falcon import testing

from adapters.log_tools.replay import (
    ASIDE,
    Builder,
    Busy,
    Replay,
    Verify,
    exclusive,
    view_names,
    views_named,
)
from adapters.workers.heartbeats import Heartbeats
from adapters.workers.loops import run_loop
from adapters.workers.projector import lag
from api import bootstrap, cli
from api.console import Progress
from api.services import Services
from tests.integration.conftest import ZaloPlatform

CUSTOMERS = [f"880000000000{i:04d}" for i in range(8)]


def count(services: Services, sql: str) -> int:
    with services.pool.connection() as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def unread(services: Services) -> dict[str, int]:
    with services.pool.connection() as conn:
        rows = conn.execute(
            "SELECT c.zalo_user_id, i.unread_count FROM inbox_chats i "
            "JOIN contacts c ON c.contact_id = i.contact_id"
        ).fetchall()
    return dict(rows)


def wait_caught_up(services: Services, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while any(lag(services.pool, services.app, services.views).values()):
        assert time.monotonic() < deadline, "the live projector did not catch up"
        time.sleep(0.02)


class Traffic:
    """Customers write in turn, from a thread, until told to stop."""

    def __init__(self, platform: ZaloPlatform) -> None:
        self.platform = platform
        self.sent: dict[str, int] = dict.fromkeys(CUSTOMERS, 0)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def send(self, n: int) -> None:
        customer = CUSTOMERS[n % len(CUSTOMERS)]
        assert self.platform.text(customer, f"message {n}").status_code == 200
        self.sent[customer] += 1

    def run(self) -> None:
        n = sum(self.sent.values())
        while not self.stop.is_set():
            self.send(n)
            n += 1

    @property
    def total(self) -> int:
        return sum(self.sent.values())


def test_replay_during_live_traffic_loses_and_doubles_nothing(
    platform: ZaloPlatform, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    traffic = Traffic(platform)
    for n in range(160):  # a history worth several batches
        traffic.send(n)
    stop_projector = threading.Event()
    running = bootstrap.workers(services, bootstrap.WorkerTuning(projector_batch=20))
    [projecting] = [loop for loop in running.loops() if loop.name == "projector"]
    live = threading.Thread(
        target=run_loop, args=(projecting, stop_projector, Heartbeats(services.pool)), daemon=True
    )
    caplog.set_level(logging.WARNING, "zalodesk.worker")
    log = services.log

    live.start()
    traffic.thread.start()
    before = traffic.total
    Replay(log, services.pool, batch=40).run()
    during = traffic.total - before
    Replay(log, services.pool, batch=40).run(["inbox", "transcript"])  # and again, mid-stream
    traffic.stop.set()
    traffic.thread.join()
    wait_caught_up(services)
    stop_projector.set()
    live.join()

    assert during > 0, "no traffic flowed while the replay ran"
    assert not [r for r in caplog.records if r.name == "zalodesk.worker"]
    assert unread(services) == traffic.sent  # each message counted exactly once
    assert count(services, "SELECT count(*) FROM chat_messages") == traffic.total
    assert count(services, "SELECT count(DISTINCT zalo_msg_id) FROM chat_messages") == traffic.total
    # And the views are what a fresh rebuild from the log gives.
    assert all(check.equal for check in Verify(log, services.pool).run())
    # Nothing left aside.
    assert count(services, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%_rebuild'") == 0
    assert count(services, "SELECT count(*) FROM view_positions WHERE view LIKE '%_rebuild'") == 0


def test_an_interrupted_replay_resumes_where_it_stopped(
    platform: ZaloPlatform, services: Services, project: Any, client: testing.TestClient
) -> None:
    for n in range(30):
        platform.text(CUSTOMERS[n % 3], f"m{n}")
    project()
    before = client.simulate_get("/api/chats").json
    log = services.log
    replay = Replay(log, services.pool, batch=10)
    # A first run builds one batch aside, then the process dies.
    replay._prepare(views_named([], ASIDE))
    builder = Builder(log, services.pool, views_named([], ASIDE), batch=10)
    with services.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        assert builder.step(cur, log.head()) == 10
    assert set(replay.resumable().values()) == {10}

    replay.run()

    assert client.simulate_get("/api/chats").json == before
    assert replay.resumable() == {}
    assert all(check.equal for check in Verify(log, services.pool).run())


def test_replay_rebuilds_only_the_views_named(
    platform: ZaloPlatform, services: Services, project: Any, db: str, monkeypatch: Any, capsys: Any
) -> None:
    platform.text(CUSTOMERS[0], "hello")
    project()
    with services.pool.connection() as conn:
        conn.execute("UPDATE inbox_chats SET unread_count = 7")
        conn.execute("UPDATE contacts SET anonymous = true")
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)

    assert cli.main(["replay", "inbox"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("replayed inbox up to position ")
    assert count(services, "SELECT unread_count FROM inbox_chats") == 1  # rebuilt
    assert count(services, "SELECT count(*) FROM contacts WHERE anonymous") == 1  # untouched


def test_replay_names_the_views_it_knows(db: str, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)
    assert cli.main(["replay", "inbox", "nonsense"]) == 2
    assert capsys.readouterr().err == (
        f"zalodesk: no view named nonsense; the views are {', '.join(view_names())}\n"
    )


def test_verify_passes_on_true_views(
    platform: ZaloPlatform, project: Any, db: str, monkeypatch: Any, capsys: Any
) -> None:
    platform.text(CUSTOMERS[0], "hello")
    project()
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)

    assert cli.main(["verify"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == view_names()
    assert all(" equal (at position " in line for line in out)


def test_verify_catches_a_view_row_changed_by_hand(
    platform: ZaloPlatform, services: Services, project: Any, db: str, monkeypatch: Any, capsys: Any
) -> None:
    platform.text(CUSTOMERS[0], "hello")
    platform.text(CUSTOMERS[1], "hi")
    project()
    with services.pool.connection() as conn:
        row = conn.execute("SELECT chat_id FROM inbox_chats LIMIT 1").fetchone()
        assert row is not None
        chat_id = row[0]
        conn.execute("UPDATE inbox_chats SET unread_count = 99 WHERE chat_id = %s", (chat_id,))
        conn.execute("DELETE FROM chat_messages WHERE text = 'hi'")
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)

    assert cli.main(["verify"]) != 0

    captured = capsys.readouterr()
    lines = {line.split()[0]: line for line in captured.out.splitlines()}
    assert "equal" in lines["accounts"] and "equal" in lines["tickets"]
    assert "DIFFERS" in lines["inbox"]
    assert (
        "inbox_chats: 1 row only in the live view, 1 row only in the rebuild "
        f"(e.g. chat_id={chat_id})"
    ) in lines["inbox"]
    assert (
        "chat_messages: 0 rows only in the live view, 1 row only in the rebuild"
        in (lines["transcript"])
    )
    error = captured.err.splitlines()[-1]  # after the progress lines
    assert error.startswith("zalodesk: 2 view(s) differ from the log: inbox, transcript")
    # The scratch tables are gone again.
    assert count(services, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%_verify'") == 0


def test_one_replay_or_verify_at_a_time(services: Services) -> None:
    with exclusive(services.pool), pytest.raises(Busy):
        Replay(services.log, services.pool).run()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_a_line_per_five_percent_off_a_terminal() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(stream, clock)
    progress.start(1000, "replaying")
    for _ in range(10):
        clock.now += 1
        progress.advance(100)
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0] == "replaying  10.0%  100/1,000 events  100 events/s  0:09 left"
    assert lines[-1] == "replaying: 1,000 events in 10.0 s (100 events/s)   "


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_in_place_on_a_terminal() -> None:
    stream, clock = Terminal(), FakeClock()
    progress = Progress(stream, clock)
    progress.start(200_000, "replaying")
    clock.now = 4.0
    progress.advance(100_000)
    assert stream.getvalue() == (
        "\rreplaying  50.0%  100,000/200,000 events  25,000 events/s  0:04 left   "
    )
    assert "\n" not in stream.getvalue()


def test_progress_on_start_is_plain_lines_even_on_a_terminal() -> None:
    stream, clock = Terminal(), FakeClock()
    progress = Progress(stream, clock, in_place=False)
    progress.start(200_000, "rebuilding inbox")
    clock.now = 4.0
    progress.advance(100_000)
    progress.finish()
    assert stream.getvalue().splitlines() == [
        "rebuilding inbox  50.0%  100,000/200,000 events  25,000 events/s  0:04 left",
        "rebuilding inbox: 100,000 events in 4.0 s (25,000 events/s)   ",
    ]
