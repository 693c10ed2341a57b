"""An automation rule, as an admin made it: changed only through events, so the audit
shows who created, renamed, redefined, enabled, disabled, moved or deleted it, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import event

from domain.aggregate import DeskAggregate, EnumAttribute
from domain.automation.definition import RuleDefinition, from_data
from domain.errors import InvalidInput
from domain.values import RuleTrigger

NAME_LENGTH = 200


def rule_name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise InvalidInput("name: must not be empty")
    if len(name) > NAME_LENGTH:
        raise InvalidInput(f"name: at most {NAME_LENGTH} characters")
    return name


class AutomationRule(DeskAggregate):
    """``position`` orders the rules: lower runs first, equal ones in the order they were made."""

    trigger = EnumAttribute(RuleTrigger)

    @event("Created")
    def __init__(
        self,
        name: str,
        enabled: bool,
        trigger: RuleTrigger,
        after_seconds: int | None,
        conditions: list[dict[str, Any]],
        actions: list[dict[str, Any]],
        position: int,
        actor: str,
        at: datetime,
    ) -> None:
        self.name = name
        self.enabled = enabled
        self.trigger = trigger
        self.after_seconds = after_seconds
        self.conditions = conditions
        self.actions = actions
        self.position = position
        self.deleted = False
        self.created_at = at
        self.updated_at = at

    @classmethod
    def make(
        cls, name: str, enabled: bool, rule: RuleDefinition, position: int, actor: str, at: datetime
    ) -> AutomationRule:
        data = rule.as_data()
        return cls(
            name=rule_name(name),
            enabled=enabled,
            trigger=rule.trigger,
            after_seconds=rule.after_seconds,
            conditions=data["conditions"],
            actions=data["actions"],
            position=position,
            actor=actor,
            at=at,
        )

    @property
    def definition(self) -> RuleDefinition:
        return from_data(self.definition_data())

    def definition_data(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger.value,
            "after_seconds": self.after_seconds,
            "conditions": self.conditions,
            "actions": self.actions,
        }

    def rename(self, name: str, actor: str, at: datetime) -> None:
        name = rule_name(name)
        if name != self.name:
            self._renamed(name=name, actor=actor, at=at)

    @event("Renamed")
    def _renamed(self, name: str, actor: str, at: datetime) -> None:
        self.name = name
        self.updated_at = at

    def redefine(self, rule: RuleDefinition, actor: str, at: datetime) -> None:
        """A new trigger, conditions or actions (the same again: nothing)."""
        data = rule.as_data()
        if data != self.definition_data():
            self._redefined(
                trigger=rule.trigger,
                after_seconds=rule.after_seconds,
                conditions=data["conditions"],
                actions=data["actions"],
                actor=actor,
                at=at,
            )

    @event("Redefined")
    def _redefined(
        self,
        trigger: RuleTrigger,
        after_seconds: int | None,
        conditions: list[dict[str, Any]],
        actions: list[dict[str, Any]],
        actor: str,
        at: datetime,
    ) -> None:
        self.trigger = trigger
        self.after_seconds = after_seconds
        self.conditions = conditions
        self.actions = actions
        self.updated_at = at

    def switch(self, enabled: bool, actor: str, at: datetime) -> None:
        if enabled and not self.enabled:
            self._enabled(actor=actor, at=at)
        elif not enabled and self.enabled:
            self._disabled(actor=actor, at=at)

    @event("Enabled")
    def _enabled(self, actor: str, at: datetime) -> None:
        self.enabled = True
        self.updated_at = at

    @event("Disabled")
    def _disabled(self, actor: str, at: datetime) -> None:
        self.enabled = False
        self.updated_at = at

    def move(self, position: int, actor: str, at: datetime) -> None:
        if position != self.position:
            self._moved(position=position, actor=actor, at=at)

    @event("Moved")
    def _moved(self, position: int, actor: str, at: datetime) -> None:
        self.position = position
        self.updated_at = at

    def delete(self, actor: str, at: datetime) -> None:
        if not self.deleted:
            self._deleted(actor=actor, at=at)

    @event("Deleted")
    def _deleted(self, actor: str, at: datetime) -> None:
        self.deleted = True
        self.updated_at = at
