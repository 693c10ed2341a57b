"""What the rules know of a ticket: what conditions look at, and the spells time triggers count.

Derived from the log alone (``tracker``), so that the same history always gives the same
answers: the automation worker keeps these in a table, the dry run in memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from attrs import define, field

from domain.automation.definition import Condition
from domain.values import ConditionField, ConditionOp


@define
class TicketFacts:
    ticket_id: UUID
    channel: str
    account_id: UUID | None
    status: str
    quiet_since: datetime  # when a person or Zalo last changed the ticket
    quiet_position: int  # the log position of that change
    tags: list[str] = field(factory=list)
    assignee: str | None = None
    active_chat_id: UUID | None = None
    message_text: str = ""
    message_kind: str | None = None
    # The customer's oldest unanswered message in the active chat, if one is unanswered.
    waiting_since: datetime | None = None
    waiting_position: int = 0
    # The time rules already looked at in the current spell, by rule id.
    waiting_done: set[UUID] = field(factory=set)
    quiet_done: set[UUID] = field(factory=set)

    def as_data(self) -> dict[str, Any]:
        return {
            "ticket_id": str(self.ticket_id),
            "channel": self.channel,
            "account_id": str(self.account_id) if self.account_id else None,
            "status": self.status,
            "quiet_since": self.quiet_since.isoformat(),
            "quiet_position": self.quiet_position,
            "tags": list(self.tags),
            "assignee": self.assignee,
            "active_chat_id": str(self.active_chat_id) if self.active_chat_id else None,
            "message_text": self.message_text,
            "message_kind": self.message_kind,
            "waiting_since": self.waiting_since.isoformat() if self.waiting_since else None,
            "waiting_position": self.waiting_position,
            "waiting_done": sorted(str(r) for r in self.waiting_done),
            "quiet_done": sorted(str(r) for r in self.quiet_done),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TicketFacts:
        waiting = data.get("waiting_since")
        return cls(
            ticket_id=UUID(data["ticket_id"]),
            channel=data["channel"],
            account_id=UUID(data["account_id"]) if data.get("account_id") else None,
            status=data["status"],
            quiet_since=datetime.fromisoformat(data["quiet_since"]),
            quiet_position=int(data["quiet_position"]),
            tags=list(data.get("tags") or []),
            assignee=data.get("assignee"),
            active_chat_id=UUID(data["active_chat_id"]) if data.get("active_chat_id") else None,
            message_text=data.get("message_text") or "",
            message_kind=data.get("message_kind"),
            waiting_since=datetime.fromisoformat(waiting) if waiting else None,
            waiting_position=int(data.get("waiting_position") or 0),
            waiting_done={UUID(r) for r in data.get("waiting_done") or []},
            quiet_done={UUID(r) for r in data.get("quiet_done") or []},
        )


def _actual(name: ConditionField, facts: TicketFacts) -> str | None:
    if name == ConditionField.CHANNEL:
        return facts.channel
    if name == ConditionField.ACCOUNT_ID:
        return str(facts.account_id) if facts.account_id else None
    if name == ConditionField.STATUS:
        return facts.status
    if name == ConditionField.MESSAGE_TEXT:
        return facts.message_text.casefold()
    if name == ConditionField.MESSAGE_KIND:
        return facts.message_kind
    return facts.assignee.casefold() if facts.assignee is not None else None


def holds(condition: Condition, facts: TicketFacts) -> bool:
    """Whether the ticket meets the condition; text and tags are compared regardless of case."""
    op, wanted = condition.op, condition.folded
    if condition.field == ConditionField.TAGS:
        tags = {tag.casefold() for tag in facts.tags}
        if op == ConditionOp.EQ:
            return bool(tags == wanted)
        if op == ConditionOp.NE:
            return bool(tags != wanted)
        if op == ConditionOp.IN:
            return bool(tags & wanted)
        return bool(wanted in tags)
    actual = _actual(condition.field, facts)
    if op == ConditionOp.EQ:
        return bool(actual == wanted)
    if op == ConditionOp.NE:
        return bool(actual != wanted)
    if op == ConditionOp.IN:
        return bool(actual in wanted)
    return actual is not None and bool(wanted in actual)


def all_hold(conditions: tuple[Condition, ...], facts: TicketFacts) -> bool:
    return all(holds(condition, facts) for condition in conditions)
