"""An aggregate as it was, by version or by time."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest
from falcon import testing

from adapters.log_tools.state import aggregate_as_of, describe_state
from api import cli
from api.services import Services
from domain.account import fingerprint
from domain.clock import FrozenClock
from domain.errors import InvalidInput, NotFound
from tests.integration.conftest import ZaloPlatform, only_chat

CUSTOMER = "2512523625412515"


@pytest.fixture
def ticket_id(
    platform: ZaloPlatform, client: testing.TestClient, project: Any, clock: FrozenClock
) -> str:
    """Opened at 10:00 (new); at 10:05 the chat ends as pending; at 10:10 it is closed."""
    platform.text(CUSTOMER, "Xin chào")
    chat = only_chat(client, project)
    clock.advance(300)
    client.simulate_post(f"/api/chats/{chat['id']}/end", json={"status": "pending"})
    clock.advance(300)
    client.simulate_patch(f"/api/tickets/{chat['ticket_id']}", json={"status": "closed"})
    return str(chat["ticket_id"])


def run_state(monkeypatch: pytest.MonkeyPatch, db: str, capsys: Any, *argv: str) -> Any:
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)
    assert cli.main(["state", *argv]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("at", "status"),
    [
        ("2026-11-24T10:00:00Z", "new"),
        ("2026-11-24T10:04:59.999Z", "new"),
        ("2026-11-24T10:05:00Z", "pending"),
        ("2026-11-24T17:09:00+07:00", "pending"),
        ("2026-11-24T10:10:00.000Z", "closed"),
    ],
)
def test_a_ticket_at_a_time(
    ticket_id: str, db: str, monkeypatch: pytest.MonkeyPatch, capsys: Any, at: str, status: str
) -> None:
    state = run_state(monkeypatch, db, capsys, ticket_id, "--at", at)
    assert state["type"] == "Ticket" and state["id"] == ticket_id
    assert state["state"]["status"] == status


def test_a_ticket_at_a_version(
    ticket_id: str, db: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    first = run_state(monkeypatch, db, capsys, ticket_id, "--version", "1")
    assert first["version"] == 1 and first["state"]["status"] == "new"
    assert first["state"]["active_chat_id"] is None and first["state"]["chat_count"] == 0
    now = run_state(monkeypatch, db, capsys, ticket_id)
    assert now["state"]["status"] == "closed" and now["state"]["chat_count"] == 1


def test_an_account_state_has_no_secrets(
    platform: ZaloPlatform, db: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    state = run_state(monkeypatch, db, capsys, platform.account["id"])
    assert state["state"]["name"] == "Shop Hoa Mai"
    assert state["state"]["tokens_fingerprint"] == fingerprint(
        "access-token-value", "refresh-token-value"
    )
    assert not any(
        "secret-value" in str(v) or "token-value" in str(v) for v in state["state"].values()
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--version", "9"], "has no version 9; its last is 5"),
        (["--version", "0"], "versions start at 1"),
        (["--at", "2026-11-24T09:59:59Z"], "did not exist yet at 2026-11-24T09:59:59.000Z"),
        (["--at", "yesterday"], "'yesterday' is not an ISO 8601 time"),
    ],
)
def test_what_cannot_be_shown_is_one_clear_line(
    ticket_id: str,
    db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)
    assert cli.main(["state", ticket_id, *argv]) == 2
    error = capsys.readouterr().err
    assert error.startswith("zalodesk: ") and message in error and error.count("\n") == 1


def test_an_unknown_aggregate(services: Services) -> None:
    with pytest.raises(NotFound):
        aggregate_as_of(services.app, UUID("0b0e9a62-22f8-4ac2-9f65-4ee1c1b8a7a4"))
    with pytest.raises(NotFound):
        aggregate_as_of(
            services.app, UUID("0b0e9a62-22f8-4ac2-9f65-4ee1c1b8a7a4"), version=None, at=None
        )


def test_version_and_time_agree(ticket_id: str, services: Services, clock: FrozenClock) -> None:
    by_version = aggregate_as_of(services.app, UUID(ticket_id), version=2)
    by_time = aggregate_as_of(services.app, UUID(ticket_id), at=clock.now.replace(minute=0))
    assert describe_state(by_version) == describe_state(by_time)
    with pytest.raises(InvalidInput):
        aggregate_as_of(services.app, UUID(ticket_id), version=99)
