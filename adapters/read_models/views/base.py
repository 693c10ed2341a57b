"""What every view is: tables made from DDL, and handlers named by event type."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from psycopg import Cursor

Handler = Callable[[Any, Cursor[Any], Any, int], None]
F = TypeVar("F", bound=Handler)


def handles(*event_types: str) -> Callable[[F], F]:
    """Mark a method as the handler of events whose class is named ``Aggregate.Event``."""

    def mark(method: F) -> F:
        method.__handles__ = event_types  # type: ignore[attr-defined]
        return method

    return mark


def event_type(event: object) -> str:
    return type(event).__qualname__


class View(ABC):
    """A read model. ``suffix`` names a second copy of its tables, for rebuilds aside."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    # The shape of its tables: bump it with any change to them (columns, their order, types,
    # indexes) or to what the handlers write. A database whose view was built by another
    # version rebuilds it from the log on the next start.
    version: ClassVar[int]
    _handlers: ClassVar[dict[str, Handler]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = {
            event_name: member
            for member in cls.__dict__.values()
            for event_name in getattr(member, "__handles__", ())
        }

    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix

    def t(self, table: str) -> str:
        """The physical name of one of this view's tables."""
        return f"{table}{self.suffix}"

    @abstractmethod
    def ddl(self) -> Sequence[str]:
        """Statements that create this view's tables and indexes if they are missing."""

    def handles(self, event_name: str) -> bool:
        """Whether this view handles events of this type (``Aggregate.Event``)."""
        return event_name in self._handlers

    def apply(self, cur: Cursor[Any], event: object, position: int) -> None:
        handler = self._handlers.get(event_type(event))
        if handler is not None:
            handler(self, cur, event, position)
