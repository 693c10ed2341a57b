"""The rules as of a place in the log, kept up to date from the rules' own events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from attrs import evolve, frozen

from domain.automation.definition import RuleDefinition, from_data
from domain.errors import InvalidInput
from domain.values import RuleTrigger

RULE_EVENTS = "AutomationRule."


@frozen
class Rule:
    id: UUID
    name: str
    enabled: bool
    position: int
    created_at: datetime
    definition: RuleDefinition
    made_at_position: int = 0  # in the log: rules at one position run in the order made

    @property
    def order(self) -> tuple[int, int, str]:
        return (self.position, self.made_at_position, str(self.id))

    def as_data(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "enabled": self.enabled,
            "position": self.position,
            "created_at": self.created_at.isoformat(),
            "made_at_position": self.made_at_position,
            **self.definition.as_data(),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Rule:
        return cls(
            id=UUID(data["id"]),
            name=data["name"],
            enabled=bool(data["enabled"]),
            position=int(data["position"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            definition=from_data(data),
            made_at_position=int(data.get("made_at_position") or 0),
        )


class RuleSet:
    """Every rule not deleted; ``changed`` and ``deleted`` say what moved since it was loaded."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.rules = {rule.id: rule for rule in rules}
        self.changed: set[UUID] = set()
        self.deleted: set[UUID] = set()
        self.newly_on: set[UUID] = set()  # enabled, or redefined, since loaded
        self._index()

    def _index(self) -> None:
        self._by_trigger: dict[RuleTrigger, list[Rule]] = {}
        for rule in sorted(self.rules.values(), key=lambda r: r.order):
            if rule.enabled:
                self._by_trigger.setdefault(rule.definition.trigger, []).append(rule)

    def enabled(self, trigger: RuleTrigger) -> list[Rule]:
        """The enabled rules on this trigger, in the order rules run."""
        return self._by_trigger.get(trigger, [])

    def __len__(self) -> int:
        return len(self.rules)

    def apply(self, event: Any, position: int = 0) -> None:
        """One of a rule's events (``AutomationRule.*``), at its place in the log."""
        kind = type(event).__qualname__.removeprefix(RULE_EVENTS)
        rule_id: UUID = event.originator_id
        current = self.rules.get(rule_id)
        if kind == "Created":
            data = {
                **vars(event),
                "id": str(rule_id),
                "created_at": event.at.isoformat(),
                "made_at_position": position,
            }
            updated = readable(data)
        elif current is None:
            return
        elif kind == "Deleted":
            del self.rules[rule_id]
            self.deleted.add(rule_id)
            self.changed.discard(rule_id)
            self._index()
            return
        else:
            updated = _changed(current, kind, event)
        if updated is None:  # no longer readable: it takes no part, as if deleted
            self.rules.pop(rule_id, None)
            self.deleted.add(rule_id)
            self.changed.discard(rule_id)
            self._index()
            return
        self.rules[rule_id] = updated
        if updated.enabled and (
            current is None or not current.enabled or current.definition != updated.definition
        ):
            self.newly_on.add(rule_id)
        self.changed.add(rule_id)
        self.deleted.discard(rule_id)
        self._index()


def _changed(rule: Rule, kind: str, event: Any) -> Rule | None:
    if kind == "Renamed":
        return evolve(rule, name=event.name)
    if kind == "Enabled":
        return evolve(rule, enabled=True)
    if kind == "Disabled":
        return evolve(rule, enabled=False)
    if kind == "Moved":
        return evolve(rule, position=event.position)
    if kind == "Redefined":
        data = {**rule.as_data(), **_definition_fields(event)}
        return readable(data)
    return rule


def _definition_fields(event: Any) -> dict[str, Any]:
    return {
        "trigger": str(event.trigger),
        "after_seconds": event.after_seconds,
        "conditions": event.conditions,
        "actions": event.actions,
    }


def readable(data: dict[str, Any]) -> Rule | None:
    """A rule as stored; one this code can no longer read takes no part (and is not lost:
    its events are still in the log)."""
    data = {**data, "trigger": str(data["trigger"])}
    try:
        return Rule.from_data(data)
    except (InvalidInput, KeyError, ValueError):
        return None
