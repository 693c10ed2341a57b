"""Automation rules (admin): made, listed, changed, deleted, and tried on the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import falcon
from attrs import frozen

from adapters.log_tools.dry_run import dry_run
from adapters.log_tools.event_log import EventLog
from adapters.read_models.rule_queries import RuleQueries
from adapters.timefmt import iso, parse_iso
from api.contract import Answer, Operation, refusal
from api.schemas.rules import (
    DryRunRequest,
    DryRunResult,
    NewRule,
    RuleChanges,
    RuleList,
    RuleShown,
)
from domain.application import Zalodesk
from domain.automation.definition import definition
from domain.automation.rule import AutomationRule
from domain.clock import Clock
from domain.commands import ChangeRule, CreateRule, DeleteRule
from domain.errors import InvalidInput

NOT_A_RULE = refusal("The rule's parts do not fit together; the description names the part")


# What a rule shows, under the names the rules view stores it by.
SHOWN = ("name", "enabled", "trigger", "after_seconds", "conditions", "actions", "position")


def shown(rule: AutomationRule) -> dict[str, Any]:
    row = {name: getattr(rule, name) for name in (*SHOWN, "created_at", "updated_at")}
    return from_row({**row, "rule_id": rule.id, "trigger": rule.trigger.value})


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["rule_id"]),
        **{name: row[name] for name in SHOWN},
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


@frozen
class Rules:
    app: Zalodesk
    queries: RuleQueries

    @Operation("List automation rules", {200: Answer("The rules", RuleList)}, admin=True)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"rules": [from_row(row) for row in self.queries.rules()]}

    @Operation(
        "Make an automation rule",
        {201: Answer("Made", RuleShown), 422: NOT_A_RULE},
        admin=True,
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, form: NewRule) -> None:
        rule = self.app.create_rule(
            CreateRule(
                actor=req.context.principal.actor,
                name=form.name.strip(),
                enabled=form.enabled,
                trigger=form.trigger.value,
                after_seconds=form.after_seconds,
                conditions=plain(form.conditions),
                actions=plain(form.actions),
                position=self.queries.next_position() if form.position is None else form.position,
            )
        )
        resp.status = falcon.HTTP_201
        resp.location = f"/api/rules/{rule.id}"
        resp.media = shown(rule)


@frozen
class Rule:
    app: Zalodesk

    @Operation("One automation rule", {200: Answer("The rule", RuleShown)}, admin=True)
    def on_get(self, req: falcon.Request, resp: falcon.Response, rule_id: UUID) -> None:
        resp.media = shown(self.app.rule(rule_id))

    @Operation(
        "Change an automation rule",
        {200: Answer("Changed", RuleShown), 422: NOT_A_RULE},
        admin=True,
    )
    def on_patch(
        self, req: falcon.Request, resp: falcon.Response, rule_id: UUID, form: RuleChanges
    ) -> None:
        changes = {key: plain(value) for key, value in form.model_dump(exclude_unset=True).items()}
        if isinstance(changes.get("name"), str):
            changes["name"] = changes["name"].strip()
        rule = self.app.change_rule(ChangeRule(rule_id, req.context.principal.actor, changes))
        resp.media = shown(rule)

    @Operation("Delete an automation rule", {204: Answer("Deleted")}, admin=True)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, rule_id: UUID) -> None:
        self.app.delete_rule(DeleteRule(rule_id, req.context.principal.actor))
        resp.status = falcon.HTTP_204


@frozen
class RulesDryRun:
    """Acts on nothing. Reads the whole log: on a large one, the command line's
    ``zalodesk rules dry-run`` has no request timeout to meet."""

    log: EventLog
    clock: Clock

    @Operation(
        "What a rule would have done on the history, acting on nothing",
        {200: Answer("What it would have done", DryRunResult), 422: NOT_A_RULE},
        admin=True,
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, form: DryRunRequest) -> None:
        rule = definition(
            form.trigger.value, form.after_seconds, plain(form.conditions), plain(form.actions)
        )
        since, until = moment(form.since, "since"), moment(form.until, "until")
        resp.media = dry_run(self.log, rule, self.clock(), since, until).as_json()


def plain(value: Any) -> Any:
    """A rule's parts as the domain takes them: plain data, without the keys left unset."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    if hasattr(value, "model_dump"):
        return {key: plain(v) for key, v in value.model_dump(exclude_unset=True).items()}
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value
    return value


def moment(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise InvalidInput(
            f"{field}: must be an ISO 8601 time, such as 2026-11-24T10:00:00Z"
        ) from None
