"""Whether a rule's action applies to a ticket, and what it leaves.

The same answers serve the worker, on the ``Ticket`` aggregate, and the dry run, on the
facts the tracker keeps: an action that does not apply is skipped, with a reason.
"""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from attrs import evolve

from domain.automation.definition import RuleAction
from domain.automation.facts import TicketFacts
from domain.values import ActionOutcome, RuleActionType


class TicketState(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def active_chat_id(self) -> UUID | None: ...


def skip_reason(action: RuleAction, ticket: TicketState) -> str | None:
    """Why the action would change nothing on this ticket, or None if it applies."""
    kind = action.type
    if kind == RuleActionType.END_CHAT and ticket.active_chat_id is None:
        return "the chat has already ended"
    if kind == RuleActionType.SET_STATUS and action.status == ticket.status:
        return f"the status is already {ticket.status}"
    if kind == RuleActionType.ADD_TAG and action.tag.casefold() in {
        t.casefold() for t in ticket.tags
    }:
        return f"the ticket already has the tag {action.tag}"
    if kind == RuleActionType.ASSIGN and action.agent == ticket.assignee:
        return f"the ticket is already assigned to {action.agent}"
    return None


def outcome(action: RuleAction, reason: str | None = None) -> dict[str, Any]:
    """An action as the firing records it: what it said, and whether it was applied."""
    if reason is None:
        return {**action.as_data(), "outcome": ActionOutcome.APPLIED.value}
    return {**action.as_data(), "outcome": ActionOutcome.SKIPPED.value, "reason": reason}


def predict(actions: tuple[RuleAction, ...], facts: TicketFacts) -> list[dict[str, Any]]:
    """What the actions would do, in order, each seeing what the ones before it did
    (a reply's fate at Zalo aside)."""
    state = evolve(facts, tags=list(facts.tags))
    outcomes = []
    for action in actions:
        reason = skip_reason(action, state)
        outcomes.append(outcome(action, reason))
        if reason is None:
            _apply(action, state)
    return outcomes


def _apply(action: RuleAction, state: TicketFacts) -> None:
    kind = action.type
    if kind == RuleActionType.END_CHAT:
        state.active_chat_id = None
    if kind in (RuleActionType.END_CHAT, RuleActionType.SET_STATUS) and action.status:
        state.status = action.status.value
    elif kind == RuleActionType.ADD_TAG:
        state.tags = [*state.tags, action.tag]
    elif kind == RuleActionType.ASSIGN:
        state.assignee = action.agent
