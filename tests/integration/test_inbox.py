"""The inbox for a team: pages, filters, counts, assignment; replies that fail stay visible."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from attrs import frozen
from falcon import testing

from adapters.workers.inactivity_timer import InactivityTimer
from adapters.workers.outbox import Outbox
from domain.clock import FrozenClock
from tests.integration.conftest import ACCOUNT_FORM, ZaloPlatform, audit
from tests.integration.test_outbox import outbox, send_queued, settings
from tests.support import zalo
from tests.support.fake_zalo import FakeZalo

# Fixtures shared with the outbox tests: Zalo is the fake, and the outbox sends to it.
__all__ = ["outbox", "settings"]

CUSTOMER = "4102938475610293847"
ADMIN_NAME = "ZALODESK_ADMIN_TOKEN"  # what the admin token is called: its "me"


@frozen
class Inbox:
    """What an agent sees and does from the inbox."""

    client: testing.TestClient
    project: Any
    platform: ZaloPlatform
    clock: FrozenClock
    outbox: Outbox

    def says(self, user: str, text: str = "hi") -> None:
        self.clock.advance(1)
        assert self.platform.text(user, text).status_code == 200

    def get(self, headers: dict[str, str] | None = None, **params: Any) -> testing.Result:
        self.project()
        return self.client.simulate_get("/api/chats", params=params, headers=headers)

    def page(self, **params: Any) -> dict[str, Any]:
        answer = self.get(**params)
        assert answer.status_code == 200, answer.text
        return dict(answer.json)

    def users(self, **params: Any) -> list[str]:
        return [c["customer"]["zalo_user_id"] for c in self.page(**params)["chats"]]

    def chat_of(self, user: str) -> dict[str, Any]:
        [found] = [c for c in self.page()["chats"] if c["customer"]["zalo_user_id"] == user]
        return dict(found)

    def assign(self, user: str, assignee: str | None, **headers: str) -> testing.Result:
        chat_id = self.chat_of(user)["id"]
        return self.client.simulate_post(
            f"/api/chats/{chat_id}/assign", json={"assignee": assignee}, headers=headers or None
        )

    def transcript(self, user: str) -> dict[str, Any]:
        chat_id = self.chat_of(user)["id"]
        return dict(self.client.simulate_get(f"/api/chats/{chat_id}").json)

    def reply(self, user: str, text: str) -> dict[str, Any]:
        chat_id = self.chat_of(user)["id"]
        sent = self.client.simulate_post(f"/api/chats/{chat_id}/messages", json={"text": text})
        assert sent.status_code == 202, sent.text
        return dict(sent.json)

    def deliver(self) -> None:
        """The outbox sends what is queued; the views catch up."""
        self.project()
        send_queued(self.outbox)
        self.project()


@pytest.fixture
def inbox(
    client: testing.TestClient,
    project: Any,
    platform: ZaloPlatform,
    clock: FrozenClock,
    outbox: Outbox,
) -> Inbox:
    return Inbox(client, project, platform, clock, outbox)


def user(n: int) -> str:
    return f"41029384756102{n:05d}"


def agent_token(client: testing.TestClient, name: str) -> dict[str, str]:
    issued = client.simulate_post("/api/tokens", json={"name": name, "admin": False})
    assert issued.status_code == 201, issued.text
    return {"Authorization": f"Bearer {issued.json['token']}"}


# Paging


def test_pages_have_no_gap_and_no_duplicate_while_chats_move(inbox: Inbox) -> None:
    for n in range(7):
        inbox.says(user(n))
    first = inbox.page(limit=3)
    assert [c["customer"]["zalo_user_id"] for c in first["chats"]] == [user(6), user(5), user(4)]
    assert first["has_more"] is True and first["next_cursor"]

    inbox.says(user(4), "one more thing")  # seen already: moves to the top
    inbox.says(user(1), "alo?")  # not seen yet: moves to the top too
    second = inbox.page(limit=3, cursor=first["next_cursor"])
    assert [c["customer"]["zalo_user_id"] for c in second["chats"]] == [user(3), user(2), user(0)]
    assert (second["has_more"], second["next_cursor"]) == (False, None)
    # Every chat that did not move is shown once; the two that moved are at the top now.
    assert inbox.users(limit=2) == [user(1), user(4)]
    assert inbox.page()["counts"] == {"all": 7, "me": 0, "none": 7}


# Filters and counts


def test_filters_by_assignee_and_counts(client: testing.TestClient, inbox: Inbox) -> None:
    for n in range(4):
        inbox.says(user(n))
    lan = agent_token(client, "Lan")
    assert inbox.assign(user(0), "me").status_code == 200  # the admin token's name
    assert inbox.assign(user(1), "me", **lan).status_code == 200
    ticket_id = inbox.chat_of(user(2))["ticket_id"]
    # PATCH on a ticket whose chat is active assigns it as well.
    patched = client.simulate_patch(f"/api/tickets/{ticket_id}", json={"assignee": "Lan"})
    assert (patched.status_code, patched.json["assignee"]) == (200, "Lan")

    assert inbox.users(assignee="me") == [user(0)]
    assert inbox.users(assignee="Lan") == [user(2), user(1)]
    assert inbox.users(assignee="none") == [user(3)]
    assert inbox.page()["counts"] == {"all": 4, "me": 1, "none": 1}
    as_lan = inbox.get(headers=lan, assignee="me")
    assert [c["customer"]["zalo_user_id"] for c in as_lan.json["chats"]] == [user(2), user(1)]
    assert as_lan.json["counts"] == {"all": 4, "me": 2, "none": 1}
    item = inbox.chat_of(user(2))
    assert (item["assignee"], item["status"]) == ("Lan", "new")
    changed = client.simulate_patch(f"/api/tickets/{ticket_id}", json={"status": "pending"})
    assert changed.status_code == 200
    assert inbox.chat_of(user(2))["status"] == "pending"
    inbox.says(user(2), "còn đó không?")  # the customer's message reopens it
    assert inbox.chat_of(user(2))["status"] == "open"
    mine = client.simulate_patch(f"/api/tickets/{ticket_id}", json={"assignee": "me"}, headers=lan)
    assert mine.json["assignee"] == "Lan"


def test_the_account_filter(
    client: testing.TestClient, inbox: Inbox, account: dict[str, Any]
) -> None:
    other_form = {**ACCOUNT_FORM, "name": "Shop 2", "app_id": "9001", "oa_id": "9002"}
    other = client.simulate_post("/api/accounts", json=other_form)
    assert other.status_code == 201, other.text
    inbox.says(user(0))
    body = zalo.user_text(user(1), "hi")
    body["app_id"], body["recipient"] = "9001", {"id": "9002"}
    raw, headers = zalo.signed(body, ACCOUNT_FORM["oa_secret_key"])
    path = f"/webhooks/zalo/{other.json['id']}"
    assert client.simulate_post(path, body=raw, headers=headers).status_code == 200

    assert inbox.users(account_id=account["id"]) == [user(0)]
    mine = inbox.page(account_id=other.json["id"])
    assert [c["customer"]["zalo_user_id"] for c in mine["chats"]] == [user(1)]
    assert mine["counts"] == {"all": 1, "me": 0, "none": 1}
    assert inbox.page()["counts"]["all"] == 2
    nobody = inbox.page(account_id=str(uuid4()))  # an id like any other: no chats of its own
    assert (nobody["chats"], nobody["counts"]["all"]) == ([], 0)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"account_id": "not-an-id"}, "account_id"),
        ({"account_id": "6F1C2B0E3C0A4F579A531F3F2F2C9A10"}, "account_id"),
        ({"assignee": ""}, "assignee"),
        ({"assignee": " "}, "assignee"),
        ({"cursor": "page-2"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"status": "open"}, "status"),
    ],
)
def test_unknown_filter_values_are_refused(
    inbox: Inbox, params: dict[str, Any], named: str
) -> None:
    inbox.says(user(0))
    answer = inbox.get(**params)
    assert answer.status_code == 400, answer.text
    assert named in answer.json["description"]


# Assigning from the inbox


def test_assign_from_the_inbox_is_audited_with_the_agent(
    client: testing.TestClient, inbox: Inbox
) -> None:
    inbox.says(CUSTOMER)
    lan = agent_token(client, "Lan")
    assigned = inbox.assign(CUSTOMER, "me", **lan)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json["assignee"] == "Lan"
    assert assigned.json["id"] == inbox.chat_of(CUSTOMER)["id"]
    assert inbox.chat_of(CUSTOMER)["assignee"] == "Lan"
    unassigned = inbox.assign(CUSTOMER, None)
    assert unassigned.json["assignee"] is None

    ticket_id = inbox.chat_of(CUSTOMER)["ticket_id"]
    events = audit(client, ticket_id)
    assigned_events = [
        (e["actor_name"], e["data"]["assignee"]) for e in events if e["type"] == "Ticket.Assigned"
    ]
    assert assigned_events == [("Lan", "Lan"), (ADMIN_NAME, None)]

    chat_id = inbox.chat_of(CUSTOMER)["id"]
    assert client.simulate_post(f"/api/chats/{chat_id}/end", json={}).status_code == 200
    ended = client.simulate_post(f"/api/chats/{chat_id}/assign", json={"assignee": "me"})
    assert ended.status_code == 409 and ticket_id in ended.json["description"]
    missing = client.simulate_post(f"/api/chats/{uuid4()}/assign", json={"assignee": "me"})
    assert missing.status_code == 404


# Replies that fail


def test_a_sent_reply_answers_the_customer_and_restarts_the_clock(
    inbox: Inbox, clock: FrozenClock, timer: InactivityTimer
) -> None:
    inbox.says(CUSTOMER, "hello?")
    clock.advance(500)
    inbox.reply(CUSTOMER, "Dạ, em xem ngay")
    inbox.project()
    assert inbox.chat_of(CUSTOMER)["waiting_since"] is not None  # queued: not yet answered
    inbox.deliver()
    item = inbox.chat_of(CUSTOMER)
    assert item["waiting_since"] is None
    assert item["last_message"]["status"] == "sent"
    clock.advance(200)  # 700 s after the customer, 200 s after Zalo took the reply
    assert timer.tick() == 0
    clock.advance(401)
    assert timer.tick() == 1


def test_a_failed_reply_stays_visible_keeps_the_customer_waiting_and_is_retried(
    client: testing.TestClient,
    inbox: Inbox,
    fake: FakeZalo,
    clock: FrozenClock,
    timer: InactivityTimer,
) -> None:
    inbox.says(CUSTOMER, "Còn size M không?")
    before = inbox.chat_of(CUSTOMER)
    clock.advance(300)
    fake.fail_next(-230)
    queued = inbox.reply(CUSTOMER, "Dạ còn ạ")
    inbox.deliver()

    item = inbox.chat_of(CUSTOMER)
    error = item["last_message"]["error"]
    assert item["last_message"]["status"] == "failed"
    assert error["code"] == -230 and "7 days" in error["reason"]
    assert item["waiting_since"] == before["waiting_since"]
    assert item["last_activity_at"] == before["last_activity_at"]
    assert item["auto_end_at"] == before["auto_end_at"]
    [message] = [m for m in inbox.transcript(CUSTOMER)["messages"] if m["direction"] == "out"]
    assert message["id"] == queued["message_id"]
    assert (message["status"], message["error"], message["attempts"]) == ("failed", error, 1)
    ticket = client.simulate_get(f"/api/tickets/{item['ticket_id']}").json
    [shown] = [m for s in ticket["chats"] for m in s["messages"] if m["direction"] == "out"]
    assert (shown["status"], shown["error"], shown["attempts"]) == ("failed", error, 1)

    retried = client.simulate_post(f"/api/replies/{queued['message_id']}/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json == {
        "message_id": queued["message_id"],
        "status": "queued",
        "chat_id": item["id"],
    }
    inbox.project()
    assert inbox.chat_of(CUSTOMER)["last_message"]["status"] == "queued"
    assert "error" not in inbox.chat_of(CUSTOMER)["last_message"]
    clock.advance(10)
    inbox.deliver()
    item = inbox.chat_of(CUSTOMER)
    assert (item["last_message"]["status"], item["waiting_since"]) == ("sent", None)
    [message] = [m for m in inbox.transcript(CUSTOMER)["messages"] if m["direction"] == "out"]
    assert (message["status"], message["attempts"], "error" in message) == ("sent", 2, False)
    assert len(fake.sent) == 1
    clock.advance(599)  # the clock restarted when Zalo took the retried reply
    assert timer.tick() == 0

    again = client.simulate_post(f"/api/replies/{queued['message_id']}/retry")
    assert again.status_code == 409 and "only a failed reply" in again.json["description"]
    assert client.simulate_post(f"/api/replies/{uuid4()}/retry").status_code == 404

    events = audit(client, queued["message_id"])
    assert [e["type"] for e in events] == [
        "Reply.Queued",
        "Reply.SendAttempted",
        "Reply.Failed",
        "Reply.RetryRequested",
        "Reply.SendAttempted",
        "Reply.Sent",
    ]
    failed = events[2]
    assert failed["data"]["code"] == -230 and "7 days" in failed["data"]["reason"]
    assert events[3]["actor"] == "agent:admin"


def test_a_network_failure_is_in_the_audit_and_the_timer_ends_the_unanswered_chat(
    inbox: Inbox, fake: FakeZalo, clock: FrozenClock, timer: InactivityTimer
) -> None:
    inbox.says(CUSTOMER, "alo")
    clock.advance(500)
    fake.http_error_next(500, times=10)
    queued = inbox.reply(CUSTOMER, "Dạ")
    inbox.deliver()
    [message] = [m for m in inbox.transcript(CUSTOMER)["messages"] if m["direction"] == "out"]
    assert message["error"]["code"] is None
    assert "could not be reached" in message["error"]["reason"]
    events = audit(inbox.client, queued["message_id"])
    assert "could not be reached" in events[-1]["data"]["reason"]
    assert "HTTP 500" in events[-1]["data"]["reason"]
    clock.advance(101)  # 601 s after the customer: the failed reply was no activity
    assert timer.tick() == 1
