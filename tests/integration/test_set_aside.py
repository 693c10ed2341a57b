"""An event a view cannot apply is set aside, visibly, and the later events flow on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from falcon import testing

from adapters.read_models.views.inbox import InboxView
from api import bootstrap, cli
from api.services import Services
from tests.integration.conftest import ZaloPlatform

CUSTOMER = "2512523625412515"
MESSAGE = "Chat.CustomerMessageReceived"
APPLIES = InboxView._handlers[MESSAGE]


def positions_of(services: Services, event_type: str) -> list[int]:
    with services.pool.connection() as conn:
        rows = conn.execute(
            "SELECT notification_id FROM zalodesk_events WHERE topic LIKE %s "
            "ORDER BY notification_id",
            (f"%:{event_type}",),
        ).fetchall()
    return [int(row[0]) for row in rows]


def inbox_cannot_apply(
    monkeypatch: pytest.MonkeyPatch, position: int, failure: Callable[[Any], None]
) -> None:
    """The inbox's handler of customer messages fails on the event at this position only."""
    handler = InboxView._handlers[MESSAGE]  # failing on other positions already, maybe

    def failing(view: InboxView, cur: Any, event: Any, at: int) -> None:
        if at == position:
            failure(cur)
        handler(view, cur, event, at)

    monkeypatch.setitem(InboxView._handlers, MESSAGE, failing)


def inbox_fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(InboxView._handlers, MESSAGE, APPLIES)


def a_bug(cur: Any) -> None:
    raise KeyError("attachments")


def a_statement_the_database_refuses(cur: Any) -> None:
    cur.execute("SELECT 1 / 0")


def a_value_beyond_a_database_limit(cur: Any) -> None:
    cur.execute("CREATE TEMPORARY TABLE IF NOT EXISTS keyed (key text PRIMARY KEY)")
    cur.execute(
        "INSERT INTO keyed SELECT string_agg(md5(n::text), '') FROM generate_series(1, 300) n"
    )


def the_chat(client: testing.TestClient) -> tuple[dict[str, Any], list[str]]:
    [chat] = client.simulate_get("/api/chats").json["chats"]
    transcript = client.simulate_get(f"/api/chats/{chat['id']}").json
    return chat, [m["text"] for m in transcript["messages"]]


def set_aside_count(client: testing.TestClient, view: str) -> float:
    prefix = f'zalodesk_events_set_aside_total{{view="{view}"}} '
    [line] = [x for x in client.simulate_get("/metrics").text.splitlines() if x.startswith(prefix)]
    return float(line.removeprefix(prefix))


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "zalodesk.projector" and r.levelno == logging.ERROR
    ]


EXPECTED: dict[Callable[[Any], None], str] = {
    a_bug: "KeyError: 'attachments'",
    a_statement_the_database_refuses: "DivisionByZero: division by zero",
    a_value_beyond_a_database_limit: "ProgramLimitExceeded: index row",
}


@pytest.mark.parametrize(
    "failure", [a_bug, a_statement_the_database_refuses, a_value_beyond_a_database_limit]
)
def test_an_event_the_inbox_cannot_apply_is_set_aside_and_the_rest_flow_on(
    platform: ZaloPlatform,
    client: testing.TestClient,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Callable[[Any], None],
) -> None:
    for text in ("một", "hai"):
        assert platform.text(CUSTOMER, text).status_code == 200
    bootstrap.projector(services).catch_up()
    assert client.simulate_get("/readyz").status_code == 200
    for text in ("ba", "bốn", "năm"):
        assert platform.text(CUSTOMER, text).status_code == 200
    bad = positions_of(services, MESSAGE)[2]
    inbox_cannot_apply(monkeypatch, bad, failure)

    bootstrap.projector(services).catch_up()

    chat, transcript = the_chat(client)
    assert chat["unread_count"] == 4  # every message but "ba"
    assert chat["last_message"]["text"] == "năm"
    assert transcript == ["một", "hai", "ba", "bốn", "năm"]  # the other views applied it
    assert not any(services.lag().values())

    ready = client.simulate_get("/readyz")
    assert ready.status_code == 503
    assert ready.json["status"] == "events set aside"
    [aside] = ready.json["set_aside"]
    assert (aside["view"], aside["position"], aside["event_type"]) == ("inbox", bad, MESSAGE)
    assert aside["error"].startswith(EXPECTED[failure])

    assert set_aside_count(client, "inbox") == 1
    assert set_aside_count(client, "transcript") == 0
    [logged] = errors_logged(caplog)
    assert logged.position == bad  # type: ignore[attr-defined]
    assert str(bad) in logged.getMessage()


def test_a_restarted_projector_does_not_fail_again_on_a_set_aside_event(
    platform: ZaloPlatform,
    client: testing.TestClient,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert platform.text(CUSTOMER, "một").status_code == 200
    [bad] = positions_of(services, MESSAGE)
    inbox_cannot_apply(monkeypatch, bad, a_bug)
    bootstrap.projector(services).catch_up()

    # Restarted, twice: nothing more to apply, nothing set aside again.
    assert bootstrap.projector(services).catch_up() == 0
    assert bootstrap.projector(services, batch_size=1).catch_up() == 0
    assert platform.text(CUSTOMER, "hai").status_code == 200
    assert bootstrap.projector(services).catch_up() > 0

    chat, _ = the_chat(client)
    assert chat["last_message"]["text"] == "hai"
    assert [e["position"] for e in client.simulate_get("/readyz").json["set_aside"]] == [bad]
    assert len(errors_logged(caplog)) == 1
    assert set_aside_count(client, "inbox") == 1


def test_verify_names_the_set_aside_events_and_a_replay_applies_them_once_fixed(
    platform: ZaloPlatform,
    client: testing.TestClient,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    db: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for text in ("một", "hai", "ba"):
        assert platform.text(CUSTOMER, text).status_code == 200
    first, _, third = positions_of(services, MESSAGE)
    for bad in (first, third):
        inbox_cannot_apply(monkeypatch, bad, a_bug)
    bootstrap.projector(services).catch_up()
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)

    assert cli.main(["verify"]) != 0
    captured = capsys.readouterr()
    lines = {line.split()[0]: line for line in captured.out.splitlines()}
    assert f"set aside: position {first} ({MESSAGE}: KeyError: 'attachments')" in lines["inbox"]
    assert "set aside" not in lines["transcript"]
    assert captured.err.splitlines()[-1] == (
        f"zalodesk: events set aside: inbox at positions {first}, {third} "
        "(once fixed, `zalodesk replay inbox` applies them)"
    )

    inbox_fixed(monkeypatch)
    assert cli.main(["replay", "inbox"]) == 0

    assert client.simulate_get("/readyz").status_code == 200
    chat, _ = the_chat(client)
    assert chat["unread_count"] == 3
    assert cli.main(["verify"]) == 0
    assert set_aside_count(client, "inbox") == 2  # ever: a counter never goes down


def test_a_replay_keeps_aside_what_still_fails(
    platform: ZaloPlatform,
    client: testing.TestClient,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    db: str,
) -> None:
    for text in ("một", "hai"):
        assert platform.text(CUSTOMER, text).status_code == 200
    first, second = positions_of(services, MESSAGE)
    inbox_cannot_apply(monkeypatch, first, a_bug)
    inbox_cannot_apply(monkeypatch, second, a_bug)
    bootstrap.projector(services).catch_up()
    inbox_fixed(monkeypatch)
    inbox_cannot_apply(monkeypatch, second, a_bug)  # half fixed
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)

    assert cli.main(["replay", "inbox"]) == 0

    ready = client.simulate_get("/readyz")
    assert ready.status_code == 503
    assert [(e["view"], e["position"]) for e in ready.json["set_aside"]] == [("inbox", second)]
    assert set_aside_count(client, "inbox") == 2


def test_the_database_s_own_trouble_is_retried_not_set_aside(
    platform: ZaloPlatform,
    client: testing.TestClient,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert platform.text(CUSTOMER, "một").status_code == 200
    [bad] = positions_of(services, MESSAGE)

    def connection_lost(cur: Any) -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    inbox_cannot_apply(monkeypatch, bad, connection_lost)
    with pytest.raises(psycopg.OperationalError):
        bootstrap.projector(services).catch_up()
    assert services.lag()["inbox"] > 0
    assert client.simulate_get("/readyz").json["set_aside"] == []

    inbox_fixed(monkeypatch)  # the database is back
    bootstrap.projector(services).catch_up()
    chat, _ = the_chat(client)
    assert chat["last_message"]["text"] == "một"
    assert client.simulate_get("/readyz").status_code == 200
