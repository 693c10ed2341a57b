"""How chats end and come back, through the HTTP API."""

from __future__ import annotations

from typing import Any

import pytest
from attrs import frozen
from falcon import testing

from adapters.workers.inactivity_timer import InactivityTimer
from domain.clock import FrozenClock
from tests.integration.conftest import ZaloPlatform
from tests.support import zalo

CUSTOMER = "1594636778967000001"


@frozen
class Desk:
    """What an agent sees and does, in a few words."""

    client: testing.TestClient
    project: Any

    def inbox(self) -> dict[str, Any]:
        self.project()
        return dict(self.client.simulate_get("/api/chats").json)

    def only_chat(self) -> dict[str, Any]:
        [chat] = self.inbox()["chats"]
        return dict(chat)

    def ticket_list(self, **params: Any) -> list[dict[str, Any]]:
        self.project()
        return list(self.client.simulate_get("/api/tickets", params=params).json["tickets"])

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        self.project()
        return dict(self.client.simulate_get(f"/api/tickets/{ticket_id}").json)

    def post(self, path: str, body: Any = None) -> testing.Result:
        return self.client.simulate_post(path, json=body or {})


def ended_first_chat(platform: ZaloPlatform, desk: Desk, **end: str) -> dict[str, Any]:
    """The customer writes "first"; the agent ends that chat (``end``: the status to set)."""
    platform.text(CUSTOMER, "first")
    chat = desk.only_chat()
    desk.post(f"/api/chats/{chat['id']}/end", end)
    return chat


@pytest.fixture
def desk(client: testing.TestClient, project: Any) -> Desk:
    return Desk(client, project)


def test_the_agent_ends_a_chat_with_a_status(platform: ZaloPlatform, desk: Desk) -> None:
    platform.text(CUSTOMER, "Tôi muốn đổi size áo")
    chat = desk.only_chat()
    assert desk.ticket_list() == []  # an active chat is not in the ticket list

    ended = desk.post(f"/api/chats/{chat['id']}/end", {"status": "pending"})
    assert ended.status_code == 200
    assert desk.inbox()["chats"] == []
    [ticket] = desk.ticket_list()
    assert (ticket["id"], ticket["status"], ticket["kind"]) == (
        chat["ticket_id"],
        "pending",
        "chat",
    )
    history = desk.ticket(ticket["id"])["status_history"]
    assert [(h["status"], h["actor"]) for h in history] == [
        ("new", f"customer:{CUSTOMER}"),
        ("pending", "agent:admin"),
    ]


def test_ending_keeps_the_status_unless_told(platform: ZaloPlatform, desk: Desk) -> None:
    platform.text(CUSTOMER, "hi")
    desk.post(f"/api/chats/{desk.only_chat()['id']}/end")
    [ticket] = desk.ticket_list()
    assert ticket["status"] == "new"  # ended chat is not closed ticket


def test_ending_twice_is_a_conflict_and_a_bad_status_is_refused(
    platform: ZaloPlatform, desk: Desk
) -> None:
    platform.text(CUSTOMER, "hi")
    chat_id = desk.only_chat()["id"]
    assert desk.post(f"/api/chats/{chat_id}/end", {"status": "finished"}).status_code == 422
    assert desk.post(f"/api/chats/{chat_id}/end").status_code == 200
    assert desk.post(f"/api/chats/{chat_id}/end").status_code == 409


def test_inactivity_of_both_sides_ends_the_chat(
    platform: ZaloPlatform, desk: Desk, clock: FrozenClock, timer: InactivityTimer
) -> None:
    platform.text(CUSTOMER, "hello?")
    desk.project()
    clock.advance(599)
    assert timer.tick() == 0
    assert desk.only_chat()["ending_soon"] is True
    clock.advance(2)
    assert timer.tick() == 1
    assert desk.inbox()["chats"] == []
    [ticket] = desk.ticket_list()
    chat = desk.ticket(ticket["id"])["chats"][0]
    assert (chat["end_reason"], chat["ended_by"]) == ("inactivity", "system:inactivity")


def test_the_warning_comes_in_the_last_two_minutes(
    platform: ZaloPlatform, desk: Desk, clock: FrozenClock
) -> None:
    platform.text(CUSTOMER, "hi")
    start = clock.now
    clock.advance(479)
    chat = desk.only_chat()
    assert chat["ending_soon"] is False
    assert chat["auto_end_at"] == (start.replace(minute=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    clock.advance(2)
    assert desk.only_chat()["ending_soon"] is True


def test_postponing_moves_the_end_five_minutes(
    platform: ZaloPlatform, desk: Desk, clock: FrozenClock, timer: InactivityTimer
) -> None:
    platform.text(CUSTOMER, "hi")
    chat = desk.only_chat()
    result = desk.post(f"/api/chats/{chat['id']}/postpone")
    assert result.status_code == 200
    assert result.json["auto_end_at"] == "2026-11-24T10:15:00.000Z"
    assert desk.only_chat()["auto_end_at"] == "2026-11-24T10:15:00.000Z"
    clock.advance(601)
    assert timer.tick() == 0
    clock.advance(300)
    assert timer.tick() == 1


def test_postponing_is_refused_where_the_account_does_not_allow_it(
    platform: ZaloPlatform, desk: Desk, client: testing.TestClient, account: dict[str, Any]
) -> None:
    client.simulate_patch(f"/api/accounts/{account['id']}", json={"allow_postpone": False})
    platform.text(CUSTOMER, "hi")
    result = desk.post(f"/api/chats/{desk.only_chat()['id']}/postpone")
    assert result.status_code == 409
    assert "does not allow" in result.json["description"]


def test_a_customer_message_reactivates_the_ended_chat_in_a_new_session(
    platform: ZaloPlatform, desk: Desk
) -> None:
    first = ended_first_chat(platform, desk, status="open")
    platform.text(CUSTOMER, "me again")

    second = desk.only_chat()
    assert second["ticket_id"] == first["ticket_id"]
    assert second["id"] != first["id"]
    assert desk.ticket_list() == []
    ticket = desk.ticket(first["ticket_id"])
    assert [len(c["messages"]) for c in ticket["chats"]] == [1, 1]
    assert ticket["chat_count"] == 2


def test_an_agent_message_on_the_ticket_reactivates_it(platform: ZaloPlatform, desk: Desk) -> None:
    first = ended_first_chat(platform, desk)
    result = desk.post(f"/api/tickets/{first['ticket_id']}/messages", {"text": "Shop đã gửi hàng"})
    assert result.status_code == 202
    assert result.json["chat_id"] != first["id"]
    chat = desk.only_chat()
    assert chat["id"] == result.json["chat_id"]
    assert chat["last_message"]["direction"] == "out"
    assert desk.ticket_list() == []


def test_a_customer_who_writes_after_closing_gets_a_new_ticket(
    platform: ZaloPlatform, desk: Desk
) -> None:
    first = ended_first_chat(platform, desk, status="closed")
    platform.text(CUSTOMER, "new question")
    second = desk.only_chat()
    assert second["ticket_id"] != first["ticket_id"]
    assert [t["id"] for t in desk.ticket_list()] == [first["ticket_id"]]


def test_a_late_retry_of_an_old_message_reactivates_nothing(
    platform: ZaloPlatform, desk: Desk
) -> None:
    body = zalo.user_text(CUSTOMER, "sent once")
    platform.send(body)
    desk.post(f"/api/chats/{desk.only_chat()['id']}/end")
    retry = platform.send(body, num_retry="5")
    assert retry.json["outcome"] == "duplicate"
    assert desk.inbox()["chats"] == []
    assert len(desk.ticket_list()) == 1


def test_a_customer_message_on_a_pending_ticket_opens_it(
    platform: ZaloPlatform, desk: Desk
) -> None:
    chat = ended_first_chat(platform, desk, status="pending")
    platform.text(CUSTOMER, "any news?")
    history = desk.ticket(chat["ticket_id"])["status_history"]
    assert [(h["status"], h["reason"]) for h in history][-1] == ("open", "customer replied")


def test_reading_a_chat_clears_its_unread_count_and_the_indicator(
    platform: ZaloPlatform, desk: Desk
) -> None:
    platform.text(CUSTOMER, "one")
    platform.text(CUSTOMER, "two")
    platform.text("1594636778967000002", "someone else")
    inbox = desk.inbox()
    assert inbox["indicator"] == {"new_chats": 2, "unread_chats": 2}
    mine = next(c for c in inbox["chats"] if c["customer"]["zalo_user_id"] == CUSTOMER)
    assert mine["unread_count"] == 2
    assert desk.post(f"/api/chats/{mine['id']}/read").status_code == 200
    inbox = desk.inbox()
    assert inbox["indicator"] == {"new_chats": 1, "unread_chats": 1}
    platform.text(CUSTOMER, "three")
    mine = next(c for c in desk.inbox()["chats"] if c["id"] == mine["id"])
    assert mine["unread_count"] == 1
