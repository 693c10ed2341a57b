"""Automation rules at work: each trigger, condition, operator and action, over HTTP, with
the workers as the service runs them and a fake Zalo receiving the replies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from attrs import evolve
from falcon import testing

from adapters.settings import Settings
from adapters.workers import automation_store
from adapters.workers.automation import Automation
from adapters.workers.outbox import Outbox
from api import bootstrap
from api.services import Services
from domain.clock import FrozenClock
from tests.integration.conftest import ZaloPlatform, talking_to
from tests.support import zalo
from tests.support.fake_zalo import FakeZalo
from tests.support.rule_service import RuleService

CUSTOMER = "3106597011220386741"
OTHER = "3106597011220386742"
QUICK = bootstrap.WorkerTuning(retry_delays=(0.01,), sleep=lambda _: None, zalo_timeout=5)
DAY = 24 * 3600


@pytest.fixture
def settings(settings: Settings, fake: FakeZalo) -> Settings:
    return talking_to(settings, fake)


@pytest.fixture
def outbox(services: Services) -> Iterator[Outbox]:
    box = bootstrap.workers(services, QUICK).outbox
    yield box
    box.executor.shutdown()


@pytest.fixture
def automation(services: Services) -> Automation:
    return bootstrap.automation(services, QUICK)


@pytest.fixture
def desk(
    client: testing.TestClient,
    platform: ZaloPlatform,
    project: Any,
    automation: Automation,
    outbox: Outbox,
    clock: FrozenClock,
) -> RuleService:
    return RuleService(client, platform, project, automation, outbox, clock)


def tag_when(**rule: Any) -> dict[str, Any]:
    return {"actions": [{"type": "add_tag", "tag": "hit"}], **rule}


# Event triggers


def test_a_new_ticket_is_tagged(desk: RuleService) -> None:
    desk.rule(**tag_when(trigger="ticket_created"))
    desk.says(CUSTOMER, "Chào shop")
    desk.settle()
    assert desk.ticket_of(CUSTOMER)["tags"] == ["hit"]


def test_a_new_chat_and_a_reactivated_one(desk: RuleService) -> None:
    desk.rule(trigger="chat_started", actions=[{"type": "add_tag", "tag": "new"}])
    desk.rule(trigger="chat_reactivated", actions=[{"type": "add_tag", "tag": "back"}])
    desk.says(CUSTOMER, "Chào shop")
    desk.settle()
    assert desk.ticket_of(CUSTOMER)["tags"] == ["new"]
    desk.end(CUSTOMER, "pending")
    desk.says(CUSTOMER, "Shop ơi")
    desk.settle()
    assert desk.ticket_of(CUSTOMER)["tags"] == ["back", "new"]


def test_a_customer_s_reply_with_a_word_in_it(desk: RuleService) -> None:
    desk.rule(
        trigger="customer_replied",
        conditions=[{"field": "message_text", "op": "contains", "value": "HOÀN TIỀN"}],
        actions=[{"type": "assign", "agent": "refunds"}],
    )
    desk.says(CUSTOMER, "Chào shop")
    desk.settle()
    assert desk.ticket_of(CUSTOMER)["assignee"] is None
    desk.says(CUSTOMER, "Mình muốn hoàn tiền đơn 123")
    desk.settle()
    assert desk.ticket_of(CUSTOMER)["assignee"] == "refunds"


def test_an_agent_s_reply(desk: RuleService) -> None:
    desk.rule(trigger="agent_replied", actions=[{"type": "set_status", "status": "pending"}])
    desk.says(CUSTOMER, "Chào shop")
    desk.settle()
    assert desk.ticket_of(CUSTOMER)["status"] == "new"
    desk.reply(CUSTOMER, "Dạ shop chào anh/chị")
    desk.settle()
    ticket = desk.ticket_of(CUSTOMER)
    assert ticket["status"] == "pending"
    assert ticket["status_history"][-1]["actor"].startswith("automation:")
    assert ticket["status_history"][-1]["reason"] == "automation rule 'a rule'"


def test_a_reply_to_an_agent_s_reply_is_sent_exactly_once(
    desk: RuleService, fake: FakeZalo
) -> None:
    desk.rule(
        trigger="agent_replied",
        actions=[{"type": "reply", "text": "Anh/chị đánh giá giúp shop nhé"}],
    )
    desk.says(CUSTOMER, "Chào shop")
    desk.reply(CUSTOMER, "Dạ shop chào anh/chị")
    for _ in range(3):
        desk.settle()
    assert [s["text"] for s in fake.sent] == [
        "Dạ shop chào anh/chị",
        "Anh/chị đánh giá giúp shop nhé",
    ]
    outgoing = desk.messages_out(desk.ticket_of(CUSTOMER))
    assert [(m["text"], m["status"]) for m in outgoing] == [
        ("Dạ shop chào anh/chị", "sent"),
        ("Anh/chị đánh giá giúp shop nhé", "sent"),
    ]
    assert outgoing[1]["author"].startswith("automation:")


# Ending a chat: the third way


def test_every_new_chat_ends_at_once_and_waits_in_the_ticket_list_as_open(
    desk: RuleService, client: testing.TestClient
) -> None:
    rule = desk.rule(trigger="chat_started", actions=[{"type": "end_chat", "status": "open"}])
    desk.says(CUSTOMER, "Chào shop")
    desk.settle()
    assert desk.chat_of(CUSTOMER) is None
    listed = client.simulate_get("/api/tickets", params={"status": "open"}).json["tickets"]
    assert [t["customer"]["zalo_user_id"] for t in listed] == [CUSTOMER]
    ticket = desk.ticket(listed[0]["id"])
    assert ticket["chats"][0]["end_reason"] == "automation"
    assert ticket["chats"][0]["ended_by"] == f"automation:{rule['id']}"
    assert ticket["status_history"][-1]["reason"] == "chat ended (automation)"


def test_a_skipped_action_is_in_the_audit_not_an_error(desk: RuleService) -> None:
    desk.rule(
        trigger="customer_replied",
        actions=[{"type": "end_chat", "status": "pending"}, {"type": "end_chat"}],
    )
    desk.says(CUSTOMER, "Chào shop")
    desk.settle()
    ticket = desk.ticket_of(CUSTOMER)
    assert ticket["status"] == "pending"
    [fired] = [e for e in desk.audit(ticket["id"]) if e["type"] == "Ticket.RuleFired"]
    assert [(o["type"], o["outcome"], o.get("reason")) for o in fired["data"]["outcomes"]] == [
        ("end_chat", "applied", None),
        ("end_chat", "skipped", "the chat has already ended"),
    ]


# Time triggers


def test_a_customer_waiting_five_minutes_is_tagged_late_and_goes_to_the_lead(
    desk: RuleService,
) -> None:
    desk.rule(
        trigger="customer_waiting",
        after_seconds=300,
        actions=[{"type": "add_tag", "tag": "late"}, {"type": "assign", "agent": "lead"}],
    )
    desk.says(CUSTOMER, "Chào shop")
    desk.says(OTHER, "Chào shop")
    desk.wait(120)
    desk.reply(OTHER, "Dạ shop nghe")  # answered in time
    desk.wait(179)
    assert desk.ticket_of(CUSTOMER)["tags"] == []
    desk.wait(1)
    late = desk.ticket_of(CUSTOMER)
    assert (late["tags"], late["assignee"]) == (["late"], "lead")
    assert desk.ticket_of(OTHER)["tags"] == []
    desk.wait(600)  # once per waiting spell
    fired = [e for e in desk.audit(late["id"]) if e["type"] == "Ticket.RuleFired"]
    assert len(fired) == 1


def test_a_ticket_pending_for_three_days_is_closed(desk: RuleService) -> None:
    desk.rule(
        trigger="ticket_unchanged",
        after_seconds=3 * DAY,
        conditions=[{"field": "status", "op": "eq", "value": "pending"}],
        actions=[{"type": "set_status", "status": "closed"}],
    )
    desk.says(CUSTOMER, "Chào shop")
    desk.says(OTHER, "Chào shop")
    desk.end(CUSTOMER, "pending")
    desk.end(OTHER, "open")
    desk.wait(3 * DAY - 1)
    assert desk.ticket_of(CUSTOMER)["status"] == "pending"
    desk.wait(1)
    assert desk.ticket_of(CUSTOMER)["status"] == "closed"
    assert desk.ticket_of(OTHER)["status"] == "open"


# Conditions: every field with every operator it takes

ACCOUNT_ID = "account"  # stands for the account's id in the cases below
CONDITIONS = [
    ("channel", "eq", "zalo", True),
    ("channel", "ne", "zalo", False),
    ("channel", "in", ["api"], False),
    ("account_id", "eq", ACCOUNT_ID, True),
    ("account_id", "ne", ACCOUNT_ID, False),
    ("account_id", "in", [ACCOUNT_ID], True),
    ("status", "eq", "new", True),
    ("status", "ne", "new", False),
    ("status", "in", ["open", "pending"], False),
    ("message_text", "eq", "CÒN SIZE M KHÔNG?", True),
    ("message_text", "ne", "còn size m không?", False),
    ("message_text", "in", ["xin chào", "còn size m không?"], True),
    ("message_text", "contains", "Size M", True),
    ("message_kind", "eq", "text", True),
    ("message_kind", "ne", "text", False),
    ("message_kind", "in", ["image", "sticker"], False),
    ("tags", "eq", [], True),
    ("tags", "ne", [], False),
    ("tags", "in", ["vip"], False),
    ("tags", "contains", "vip", False),
    ("assignee", "eq", None, True),
    ("assignee", "ne", None, False),
    ("assignee", "in", ["lan"], False),
    ("assignee", "contains", "lan", False),
]


@pytest.mark.parametrize(("field", "op", "value", "fires"), CONDITIONS)
def test_a_condition_on_a_customer_s_message(
    desk: RuleService, account: dict[str, Any], field: str, op: str, value: Any, fires: bool
) -> None:
    if field == "account_id":
        value = [account["id"]] if isinstance(value, list) else account["id"]
    desk.rule(
        **tag_when(
            trigger="customer_replied", conditions=[{"field": field, "op": op, "value": value}]
        )
    )
    desk.says(CUSTOMER, "Còn size M không?")
    desk.settle()
    assert desk.ticket_of(CUSTOMER)["tags"] == (["hit"] if fires else [])


def test_conditions_on_tags_and_assignee_set_by_an_agent(
    desk: RuleService, client: testing.TestClient
) -> None:
    desk.rule(
        trigger="customer_replied",
        conditions=[
            {"field": "tags", "op": "contains", "value": "VIP"},
            {"field": "assignee", "op": "contains", "value": "LAN"},
        ],
        actions=[{"type": "set_status", "status": "open"}],
    )
    desk.says(CUSTOMER, "Chào shop")
    desk.settle()
    ticket = desk.ticket_of(CUSTOMER)
    patched = client.simulate_patch(
        f"/api/tickets/{ticket['id']}", json={"tags": ["vip"], "assignee": "lan.nguyen"}
    )
    assert patched.status_code == 200
    desk.says(CUSTOMER, "Shop ơi")
    desk.settle()
    assert desk.ticket_of(CUSTOMER)["status"] == "open"


def test_a_condition_on_an_image(desk: RuleService) -> None:
    desk.rule(
        **tag_when(
            trigger="customer_replied",
            conditions=[{"field": "message_kind", "op": "in", "value": ["image", "sticker"]}],
        )
    )
    desk.says(CUSTOMER, "Chào shop")
    photo = {"url": "https://photo.zalo.me/abc.jpg", "thumbnail": "https://photo.zalo.me/t.jpg"}
    desk.platform.send(zalo.user_attachment(CUSTOMER, "user_send_image", "image", photo))
    desk.settle()
    assert desk.ticket_of(CUSTOMER)["tags"] == ["hit"]


# Exactly once


class Killed(Exception):
    """The worker stopped dead: after firing, before its place in the log moved."""


def test_a_worker_killed_after_firing_fires_nothing_twice(
    desk: RuleService,
    services: Services,
    fake: FakeZalo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desk.rule(
        trigger="customer_replied",
        actions=[{"type": "add_tag", "tag": "seen"}, {"type": "reply", "text": "Shop đã nhận"}],
    )
    desk.says(CUSTOMER, "Chào shop")
    desk.project()

    def killed(*args: Any) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(automation_store, "save", killed)
        with pytest.raises(Killed):
            desk.automation.catch_up()
    # Started again: a new worker reads the same events from the same place.
    desk.automation = bootstrap.automation(services, QUICK)
    desk.settle()

    ticket = desk.ticket_of(CUSTOMER)
    assert ticket["tags"] == ["seen"]
    assert [s["text"] for s in fake.sent] == ["Shop đã nhận"]
    fired = [e for e in desk.audit(ticket["id"]) if e["type"] == "Ticket.RuleFired"]
    assert len(fired) == 1


def test_two_workers_at_once_fire_each_trigger_once(
    desk: RuleService, services: Services, fake: FakeZalo
) -> None:
    desk.rule(trigger="customer_replied", actions=[{"type": "reply", "text": "Shop đã nhận"}])
    for n in range(5):
        desk.says(f"31065970112203867{n:02d}", "Chào shop")
    desk.project()
    workers = [bootstrap.automation(services, evolve(QUICK, automation_batch=2)) for _ in range(2)]
    threads = [threading.Thread(target=w.catch_up) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    desk.settle()
    assert sorted(s["recipient"]["user_id"] for s in fake.sent) == [
        f"31065970112203867{n:02d}" for n in range(5)
    ]


def test_the_worker_s_lag_is_shown_to_readiness(
    desk: RuleService, client: testing.TestClient
) -> None:
    desk.says(CUSTOMER, "Chào shop")
    desk.project()
    assert client.simulate_get("/readyz").json["lag"]["automation"] > 0
    desk.settle()
    assert client.simulate_get("/readyz").json["lag"]["automation"] == 0


def test_a_small_batch_still_sees_each_command_whole(desk: RuleService, services: Services) -> None:
    desk.rule(
        **tag_when(
            trigger="ticket_created",
            conditions=[{"field": "message_text", "op": "contains", "value": "hoàn tiền"}],
        )
    )
    desk.automation = bootstrap.automation(services, evolve(QUICK, automation_batch=2))
    desk.says(CUSTOMER, "Mình muốn hoàn tiền")
    desk.says(OTHER, "Chào shop")
    desk.settle()
    assert desk.ticket_of(CUSTOMER)["tags"] == ["hit"]
    assert desk.ticket_of(OTHER)["tags"] == []
