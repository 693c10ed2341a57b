"""A rule's actions on a ticket: in order, as the rule, each recorded, each trigger once."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain import actors
from domain.application import Zalodesk
from domain.chat import Chat
from domain.clock import FrozenClock
from domain.commands import EndChat, OpenTicket
from domain.reply import Reply
from domain.values import EndReason, ReplyStatus
from tests.support.rule_desk import RuleDesk


@pytest.fixture
def rules(desk: Zalodesk, account_id: UUID, clock: FrozenClock) -> RuleDesk:
    return RuleDesk(desk, account_id, clock)


def ticket_events(rules: RuleDesk) -> list[tuple[str, str]]:
    return [(type(e).__name__, e.actor) for e in rules.events(rules.ticket_id())]


def test_actions_apply_in_order_as_the_rule(rules: RuleDesk) -> None:
    rule = rules.rule(
        "customer_replied",
        actions=[
            {"type": "add_tag", "tag": "late"},
            {"type": "assign", "agent": "lead"},
            {"type": "set_status", "status": "pending"},
        ],
    )
    rules.customer_says("hi")
    [done] = rules.fire(rules.matches())

    ticket = rules.desk.ticket(rules.ticket_id())
    assert (ticket.tags, ticket.assignee, ticket.status) == (["late"], "lead", "pending")
    as_rule = actors.automation(str(rule.id))
    assert ticket_events(rules)[-4:] == [
        ("TagsSet", as_rule),
        ("Assigned", as_rule),
        ("StatusChanged", as_rule),
        ("RuleFired", as_rule),
    ]
    assert [o["outcome"] for o in done.outcomes] == ["applied"] * 3
    fired: Any = rules.events(rules.ticket_id())[-1]
    assert fired.rule_id == rule.id and fired.trigger == "customer_replied"
    assert fired.outcomes == done.outcomes


def test_an_action_that_does_not_apply_is_skipped_and_recorded(rules: RuleDesk) -> None:
    rules.rule(
        "agent_replied",
        actions=[
            {"type": "end_chat", "status": "open"},
            {"type": "end_chat", "status": "closed"},
            {"type": "set_status", "status": "open"},
            {"type": "add_tag", "tag": "done"},
        ],
    )
    rules.customer_says("hi")
    rules.agent_replies("Dạ")
    [done] = rules.fire(rules.matches())
    assert [(o["type"], o["outcome"], o.get("reason")) for o in done.outcomes] == [
        ("end_chat", "applied", None),
        ("end_chat", "skipped", "the chat has already ended"),
        ("set_status", "skipped", "the status is already open"),
        ("add_tag", "applied", None),
    ]
    ticket = rules.desk.ticket(rules.ticket_id())
    assert (ticket.status, ticket.tags, ticket.active_chat_id) == ("open", ["done"], None)


def test_ending_the_chat_is_the_third_way_a_chat_ends(rules: RuleDesk) -> None:
    rule = rules.rule("chat_started", actions=[{"type": "end_chat", "status": "open"}])
    rules.customer_says("hi")
    chat_id = rules.chat_id()
    rules.fire(rules.matches())
    ended: Any = rules.events(chat_id)[-1]
    assert (type(ended).__name__, ended.reason, ended.status, ended.actor) == (
        "Ended",
        EndReason.AUTOMATION,
        "open",
        actors.automation(str(rule.id)),
    )
    assert rules.contact().active_chat_id is None


def test_a_trigger_fires_once(rules: RuleDesk) -> None:
    rules.rule("customer_replied", actions=[{"type": "reply", "text": "Shop đã nhận tin"}])
    rules.customer_says("hi")
    matches = rules.matches()
    before = len(rules.events(rules.ticket_id()))
    [first] = rules.fire(matches)
    [again] = rules.fire(matches)
    assert first is not None and again is None
    assert len(rules.events(rules.ticket_id())) == before + 1
    replies = [e for e in rules.events(rules.chat_id()) if type(e).__name__ == "AgentReplied"]
    assert len(replies) == 1


def test_a_rule_ends_the_chat_then_says_goodbye_in_a_new_session(rules: RuleDesk) -> None:
    rule = rules.rule(
        "customer_replied",
        actions=[
            {"type": "end_chat", "status": "closed"},
            {"type": "reply", "text": "Shop sẽ liên hệ lại sau ạ"},
        ],
    )
    rules.customer_says("hi")
    first_chat = rules.chat_id()
    [done] = rules.fire(rules.matches())

    assert [o["outcome"] for o in done.outcomes] == ["applied", "applied"]
    assert rules.desk.chat(first_chat).ended
    second_chat = rules.chat_id()
    assert second_chat != first_chat
    [reply_id] = [
        e.message_id for e in rules.events(second_chat) if type(e).__name__ == "AgentReplied"
    ]
    reply: object = rules.desk.repository.get(reply_id)
    assert isinstance(reply, Reply) and reply.status == ReplyStatus.SENT
    assert reply.text == "Shop sẽ liên hệ lại sau ạ"
    started: Any = rules.events(second_chat)[0]
    assert started.actor == actors.automation(str(rule.id))
    # Replying reopens the closed ticket, as an agent's reply does.
    assert rules.desk.ticket(rules.ticket_id()).status == "open"


def test_a_rule_s_reply_on_an_ended_chat_starts_a_new_session(
    rules: RuleDesk, desk: Zalodesk
) -> None:
    rules.rule("customer_replied", actions=[{"type": "reply", "text": "Shop đã nhận tin"}])
    rules.customer_says("hi")
    matches = rules.matches()
    desk.end_chat(EndChat(rules.chat_id(), "agent:lan", "agent", None))
    [done] = rules.fire(matches)
    assert done.outcomes[0]["outcome"] == "applied"
    chats = [e for e in rules.events(rules.ticket_id()) if type(e).__name__ == "ChatAttached"]
    assert len(chats) == 2
    assert isinstance(desk.repository.get(chats[-1].chat_id), Chat)


def test_a_reply_where_there_is_no_zalo_conversation_is_skipped(
    rules: RuleDesk, desk: Zalodesk
) -> None:
    rules.rule(
        "ticket_created",
        actions=[{"type": "reply", "text": "x"}, {"type": "add_tag", "tag": "email"}],
    )
    ticket = desk.open_ticket(OpenTicket("Hoá đơn", "Khách gửi email hỏi hoá đơn", "agent:lan"))
    [done] = rules.fire(rules.matches())
    assert [(o["outcome"], o.get("reason")) for o in done.outcomes] == [
        ("skipped", f"ticket {ticket.id} is not a chat ticket"),
        ("applied", None),
    ]
