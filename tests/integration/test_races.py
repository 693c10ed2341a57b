"""Agents, workers and customers writing to the same records at the same moment.

Every command loads what it decides on, then saves. Here someone else writes in
between, at exactly that point: the command answers as if it had come a moment
later, never with a 500.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from attrs import evolve
from eventsourcing.persistence import IntegrityError
from falcon import testing

from adapters.settings import Settings
from adapters.workers.outbox import Outbox
from api import bootstrap
from api.services import Services
from domain import actors
from domain.account import fingerprint
from domain.handlers.outbox import ACCOUNT_REMOVED
from tests.integration.conftest import ZaloPlatform, audit, only_chat, talking_to
from tests.support.fake_zalo import FakeZalo

CUSTOMER = "5843212478539208461"
NEWCOMER = "7719302846610947215"


class Meanwhile:
    """Runs another writer's action just before the next save of the service's commands,
    after the command has loaded what it decides on; counts the saves that conflicted."""

    def __init__(self, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
        self.save = services.app.save
        self.actions: list[Callable[[], Any]] = []
        self.conflicts = 0
        monkeypatch.setattr(services.app, "save", self._save)

    def before_next_save(self, action: Callable[[], Any]) -> None:
        self.actions.append(action)

    def _save(self, *aggregates: Any, **kwargs: Any) -> Any:
        if self.actions:
            self.actions.pop()()  # its own saves go straight through
        try:
            return self.save(*aggregates, **kwargs)
        except IntegrityError:
            self.conflicts += 1
            raise


@pytest.fixture
def meanwhile(services: Services, monkeypatch: pytest.MonkeyPatch) -> Meanwhile:
    return Meanwhile(services, monkeypatch)


@pytest.fixture
def settings(settings: Settings, fake: FakeZalo) -> Settings:
    return talking_to(settings, fake)


def make_outbox(services: Services) -> Outbox:
    tuning = evolve(bootstrap.WorkerTuning(), retry_delays=(0.01,), sleep=lambda _: None)
    return bootstrap.workers(services, tuning).outbox


@pytest.fixture
def chat(platform: ZaloPlatform, client: testing.TestClient, project: Any) -> dict[str, Any]:
    assert platform.text(CUSTOMER, "first").status_code == 200
    return only_chat(client, project)


def customer_writes(platform: ZaloPlatform, text: str) -> Callable[[], None]:
    def write() -> None:
        assert platform.text(CUSTOMER, text).status_code == 200

    return write


@dataclass
class ChatRace:
    """An agent's request on the chat, with the customer's "second" message stored between
    what the request loaded and its save: that save conflicts once, and the request is
    answered."""

    client: testing.TestClient
    platform: ZaloPlatform
    meanwhile: Meanwhile
    project: Any

    def agent_posts(self, chat: dict[str, Any], action: str, **body: Any) -> testing.Result:
        self.meanwhile.before_next_save(customer_writes(self.platform, "second"))
        answer = self.client.simulate_post(f"/api/chats/{chat['id']}/{action}", json=body or None)
        assert self.meanwhile.conflicts == 1
        return answer

    def transcript(self, chat: dict[str, Any]) -> list[tuple[str, str]]:
        """Each message once, by direction and text (the platform's clock and ours differ)."""
        self.project()
        messages = self.client.simulate_get(f"/api/chats/{chat['id']}").json["messages"]
        return sorted((m["direction"], m["text"]) for m in messages)


@pytest.fixture
def race(
    client: testing.TestClient, platform: ZaloPlatform, meanwhile: Meanwhile, project: Any
) -> ChatRace:
    return ChatRace(client, platform, meanwhile, project)


def test_marking_read_while_the_customer_writes(chat: dict[str, Any], race: ChatRace) -> None:
    assert race.agent_posts(chat, "read").status_code == 200
    shown = only_chat(race.client, race.project)
    assert shown["unread_count"] == 0  # marked after the second message was stored
    assert race.transcript(chat) == [("in", "first"), ("in", "second")]


def test_postponing_while_the_customer_writes(chat: dict[str, Any], race: ChatRace) -> None:
    answer = race.agent_posts(chat, "postpone")
    assert answer.status_code == 200
    shown = only_chat(race.client, race.project)
    assert shown["auto_end_at"] == answer.json["auto_end_at"]
    assert race.transcript(chat) == [("in", "first"), ("in", "second")]


def test_replying_while_the_customer_writes(chat: dict[str, Any], race: ChatRace) -> None:
    assert race.agent_posts(chat, "messages", text="Dạ").status_code == 202
    assert race.transcript(chat) == [("in", "first"), ("in", "second"), ("out", "Dạ")]


def test_ending_a_chat_while_the_customer_writes(
    chat: dict[str, Any], race: ChatRace, client: testing.TestClient
) -> None:
    assert race.agent_posts(chat, "end", status="pending").status_code == 200
    race.project()
    assert client.simulate_get("/api/chats").json["chats"] == []
    ticket = client.simulate_get(f"/api/tickets/{chat['ticket_id']}").json
    assert ticket["status"] == "pending"
    assert [m["text"] for m in ticket["chats"][0]["messages"]] == ["first", "second"]


def test_changing_a_ticket_while_the_customer_reopens_it(
    client: testing.TestClient,
    platform: ZaloPlatform,
    chat: dict[str, Any],
    meanwhile: Meanwhile,
    project: Any,
) -> None:
    path = f"/api/tickets/{chat['ticket_id']}"
    assert client.simulate_patch(path, json={"status": "pending"}).status_code == 200
    meanwhile.before_next_save(customer_writes(platform, "still there?"))  # reopens it
    answer = client.simulate_patch(path, json={"assignee": "lan", "tags": ["vip"]})
    assert answer.status_code == 200
    assert meanwhile.conflicts == 1
    assert (answer.json["status"], answer.json["assignee"], answer.json["tags"]) == (
        "open",
        "lan",
        ["vip"],
    )
    project()
    ticket = client.simulate_get(path).json
    assert (ticket["status"], ticket["assignee"], ticket["tags"]) == ("open", "lan", ["vip"])


def test_adding_a_note_while_another_agent_changes_the_ticket(
    client: testing.TestClient, meanwhile: Meanwhile, project: Any
) -> None:
    opened = client.simulate_post("/api/tickets", json={"subject": "Hoàn tiền", "text": "Đơn 42"})
    path = f"/api/tickets/{opened.json['id']}"

    def another_agent_takes_it() -> None:
        assert client.simulate_patch(path, json={"assignee": "minh"}).status_code == 200

    meanwhile.before_next_save(another_agent_takes_it)
    answer = client.simulate_post(f"{path}/messages", json={"text": "Đã chuyển kế toán"})
    assert answer.status_code == 201
    assert meanwhile.conflicts == 1
    project()
    ticket = client.simulate_get(path).json
    assert ticket["assignee"] == "minh"
    assert [m["text"] for m in ticket["chats"][0]["messages"]] == ["Đơn 42", "Đã chuyển kế toán"]


def test_opening_a_ticket_for_a_customer_who_writes_for_the_first_time_meanwhile(
    client: testing.TestClient,
    platform: ZaloPlatform,
    account: dict[str, Any],
    meanwhile: Meanwhile,
    project: Any,
) -> None:
    def newcomer_writes() -> None:
        assert platform.text(NEWCOMER, "xin chào").status_code == 200

    meanwhile.before_next_save(newcomer_writes)
    answer = client.simulate_post(
        "/api/tickets",
        json={
            "subject": "Bảo hành",
            "text": "Khách gọi điện",
            "customer": {"account_id": account["id"], "zalo_user_id": NEWCOMER},
        },
    )
    assert answer.status_code == 201
    assert meanwhile.conflicts == 1
    chat = only_chat(client, project)
    opened = client.simulate_get(f"/api/tickets/{answer.json['id']}").json
    assert opened["customer"]["id"] == chat["customer"]["id"]  # one customer, not two


def test_removing_an_account_while_another_admin_renames_it(
    client: testing.TestClient, account: dict[str, Any], meanwhile: Meanwhile, project: Any
) -> None:
    path = f"/api/accounts/{account['id']}"

    def another_admin_renames_it() -> None:
        assert client.simulate_patch(path, json={"name": "Shop Hoa Mai 2"}).status_code == 200

    meanwhile.before_next_save(another_admin_renames_it)
    assert client.simulate_delete(path).status_code == 204
    assert meanwhile.conflicts == 1
    assert client.simulate_get(path).status_code == 404
    project()
    assert client.simulate_get("/api/accounts").json["accounts"] == []


def test_a_token_refresh_racing_an_admin_keeps_the_pair_zalo_issued(
    client: testing.TestClient,
    services: Services,
    account: dict[str, Any],
    fake: FakeZalo,
    meanwhile: Meanwhile,
) -> None:
    account_id = UUID(account["id"])
    path = f"/api/accounts/{account_id}"

    def admin_renames_it() -> None:
        assert client.simulate_patch(path, json={"name": "Shop Hoa Mai 2"}).status_code == 200

    meanwhile.before_next_save(admin_renames_it)
    stale = services.credentials.get(account_id)
    assert stale is not None
    refresher = make_outbox(services).refresher
    assert refresher.refresh(account_id, stale.access_token) == fake.access_token
    assert meanwhile.conflicts == 1

    events = audit(client, account_id)
    assert [(e["type"], e["actor"]) for e in events[1:]] == [
        ("ZaloAccount.Renamed", "agent:admin"),
        ("ZaloAccount.TokensRotated", actors.OUTBOX),
    ]
    kept = fingerprint(fake.access_token, fake.refresh_token)
    assert events[2]["data"]["tokens_fingerprint"] == kept
    stored = services.credentials.get(account_id)
    assert stored is not None and stored.tokens_fingerprint == kept
    assert (fake.refresh_calls, fake.burned_reuse) == (1, 0)


def test_two_outboxes_starting_the_same_reply_send_it_once(
    client: testing.TestClient,
    services: Services,
    chat: dict[str, Any],
    fake: FakeZalo,
    meanwhile: Meanwhile,
    project: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reply = client.simulate_post(f"/api/chats/{chat['id']}/messages", json={"text": "Dạ có"})
    reply_id = UUID(reply.json["message_id"])
    here, elsewhere = make_outbox(services), make_outbox(services)
    meanwhile.before_next_save(lambda: elsewhere.deliver(reply_id))
    here.deliver(reply_id)
    assert meanwhile.conflicts == 1
    assert [s["text"] for s in fake.sent] == ["Dạ có"]
    project()
    [(text, status)] = [
        (m["text"], m["status"])
        for m in client.simulate_get(f"/api/chats/{chat['id']}").json["messages"]
        if m["direction"] == "out"
    ]
    assert (text, status) == ("Dạ có", "sent")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    here.executor.shutdown()
    elsewhere.executor.shutdown()


def test_a_reply_whose_account_is_removed_as_its_send_begins_fails_with_the_reason(
    client: testing.TestClient,
    services: Services,
    account: dict[str, Any],
    chat: dict[str, Any],
    fake: FakeZalo,
    meanwhile: Meanwhile,
    project: Any,
) -> None:
    reply = client.simulate_post(f"/api/chats/{chat['id']}/messages", json={"text": "Dạ"})
    outbox = make_outbox(services)

    def admin_removes_the_account() -> None:
        assert client.simulate_delete(f"/api/accounts/{account['id']}").status_code == 204

    meanwhile.before_next_save(admin_removes_the_account)
    outbox.deliver(UUID(reply.json["message_id"]))
    outbox.executor.shutdown()
    project()
    [message] = [
        m
        for m in client.simulate_get(f"/api/chats/{chat['id']}").json["messages"]
        if m["direction"] == "out"
    ]
    assert (message["status"], message["error"]) == (
        "failed",
        {"code": None, "reason": ACCOUNT_REMOVED},
    )
    assert fake.sent == []


def test_agents_at_work_on_a_chat_the_customer_keeps_writing_to(
    client: testing.TestClient,
    platform: ZaloPlatform,
    chat: dict[str, Any],
    project: Any,
) -> None:
    chat_path = f"/api/chats/{chat['id']}"
    ticket_path = f"/api/tickets/{chat['ticket_id']}"
    start = threading.Barrier(7)

    def customer(writer: int) -> list[int]:
        start.wait()
        return [platform.text(CUSTOMER, f"{writer}-{n}").status_code for n in range(15)]

    def agent(kind: str) -> list[tuple[str, int]]:
        start.wait()
        answers: list[tuple[str, testing.Result]] = []
        for n in range(10):
            if kind == "reader":
                answers.append(("read", client.simulate_post(f"{chat_path}/read")))
                answers.append(("postpone", client.simulate_post(f"{chat_path}/postpone")))
            elif kind == "triager":
                change = {"assignee": "lan", "tags": ["vip"]}
                answers.append(("triage", client.simulate_patch(ticket_path, json=change)))
            else:
                reply = {"text": f"reply {n}", "client_message_id": f"r{n}"}
                answers.append(
                    (reply["text"], client.simulate_post(f"{chat_path}/messages", json=reply))
                )
        return [(what, answer.status_code) for what, answer in answers]

    with ThreadPoolExecutor(max_workers=7) as pool:
        writers = [pool.submit(customer, w) for w in range(4)]
        agents = [pool.submit(agent, kind) for kind in ("reader", "triager", "replier")]
        customer_answers = Counter(s for w in writers for s in w.result())
        agent_answers = [answer for a in agents for answer in a.result()]

    assert customer_answers == {200: 60}
    assert {status for _, status in agent_answers} <= {200, 202, 409}, agent_answers
    assert Counter(status for _, status in agent_answers)[409] <= 2  # persisting: rare if ever

    project()
    messages = client.simulate_get(chat_path).json["messages"]
    received = sorted(m["text"] for m in messages if m["direction"] == "in")
    assert received == sorted(["first", *(f"{w}-{n}" for w in range(4) for n in range(15))])
    replies = sorted(m["text"] for m in messages if m["direction"] == "out")
    assert replies == sorted(what for what, status in agent_answers if status == 202)
    ticket = client.simulate_get(ticket_path).json
    assert (ticket["assignee"], ticket["tags"]) == ("lan", ["vip"])
