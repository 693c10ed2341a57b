"""Which rules fire, read from the log on the in-memory store, as the worker reads it."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from domain.application import Zalodesk
from domain.automation.tracker import Match
from domain.clock import FrozenClock
from domain.commands import ChangeRule, ChangeTicket, DeleteRule, EndChat
from tests.support.rule_desk import RuleDesk

DAY = 24 * 3600


@pytest.fixture
def rules(desk: Zalodesk, account_id: UUID, clock: FrozenClock) -> RuleDesk:
    return RuleDesk(desk, account_id, clock)


def fired(matches: list[Match]) -> list[tuple[str, str]]:
    return [(m.rule.name, m.trigger.value) for m in matches]


def test_each_event_trigger_fires_its_rules(rules: RuleDesk) -> None:
    for trigger in (
        "ticket_created",
        "chat_started",
        "customer_replied",
        "agent_replied",
        "chat_reactivated",
    ):
        rules.rule(trigger, name=trigger)

    rules.customer_says("Còn size M không?")
    first = rules.matches()
    assert sorted(fired(first)) == [
        ("chat_started", "chat_started"),
        ("customer_replied", "customer_replied"),
        ("ticket_created", "ticket_created"),
    ]
    assert {(m.ticket_id, m.chat_id) for m in first} == {(rules.ticket_id(), rules.chat_id())}

    rules.agent_replies("Dạ còn ạ")
    assert fired(rules.matches()) == [("agent_replied", "agent_replied")]

    rules.desk.end_chat(EndChat(rules.chat_id(), "agent:lan", "agent", "pending"))
    assert rules.matches() == []

    rules.customer_says("Mình lấy 2 cái nhé")
    assert sorted(fired(rules.matches())) == [
        ("chat_reactivated", "chat_reactivated"),
        ("customer_replied", "customer_replied"),
    ]


def test_a_new_ticket_is_seen_with_its_first_message(rules: RuleDesk) -> None:
    rules.rule(
        "ticket_created",
        conditions=[{"field": "message_text", "op": "contains", "value": "HOÀN TIỀN"}],
    )
    rules.customer_says("Cho mình hỏi giá", user="111")
    rules.customer_says("Mình muốn hoàn tiền đơn 123", user="222")
    [match] = rules.matches()
    assert match.ticket_id == rules.ticket_id("222")
    assert match.chat_id == rules.chat_id("222")


def test_conditions_look_at_the_ticket_as_the_command_left_it(rules: RuleDesk) -> None:
    rules.rule("customer_replied", conditions=[{"field": "status", "op": "eq", "value": "open"}])
    rules.customer_says("hi")
    rules.desk.end_chat(EndChat(rules.chat_id(), "agent:lan", "agent", "pending"))
    rules.matches()
    # The customer's message reopens the pending ticket in the same command.
    rules.customer_says("còn đó không shop?")
    assert len(rules.matches()) == 1


def test_rules_run_in_their_order_and_only_when_enabled(rules: RuleDesk) -> None:
    rules.rule("customer_replied", name="second", position=2)
    rules.rule("customer_replied", name="first", position=1)
    rules.rule("customer_replied", name="off", enabled=False)
    gone = rules.rule("customer_replied", name="gone")
    rules.desk.delete_rule(DeleteRule(gone.id, "agent:admin"))
    rules.customer_says("hi")
    assert [m.rule.name for m in rules.matches()] == ["first", "second"]


def test_a_rule_changed_takes_effect_from_then_on(rules: RuleDesk) -> None:
    rule = rules.rule("customer_replied", enabled=False)
    rules.customer_says("one")
    rules.desk.change_rule(ChangeRule(rule.id, "agent:admin", {"enabled": True}))
    rules.customer_says("two")
    [match] = rules.matches()
    assert match.facts.message_text == "two"
    rules.desk.change_rule(
        ChangeRule(rule.id, "agent:admin", {"trigger": "agent_replied", "name": "renamed"})
    )
    rules.customer_says("three")
    rules.agent_replies("four")
    assert [(m.rule.name, m.facts.message_text) for m in rules.matches()] == [("renamed", "four")]


def test_nothing_a_rule_does_is_a_trigger(rules: RuleDesk) -> None:
    rules.rule("agent_replied", actions=[{"type": "reply", "text": "Cảm ơn anh/chị!"}])
    rules.rule("chat_reactivated", name="reactivated")
    rules.customer_says("hi")
    rules.agent_replies("Dạ shop nghe")
    [match] = rules.matches()
    rules.fire([match])
    assert rules.matches() == []
    # A rule's reply on an ended chat starts a new session: no trigger either.
    rules.desk.end_chat(EndChat(rules.chat_id(), "agent:lan", "agent", None))
    rules.agent_replies("Shop gửi thêm thông tin ạ")
    [again] = [m for m in rules.matches() if m.trigger.value == "agent_replied"]
    rules.fire([again])
    assert rules.matches() == []


def test_a_waiting_customer_fires_the_rule_once_per_spell(
    rules: RuleDesk, clock: FrozenClock
) -> None:
    rule = rules.rule("customer_waiting", after_seconds=300)
    rules.customer_says("hi")
    started = clock()
    clock.advance(200)
    rules.customer_says("alo?")  # still waiting since the first message
    assert rules.due() == []
    clock.advance(150)
    [match] = rules.due()
    assert (match.rule.id, match.at) == (rule.id, started + timedelta(seconds=300))
    assert rules.due() == []

    rules.agent_replies("Dạ")
    rules.customer_says("cảm ơn, còn một câu nữa")
    clock.advance(299)
    assert rules.due() == []
    clock.advance(1)
    [second] = rules.due()
    assert second.key != match.key and second.chat_id == match.chat_id


def test_a_spell_that_ended_before_anyone_looked_still_counts(
    rules: RuleDesk, clock: FrozenClock
) -> None:
    rules.rule("customer_waiting", after_seconds=300, name="late")
    rules.customer_says("hi")
    rules.matches()
    clock.advance(400)
    rules.agent_replies("Xin lỗi đã để anh/chị chờ")
    [match] = rules.matches()
    assert match.rule.name == "late"
    assert rules.due() == []


def test_a_rule_s_reply_answers_the_waiting_customer(rules: RuleDesk, clock: FrozenClock) -> None:
    rules.rule("customer_replied", actions=[{"type": "reply", "text": "Shop đã nhận tin"}])
    rules.rule("customer_waiting", after_seconds=60, name="waiting")
    rules.customer_says("hi")
    rules.fire(rules.matches())
    clock.advance(120)
    assert rules.due() == []


def test_the_waiting_ends_with_the_chat(rules: RuleDesk, clock: FrozenClock) -> None:
    rules.rule("customer_waiting", after_seconds=600)
    rules.customer_says("hi")
    clock.advance(60)
    rules.desk.end_chat(EndChat(rules.chat_id(), "agent:lan", "agent", "closed"))
    clock.advance(3600)
    assert rules.due() == []


def test_a_quiet_pending_ticket_is_closed_once(rules: RuleDesk, clock: FrozenClock) -> None:
    rules.rule(
        "ticket_unchanged",
        after_seconds=3 * DAY,
        conditions=[{"field": "status", "op": "eq", "value": "pending"}],
        actions=[{"type": "set_status", "status": "closed"}],
    )
    rules.customer_says("hi")
    rules.desk.end_chat(EndChat(rules.chat_id(), "agent:lan", "agent", "open"))
    clock.advance(DAY)
    assert rules.due() == []
    rules.desk.change_ticket(ChangeTicket(rules.ticket_id(), "agent:lan", status="pending"))
    clock.advance(2 * DAY)
    assert rules.due() == []
    clock.advance(DAY)
    [match] = rules.due()
    [done] = rules.fire([match])
    assert done is not None and done.outcomes[0]["outcome"] == "applied"
    assert rules.desk.ticket(rules.ticket_id()).status == "closed"


def test_a_rule_s_own_change_begins_no_new_quiet_spell(rules: RuleDesk, clock: FrozenClock) -> None:
    rules.rule("ticket_unchanged", after_seconds=DAY, actions=[{"type": "add_tag", "tag": "stale"}])
    rules.customer_says("hi")
    clock.advance(DAY)
    rules.fire(rules.due())
    assert rules.desk.ticket(rules.ticket_id()).tags == ["stale"]
    clock.advance(3 * DAY)
    assert rules.due() == []
    rules.agent_replies("Anh/chị còn cần hỗ trợ không ạ?")
    clock.advance(DAY)
    assert len(rules.due()) == 1


def test_a_time_rule_made_later_looks_at_spells_already_under_way(
    rules: RuleDesk, clock: FrozenClock
) -> None:
    rules.customer_says("hi")
    clock.advance(DAY)
    rules.rule("ticket_unchanged", after_seconds=3600, name="stale")
    [match] = rules.due()
    assert match.rule.name == "stale"


def test_a_disabled_time_rule_waits_and_an_enabled_one_catches_up(
    rules: RuleDesk, clock: FrozenClock
) -> None:
    rule = rules.rule("customer_waiting", after_seconds=60, enabled=False)
    rules.customer_says("hi")
    clock.advance(120)
    assert rules.due() == []
    rules.desk.change_rule(ChangeRule(rule.id, "agent:admin", {"enabled": True}))
    assert len(rules.due()) == 1
