"""Automation rules as the API takes and gives them.

The shapes are checked here; whether a rule's parts fit together (a time trigger needs
``after_seconds``, ``in`` needs a list, a status must exist) is the domain's decision,
refused with 422 naming the part.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from api.schemas.base import Form, Id, Shape, Timestamp, visible_text
from domain.automation.definition import MAX_ACTIONS, MAX_AFTER_SECONDS, MAX_CONDITIONS
from domain.values import ConditionField, ConditionOp, RuleTrigger

POSITION = Field(ge=1, le=1_000_000, description="Where the rule runs among the others.")
AFTER_SECONDS = Field(ge=1, le=MAX_AFTER_SECONDS, description="Only for the time triggers.")
Value = str | None | list[str | None]


class Condition(Form):
    field: ConditionField
    op: ConditionOp
    value: Value = Field(description="A string (or null), or a list of them for `in`.")


class Action(Form):
    type: Literal["end_chat", "set_status", "add_tag", "assign", "reply"]
    status: str | None = None
    tag: str | None = None
    agent: str | None = None
    text: str | None = None


class RuleParts(Form):
    trigger: RuleTrigger
    after_seconds: Annotated[int, AFTER_SECONDS] | None = None
    conditions: Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)] = []  # noqa: RUF012
    actions: Annotated[list[Action], Field(max_length=MAX_ACTIONS)] = []  # noqa: RUF012


class NewRule(RuleParts):
    name: Annotated[str, visible_text(200)]
    enabled: bool = True
    position: Annotated[int, POSITION] | None = None


class RuleChanges(Form):
    name: Annotated[str, visible_text(200)] | None = None
    enabled: bool | None = None
    trigger: RuleTrigger | None = None
    after_seconds: Annotated[int, AFTER_SECONDS] | None = None
    conditions: Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)] | None = None
    actions: Annotated[list[Action], Field(max_length=MAX_ACTIONS)] | None = None
    position: Annotated[int, POSITION] | None = None


class DryRunRequest(RuleParts):
    name: Annotated[str, visible_text(200)] | None = None
    enabled: bool | None = None
    position: Annotated[int, POSITION] | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None


class RuleShown(Shape):
    id: Id
    name: str
    enabled: bool
    trigger: str
    after_seconds: int | None
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    position: int
    created_at: Timestamp | None
    updated_at: Timestamp | None


class RuleList(Shape):
    rules: list[RuleShown]


class DryRunMatch(Shape):
    ticket_id: Id
    chat_id: Id | None
    at: Timestamp | None
    trigger_position: int
    actions: list[dict[str, Any]]


class DryRunResult(Shape):
    events_scanned: int
    matches: list[DryRunMatch]
