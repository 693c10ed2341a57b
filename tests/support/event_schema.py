"""The shape of every stored event, as the lock file records it, and what a change needs.

Stored events are forever: a field added, removed, renamed or retyped at the same
``class_version`` makes events already in the log unreadable, or read wrong. The lock
(tests/unit/stored_events.lock) lists every event type the aggregates in ``domain/``
store, with its topic, version and fields; ``problems`` compares the code with it and
says what to do. Snapshots hold an aggregate's own attributes, versioned by the
aggregate's ``class_version``, so each snapshotted aggregate has a line too.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import textwrap
import types
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from attrs import frozen
from eventsourcing import domain as library
from eventsourcing.domain import Aggregate, CanInitAggregate, CanMutateAggregate
from eventsourcing.utils import construct_topic

import domain
from domain.aggregate import DeskAggregate
from domain.handlers.base import DeskBase

LOCK = Path(__file__).parent.parent / "unit" / "stored_events.lock"
WRITE = "python -m tests.unit.test_event_schema --write"
HEADER = f"""\
# Every event type zalodesk stores: topic, class_version, fields (name: type).
# Enum fields list the words they are stored as. "snapshot" lines are the
# attributes an aggregate's snapshot holds, versioned by the aggregate's class_version.
# Never edit by hand. After a deliberate change (new version and upcaster, see
# domain/EVENTS.md), record it with: {WRITE}
"""
# The library's envelope, the same on every event: never part of an event's own shape.
ENVELOPE = frozenset(get_type_hints(Aggregate.Created))
LINE = re.compile(r"^(?P<key>(?:snapshot )?\S+) v(?P<version>\d+) \((?P<fields>.*)\)$")
ENUM = re.compile(r"(\w+)\{([^}]*)\}")


@frozen
class Shape:
    """One stored event type (or one aggregate's snapshots) as the lock records it."""

    key: str  # the topic, or "snapshot " and the aggregate's topic
    version: int
    fields: tuple[str, ...]  # "name: type" for events, "name" for snapshot attributes
    missing_upcasts: tuple[str, ...] = ()

    def line(self) -> str:
        return f"{self.key} v{self.version} ({'; '.join(self.fields)})"

    def by_name(self) -> dict[str, str]:
        return {f.partition(": ")[0]: f.partition(": ")[2] for f in self.fields}


# What the code says


def aggregates() -> list[type[Aggregate]]:
    """Every aggregate class in ``domain/``, found by importing each of its modules."""
    for module in pkgutil.walk_packages(domain.__path__, f"{domain.__name__}."):
        importlib.import_module(module.name)
    found = [
        cls
        for cls in _subclasses(Aggregate)
        if cls.__module__.startswith(f"{domain.__name__}.") and cls is not DeskAggregate
    ]
    return sorted(found, key=construct_topic)


def stored_event_classes(aggregate: type[Aggregate]) -> list[type[Any]]:
    """The events this aggregate records: its created event and every other event class.

    The library defines a ``Created`` class on every aggregate whether or not it is used;
    the one used is the class its ``@event`` on ``__init__`` names, which only the
    library's own registry (9.5.x) tells.
    """
    created = list(library._created_event_classes[aggregate])
    others = [
        value
        for value in vars(aggregate).values()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and not issubclass(value, CanInitAggregate)
        and value is not aggregate.Event
    ]
    return [*created, *others]


def event_shape(event_class: type[Any]) -> Shape:
    hints = get_type_hints(event_class)
    version = getattr(event_class, "class_version", 1)
    return Shape(
        key=construct_topic(event_class),
        version=version,
        fields=tuple(
            f"{name}: {type_text(t)}" for name, t in hints.items() if name not in ENVELOPE
        ),
        missing_upcasts=_missing_upcasts(event_class, version),
    )


def snapshot_shape(aggregate: type[Aggregate]) -> Shape:
    version = getattr(aggregate, "class_version", 1)
    return Shape(
        key=f"snapshot {construct_topic(aggregate)}",
        version=version,
        fields=tuple(sorted(state_attributes(aggregate))),
        missing_upcasts=_missing_upcasts(aggregate, version),
    )


def current_shapes() -> list[Shape]:
    shapes = [event_shape(e) for a in aggregates() for e in stored_event_classes(a)]
    snapshotted = [a for a in aggregates() if a in DeskBase.snapshotting_intervals]
    shapes += [snapshot_shape(a) for a in snapshotted]
    return sorted(shapes, key=lambda s: s.key)


def state_attributes(aggregate: type[Aggregate]) -> set[str]:
    """The attributes the aggregate's methods set on ``self``: what a snapshot holds."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(aggregate)))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


def type_text(t: Any) -> str:
    """``UUID | None``, ``list[dict[str, Any]]``, ``ReplyStatus{queued,sent,...}``."""
    if isinstance(t, type) and issubclass(t, Enum):
        return f"{t.__name__}{{{','.join(str(m.value) for m in t)}}}"
    if t is type(None):
        return "None"
    if t is Any:
        return "Any"
    origin, args = get_origin(t), get_args(t)
    if isinstance(t, types.UnionType) or origin is Union:
        return " | ".join(type_text(a) for a in args)
    if origin is not None:
        return f"{origin.__name__}[{', '.join(type_text(a) for a in args)}]"
    return t.__name__ if isinstance(t, type) else repr(t)


# The lock


def read_lock(path: Path = LOCK) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        found = LINE.match(line)
        if found is None:
            continue
        fields = tuple(f for f in found["fields"].split("; ") if f)
        shapes[found["key"]] = Shape(found["key"], int(found["version"]), fields)
    return shapes


def write_lock(shapes: Iterable[Shape], path: Path = LOCK) -> None:
    path.write_text(HEADER + "".join(f"{s.line()}\n" for s in shapes), encoding="utf-8")


# The comparison


def problems(current: Iterable[Shape], locked: dict[str, Shape]) -> list[str]:
    """What is wrong between the code and the lock, each with what to do about it."""
    found: list[str] = []
    keys = set()
    for shape in current:
        keys.add(shape.key)
        found += upcast_problems(shape)
        old = locked.get(shape.key)
        if old is None:
            found.append(
                f"{shape.key} v{shape.version} is not in the lock: a new stored event type. "
                f"Record it with: {WRITE}"
            )
        elif shape.version < old.version:
            found.append(
                f"{shape.key} went back from v{old.version} to v{shape.version}: the log may "
                f"hold v{old.version} events, and versions never go back."
            )
        elif shape.version > old.version:
            found.append(
                f"{shape.key} is v{shape.version} in the code but v{old.version} in the lock. "
                f"Once its upcasters are written and tested, record it with: {WRITE}"
            )
        elif shape.fields != old.fields:
            found += _same_version_change(shape, old)
    for key in sorted(set(locked) - keys):
        found.append(
            f"{key} is in the lock but no class has this topic now: events stored under it "
            "could no longer be read. Keep the class, or register its old topic with "
            "eventsourcing.utils.register_topic; if it was never stored anywhere, "
            f"drop it with: {WRITE}"
        )
    return found


def _same_version_change(shape: Shape, old: Shape) -> list[str]:
    now, before = shape.by_name(), old.by_name()
    if now == before:  # the same fields in another order: the stored state is the same
        return [f"{shape.key}: its fields were reordered; record the new order with: {WRITE}"]
    if now.keys() == before.keys() and all(_more_words(before[name], now[name]) for name in now):
        return [
            f"{shape.key}: an enum field accepts new words; stored events still read. "
            f"Record them with: {WRITE}"
        ]
    changes = [f"added {name}" for name in now if name not in before]
    changes += [f"removed {name}" for name in before if name not in now]
    changes += [
        f"retyped {name} from {before[name]} to {now[name]}"
        for name in now
        if name in before and now[name] != before[name] and not _more_words(before[name], now[name])
    ]
    what = "snapshot attributes" if shape.key.startswith("snapshot ") else "fields"
    owner = (
        "the aggregate class"
        if shape.key.startswith("snapshot ")
        else "the event class (declared in the aggregate's body if @event generates it)"
    )
    step = f"upcast_v{shape.version}_v{shape.version + 1}"
    return [
        f"{shape.key} changed its {what} at v{shape.version} without a new class_version: "
        f"{'; '.join(changes)} (a rename is one removed and one added). The log keeps "
        f"events stored in the old shape. Set class_version = {shape.version + 1} on "
        f"{owner}, add a static method {step}(state) that turns an old state into the new "
        f"one, test it with an old state made by hand (domain/EVENTS.md), then record "
        f"it with: {WRITE}"
    ]


def _more_words(before: str, now: str) -> bool:
    """The same type, but an enum in it gained words and lost none."""
    if ENUM.sub(r"\1{}", before) != ENUM.sub(r"\1{}", now):
        return False
    return all(
        set(old.split(",")) <= set(new.split(","))
        for (_, old), (_, new) in zip(ENUM.findall(before), ENUM.findall(now), strict=True)
    )


def upcast_problems(shape: Shape) -> list[str]:
    return [
        f"{shape.key} is v{shape.version} but has no {name}: events stored before that "
        f"version could not be read. Add @staticmethod {name}(state) (domain/EVENTS.md)."
        for name in shape.missing_upcasts
    ]


def _missing_upcasts(cls: type[Any], version: int) -> tuple[str, ...]:
    steps = (f"upcast_v{n}_v{n + 1}" for n in range(1, version))
    return tuple(name for name in steps if not callable(getattr(cls, name, None)))


def _subclasses(cls: type[Any]) -> set[type[Any]]:
    direct = set(cls.__subclasses__())
    return direct.union(*(_subclasses(sub) for sub in direct))
