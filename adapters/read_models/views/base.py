"""What every view is: tables made from DDL, and handlers named by event type."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from psycopg import Cursor

Handler = Callable[[Any, Cursor[Any], Any, int], None]
F = TypeVar("F", bound=Handler)
# Event type (``Aggregate.Event``) -> the columns that event sets, from its fields.
Updates = Mapping[str, Callable[[Any], Mapping[str, Any]]]


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

    def index(self, table: str, name: str, columns: str, where: str = "") -> str:
        """The statement that creates an index on one of this view's tables, if missing:
        on ``columns``, of the rows that match ``where`` if it is given."""
        physical = self.t(table)
        partial = f" WHERE {where}" if where else ""
        return f"CREATE INDEX IF NOT EXISTS {physical}_{name} ON {physical} ({columns}){partial}"

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


class RowsView(View):
    """A view of one table holding a row per aggregate, keyed by the aggregate's id: its
    handlers insert the row, change some of its columns, or delete it."""

    key: ClassVar[str]  # the column that holds the aggregate's id
    columns: ClassVar[str]  # the table's columns, as CREATE TABLE takes them
    # The events that change the row: the columns each sets, besides ``updated_at``.
    updates: ClassVar[Updates] = {}
    # The events that delete the row.
    deleted_by: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for event_name, columns in cls.updates.items():
            cls._handlers[event_name] = _updating(columns)
        for event_name in cls.deleted_by:
            cls._handlers[event_name] = _deleting

    @property
    def table(self) -> str:
        [table] = self.tables
        return self.t(table)

    def ddl(self) -> Sequence[str]:
        return [f"CREATE TABLE IF NOT EXISTS {self.table} ({self.columns})"]

    def _insert(self, cur: Cursor[Any], e: Any, **columns: Any) -> None:
        """The row of ``e``'s aggregate, unless a replay wrote it already: these columns
        (named here, never by data)."""
        names = ", ".join((self.key, *columns))
        marks = ", ".join(["%s"] * (1 + len(columns)))
        cur.execute(
            f"""INSERT INTO {self.table} ({names}) VALUES ({marks})
                ON CONFLICT ({self.key}) DO NOTHING""",
            (e.originator_id, *columns.values()),
        )

    def _set(self, cur: Cursor[Any], e: Any, **columns: Any) -> None:
        """The row changed at ``e.at``: these columns and ``updated_at``."""
        assignments = "".join(f", {column} = %s" for column in columns)
        cur.execute(
            f"UPDATE {self.table} SET updated_at = %s{assignments} WHERE {self.key} = %s",
            (e.at, *columns.values(), e.originator_id),
        )

    def _delete(self, cur: Cursor[Any], e: Any) -> None:
        cur.execute(f"DELETE FROM {self.table} WHERE {self.key} = %s", (e.originator_id,))


def _updating(columns: Callable[[Any], Mapping[str, Any]]) -> Handler:
    def update(view: RowsView, cur: Cursor[Any], e: Any, position: int) -> None:
        view._set(cur, e, **columns(e))

    return update


def _deleting(view: RowsView, cur: Cursor[Any], e: Any, position: int) -> None:
    view._delete(cur, e)
