"""What a rule says: its trigger, its conditions and its actions, checked part by part.

A rule comes in as plain data (JSON from an admin, or an event's fields) and is read
into values here. Anything wrong is refused with ``InvalidInput`` naming the part:
``conditions[1].value: ...``. ``as_data`` gives back the stored form: the same words,
in a fixed shape, so a rule reads the same in the API, the events and the audit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

import attrs
from attrs import frozen

from domain.errors import InvalidInput
from domain.reply import validate_text
from domain.values import (
    TIME_TRIGGERS,
    Channel,
    ConditionField,
    ConditionOp,
    MessageKind,
    RuleActionType,
    RuleTrigger,
    TicketStatus,
)

MAX_CONDITIONS = 50
MAX_ACTIONS = 20
MAX_AFTER_SECONDS = 366 * 24 * 3600
MAX_WORD = 200  # a tag or an agent's name

E = TypeVar("E", bound=StrEnum)
Value = str | None | tuple[str | None, ...]


def _words(enum: type[Any]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


def _member(enum: type[E], value: Any, where: str, unknown: str) -> E:
    """``value`` as one of ``enum``'s words; ``unknown`` says what a wrong one is ({!r}: it)."""
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(_words(enum))
        raise InvalidInput(f"{where}: {unknown.format(value)}; one of {allowed}") from None


@frozen
class FieldSpec:
    """Which operators a field takes, and which values (None: any text)."""

    ops: frozenset[ConditionOp]
    words: tuple[str, ...] | None = None
    nullable: bool = False
    is_list: bool = False
    is_id: bool = False


SCALAR_OPS = frozenset({ConditionOp.EQ, ConditionOp.NE, ConditionOp.IN})
ALL_OPS = frozenset(ConditionOp)
FIELDS: dict[ConditionField, FieldSpec] = {
    ConditionField.CHANNEL: FieldSpec(SCALAR_OPS, _words(Channel)),
    ConditionField.ACCOUNT_ID: FieldSpec(SCALAR_OPS, is_id=True),
    ConditionField.STATUS: FieldSpec(SCALAR_OPS, _words(TicketStatus)),
    ConditionField.MESSAGE_TEXT: FieldSpec(ALL_OPS),
    ConditionField.MESSAGE_KIND: FieldSpec(SCALAR_OPS, _words(MessageKind)),
    ConditionField.TAGS: FieldSpec(ALL_OPS, is_list=True),
    ConditionField.ASSIGNEE: FieldSpec(ALL_OPS, nullable=True),
}

# The keys each action takes beside ``type``, and whether each is required.
ACTION_KEYS: dict[RuleActionType, dict[str, bool]] = {
    RuleActionType.END_CHAT: {"status": False},
    RuleActionType.SET_STATUS: {"status": True},
    RuleActionType.ADD_TAG: {"tag": True},
    RuleActionType.ASSIGN: {"agent": True},
    RuleActionType.REPLY: {"text": True},
}


def _fold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None


@frozen
class Condition:
    """``field op value``. Text is compared without regard to case."""

    field: ConditionField
    op: ConditionOp
    value: Value
    # The value as compared: text case-folded, a list as a set.
    folded: Any = attrs.field(eq=False, repr=False, default=None)

    def as_data(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"field": self.field.value, "op": self.op.value, "value": value}


@frozen
class RuleAction:
    type: RuleActionType
    status: TicketStatus | None = None
    tag: str = ""
    agent: str = ""
    text: str = ""

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type.value}
        for key in ACTION_KEYS[self.type]:
            value = getattr(self, key)
            data[key] = value.value if isinstance(value, TicketStatus) else value
        return data


@frozen
class RuleDefinition:
    trigger: RuleTrigger
    after_seconds: int | None
    conditions: tuple[Condition, ...]
    actions: tuple[RuleAction, ...]

    @property
    def is_timed(self) -> bool:
        return self.trigger in TIME_TRIGGERS

    def as_data(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger.value,
            "after_seconds": self.after_seconds,
            "conditions": [c.as_data() for c in self.conditions],
            "actions": [a.as_data() for a in self.actions],
        }


def definition(trigger: Any, after_seconds: Any, conditions: Any, actions: Any) -> RuleDefinition:
    """The rule's definition from plain data, or ``InvalidInput`` naming what is wrong."""
    chosen = _trigger(trigger)
    return RuleDefinition(
        trigger=chosen,
        after_seconds=_after_seconds(chosen, after_seconds),
        conditions=tuple(_conditions(conditions)),
        actions=tuple(_actions(actions)),
    )


def from_data(data: Mapping[str, Any]) -> RuleDefinition:
    """A definition stored by ``as_data`` (in an event, or a worker's table)."""
    return definition(
        data.get("trigger"), data.get("after_seconds"), data.get("conditions"), data.get("actions")
    )


def _trigger(value: Any) -> RuleTrigger:
    if not isinstance(value, str):
        raise InvalidInput(f"trigger: is required, one of {', '.join(_words(RuleTrigger))}")
    return _member(RuleTrigger, value, "trigger", "unknown trigger {!r}")


def _after_seconds(trigger: RuleTrigger, value: Any) -> int | None:
    if trigger not in TIME_TRIGGERS:
        if value is not None:
            raise InvalidInput(
                f"after_seconds: only the time triggers ({', '.join(sorted(TIME_TRIGGERS))}) "
                f"take it, not {trigger.value}"
            )
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"after_seconds: {trigger.value} needs a whole number of seconds")
    if not 1 <= value <= MAX_AFTER_SECONDS:
        raise InvalidInput(f"after_seconds: must be from 1 to {MAX_AFTER_SECONDS}, not {value}")
    return value


def _list(value: Any, name: str, most: int) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{name}: must be a list")
    if len(value) > most:
        raise InvalidInput(f"{name}: at most {most}, not {len(value)}")
    return value


def _object(value: Any, where: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: must be an object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise InvalidInput(
            f"{where}: unknown key {', '.join(unknown)} (it takes {', '.join(sorted(keys))})"
        )
    return value


def _conditions(value: Any) -> list[Condition]:
    return [
        _condition(item, f"conditions[{n}]")
        for n, item in enumerate(_list(value, "conditions", MAX_CONDITIONS))
    ]


def _condition(item: Any, where: str) -> Condition:
    data = _object(item, where, {"field", "op", "value"})
    chosen = _member(ConditionField, data.get("field"), f"{where}.field", "unknown field {!r}")
    spec = FIELDS[chosen]
    op = _member(ConditionOp, data.get("op"), f"{where}.op", "unknown operator {!r}")
    if op not in spec.ops:
        usable = ", ".join(o.value for o in ConditionOp if o in spec.ops)
        raise InvalidInput(f"{where}.op: {op.value} does not apply to {chosen.value}; use {usable}")
    if "value" not in data:
        raise InvalidInput(f"{where}.value: is required")
    value = _condition_value(chosen, spec, op, data["value"], f"{where}.value")
    return Condition(chosen, op, value, _folded(value))


def _condition_value(
    name: ConditionField, spec: FieldSpec, op: ConditionOp, raw: Any, where: str
) -> Value:
    # A list field compares whole lists with eq and ne; every field takes a list with in.
    wants_list = op == ConditionOp.IN or (spec.is_list and op in (ConditionOp.EQ, ConditionOp.NE))
    if wants_list:
        if not isinstance(raw, list) or (op == ConditionOp.IN and not raw):
            raise InvalidInput(
                f"{where}: {name.value} {op.value} needs a{' non-empty' if op == 'in' else ''} list"
            )
        return tuple(_one_value(name, spec, item, f"{where}[{n}]") for n, item in enumerate(raw))
    return _one_value(name, spec, raw, where)


def _one_value(name: ConditionField, spec: FieldSpec, raw: Any, where: str) -> str | None:
    if raw is None and spec.nullable:
        return None
    if not isinstance(raw, str):
        kind = "a string or null" if spec.nullable else "a string"
        raise InvalidInput(f"{where}: {name.value} needs {kind}, not {type(raw).__name__}")
    if spec.words is not None and raw not in spec.words:
        raise InvalidInput(
            f"{where}: {name.value} {raw!r} does not exist; one of {', '.join(spec.words)}"
        )
    if spec.is_id:
        try:
            return str(UUID(raw))
        except ValueError:
            raise InvalidInput(f"{where}: {name.value} needs an id, not {raw!r}") from None
    return raw


def _folded(value: Value) -> Any:
    if isinstance(value, tuple):
        return frozenset(_fold(v) for v in value)
    return _fold(value)


def _actions(value: Any) -> list[RuleAction]:
    items = _list(value, "actions", MAX_ACTIONS)
    if not items:
        raise InvalidInput("actions: a rule needs at least one action")
    return [_action(item, f"actions[{n}]") for n, item in enumerate(items)]


def _action(item: Any, where: str) -> RuleAction:
    if not isinstance(item, dict):
        raise InvalidInput(f"{where}: must be an object")
    kind = _member(RuleActionType, item.get("type"), f"{where}.type", "unknown action {!r}")
    keys = ACTION_KEYS[kind]
    data = _object(item, where, {"type", *keys})
    for key, required in keys.items():
        if required and data.get(key) is None:
            raise InvalidInput(f"{where}.{key}: {kind.value} needs {key}")
    return RuleAction(
        type=kind,
        status=_status(data.get("status"), f"{where}.status"),
        tag=_word(data.get("tag"), f"{where}.tag"),
        agent=_word(data.get("agent"), f"{where}.agent"),
        text=_text(data.get("text"), f"{where}.text"),
    )


def _status(value: Any, where: str) -> TicketStatus | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: needs a status, one of {', '.join(_words(TicketStatus))}")
    return _member(TicketStatus, value, where, "status {!r} does not exist")


def _word(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{where}: needs a non-empty string")
    if len(value.strip()) > MAX_WORD:
        raise InvalidInput(f"{where}: at most {MAX_WORD} characters")
    return value.strip()


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: needs a string")
    try:
        return validate_text(value)
    except InvalidInput as ex:
        raise InvalidInput(f"{where}: {ex}") from None
