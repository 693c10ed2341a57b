"""Automation rules (admin): made, listed, changed, deleted, and tried on the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import falcon

from adapters.log_tools.dry_run import dry_run
from adapters.log_tools.event_log import EventLog
from adapters.read_models.rule_queries import RuleQueries
from adapters.timefmt import iso, parse_iso
from api import bodies
from domain.application import Zalodesk
from domain.automation.definition import definition
from domain.automation.rule import AutomationRule
from domain.clock import Clock
from domain.commands import ChangeRule, CreateRule, DeleteRule

RULE_FIELDS = frozenset(
    {"name", "enabled", "trigger", "after_seconds", "conditions", "actions", "position"}
)
DRY_RUN_FIELDS = RULE_FIELDS | {"since", "until"}
POSITIONS = range(1, 1_000_001)


def shown(rule: AutomationRule) -> dict[str, Any]:
    return {
        "id": str(rule.id),
        "name": rule.name,
        "enabled": rule.enabled,
        "trigger": rule.trigger.value,
        "after_seconds": rule.after_seconds,
        "conditions": rule.conditions,
        "actions": rule.actions,
        "position": rule.position,
        "created_at": iso(rule.created_at),
        "updated_at": iso(rule.updated_at),
    }


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["rule_id"]),
        "name": row["name"],
        "enabled": row["enabled"],
        "trigger": row["trigger"],
        "after_seconds": row["after_seconds"],
        "conditions": row["conditions"],
        "actions": row["actions"],
        "position": row["position"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def known_fields(body: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bodies.invalid(
            ", ".join(unknown), f"unknown field; a rule has {', '.join(sorted(RULE_FIELDS))}"
        )
    return body


class Rules:
    admin_only = True

    def __init__(self, app: Zalodesk, queries: RuleQueries) -> None:
        self.app = app
        self.queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"rules": [from_row(row) for row in self.queries.rules()]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = known_fields(bodies.json_object(req), RULE_FIELDS)
        position = body.get("position")
        rule = self.app.create_rule(
            CreateRule(
                actor=req.context.principal.actor,
                name=bodies.text(body, "name"),
                enabled=bodies.boolean(body, "enabled", True),
                trigger=body.get("trigger"),
                after_seconds=body.get("after_seconds"),
                conditions=body.get("conditions"),
                actions=body.get("actions"),
                position=self.queries.next_position()
                if position is None
                else bodies.integer(body, "position", 1, POSITIONS),
            )
        )
        resp.status = falcon.HTTP_201
        resp.location = f"/api/rules/{rule.id}"
        resp.media = shown(rule)


class Rule:
    admin_only = True

    def __init__(self, app: Zalodesk) -> None:
        self.app = app

    def on_get(self, req: falcon.Request, resp: falcon.Response, rule_id: UUID) -> None:
        resp.media = shown(self.app.rule(rule_id))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, rule_id: UUID) -> None:
        body = known_fields(bodies.json_object(req), RULE_FIELDS)
        changes = dict(body)
        if "name" in body:
            changes["name"] = bodies.text(body, "name")
        if "enabled" in body:
            changes["enabled"] = bodies.boolean(body, "enabled", True)
        if "position" in body:
            changes["position"] = bodies.integer(body, "position", 1, POSITIONS)
        rule = self.app.change_rule(ChangeRule(rule_id, req.context.principal.actor, changes))
        resp.media = shown(rule)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, rule_id: UUID) -> None:
        self.app.delete_rule(DeleteRule(rule_id, req.context.principal.actor))
        resp.status = falcon.HTTP_204


class RulesDryRun:
    """Acts on nothing. Reads the whole log: on a large one, the command line's
    ``zalodesk rules dry-run`` has no request timeout to meet."""

    admin_only = True

    def __init__(self, log: EventLog, clock: Clock) -> None:
        self.log = log
        self.clock = clock

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = known_fields(bodies.json_object(req), DRY_RUN_FIELDS)
        rule = definition(
            body.get("trigger"),
            body.get("after_seconds"),
            body.get("conditions"),
            body.get("actions"),
        )
        since, until = moment(body, "since"), moment(body, "until")
        resp.media = dry_run(self.log, rule, self.clock(), since, until).as_json()


def moment(body: dict[str, Any], field: str) -> datetime | None:
    value = body.get(field)
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return parse_iso(value)
    except ValueError:
        raise bodies.invalid(
            field, "must be an ISO 8601 time, such as 2026-11-24T10:00:00Z"
        ) from None
