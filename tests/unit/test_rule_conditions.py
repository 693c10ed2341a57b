"""Conditions on a ticket: every field with every operator it takes; text regardless of case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from domain.automation.definition import definition
from domain.automation.facts import TicketFacts, all_hold, holds

ACCOUNT = UUID("6f1c2b0e-3c0a-4f57-9a53-1f3f2f2c9a10")
OTHER_ACCOUNT = "0b3b8f0e-0000-4000-8000-000000000001"


def ticket(**changes: Any) -> TicketFacts:
    facts = TicketFacts(
        ticket_id=UUID(int=1),
        channel="zalo",
        account_id=ACCOUNT,
        status="open",
        quiet_since=datetime(2026, 11, 24, tzinfo=UTC),
        quiet_position=1,
        tags=["VIP", "order"],
        assignee="Lan",
        message_text="Cho mình hỏi về HOÀN TIỀN đơn 123",
        message_kind="text",
    )
    for key, value in changes.items():
        setattr(facts, key, value)
    return facts


def meets(field: str, op: str, value: Any, facts: TicketFacts | None = None) -> bool:
    rule = definition(
        "customer_replied",
        None,
        [{"field": field, "op": op, "value": value}],
        [{"type": "end_chat"}],
    )
    return holds(rule.conditions[0], facts or ticket())


CASES = [
    ("channel", "eq", "zalo", True),
    ("channel", "eq", "api", False),
    ("channel", "ne", "api", True),
    ("channel", "in", ["api", "zalo"], True),
    ("account_id", "eq", str(ACCOUNT).upper(), True),
    ("account_id", "ne", OTHER_ACCOUNT, True),
    ("account_id", "in", [OTHER_ACCOUNT], False),
    ("status", "eq", "open", True),
    ("status", "ne", "open", False),
    ("status", "in", ["pending", "closed"], False),
    ("message_text", "eq", "cho mình hỏi về hoàn tiền đơn 123", True),
    ("message_text", "ne", "cho mình hỏi về hoàn tiền đơn 123", False),
    ("message_text", "in", ["xin chào", "CHO MÌNH HỎI VỀ HOÀN TIỀN ĐƠN 123"], True),
    ("message_text", "contains", "hoàn tiền", True),
    ("message_text", "contains", "đổi size", False),
    ("message_kind", "eq", "text", True),
    ("message_kind", "ne", "image", True),
    ("message_kind", "in", ["image", "sticker"], False),
    ("tags", "contains", "vip", True),
    ("tags", "contains", "late", False),
    ("tags", "in", ["late", "Order"], True),
    ("tags", "in", ["late"], False),
    ("tags", "eq", ["order", "vip"], True),
    ("tags", "eq", ["vip"], False),
    ("tags", "ne", ["vip"], True),
    ("assignee", "eq", "lan", True),
    ("assignee", "eq", None, False),
    ("assignee", "ne", None, True),
    ("assignee", "in", ["Minh", "Lan"], True),
    ("assignee", "contains", "la", True),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), CASES)
def test_each_field_and_operator(field: str, op: str, value: Any, expected: bool) -> None:
    assert meets(field, op, value) is expected


def test_an_unassigned_ticket_with_no_tags_and_no_message_yet() -> None:
    bare = ticket(assignee=None, tags=[], message_text="", message_kind=None)
    assert meets("assignee", "eq", None, bare)
    assert not meets("assignee", "contains", "lan", bare)
    assert meets("assignee", "ne", "lan", bare)
    assert meets("tags", "eq", [], bare)
    assert not meets("message_kind", "eq", "text", bare)
    assert not meets("message_text", "contains", "a", bare)


def test_every_condition_must_hold() -> None:
    rule = definition(
        "customer_replied",
        None,
        [
            {"field": "status", "op": "eq", "value": "open"},
            {"field": "message_text", "op": "contains", "value": "hoàn tiền"},
        ],
        [{"type": "end_chat"}],
    )
    assert all_hold(rule.conditions, ticket())
    assert not all_hold(rule.conditions, ticket(status="pending"))
    assert not all_hold(rule.conditions, ticket(message_text="xin chào"))
    assert all_hold((), ticket())
