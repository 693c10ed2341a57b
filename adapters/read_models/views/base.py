"""What every view is: tables declared once, and handlers named by event type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from attrs import frozen
from psycopg import Cursor

Handler = Callable[[Any, Cursor[Any], Any, int], None]
F = TypeVar("F", bound=Handler)
# Event type (``Aggregate.Event``) -> the columns that event sets, from its fields.
Updates = Mapping[str, Callable[[Any], Mapping[str, Any]]]


@frozen
class Index:
    """An index of a view's table: on ``columns``, of the rows that match ``where`` if it is
    given. Its physical name is the table's with ``_name`` after it."""

    name: str
    columns: str
    where: str = ""

    def ddl(self, table: str) -> str:
        """The statement that creates it on the physical table ``table``, if missing."""
        partial = f" WHERE {self.where}" if self.where else ""
        return (
            f"CREATE INDEX IF NOT EXISTS {table}_{self.name} ON {table} ({self.columns}){partial}"
        )


@frozen
class Table:
    """One of a view's tables: its columns, as CREATE TABLE takes them, and its indexes."""

    name: str
    columns: str
    indexes: tuple[Index, ...] = ()


def handles(*event_types: str) -> Callable[[F], F]:
    """Mark a method as the handler of events whose class is named ``Aggregate.Event``."""

    def mark(method: F) -> F:
        method.__handles__ = event_types  # type: ignore[attr-defined]
        return method

    return mark


def event_type(event: object) -> str:
    return type(event).__qualname__


class View:
    """A read model. ``suffix`` names a second copy of its tables, for rebuilds aside."""

    name: ClassVar[str]
    schema: ClassVar[tuple[Table, ...]]
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

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(table.name for table in self.schema)

    def t(self, table: str) -> str:
        """The physical name of one of this view's tables."""
        return f"{table}{self.suffix}"

    def table_ddl(self) -> list[str]:
        """Statements that create this view's tables if they are missing."""
        return [
            f"CREATE TABLE IF NOT EXISTS {self.t(table.name)} ({table.columns})"
            for table in self.schema
        ]

    def index_ddl(self) -> list[str]:
        """Statements that create its tables' indexes if they are missing."""
        return [index.ddl(self.t(table.name)) for table in self.schema for index in table.indexes]

    def ddl(self) -> list[str]:
        """Statements that create this view's tables and indexes if they are missing."""
        return [*self.table_ddl(), *self.index_ddl()]

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

    table: ClassVar[str]  # the name of its one table
    key: ClassVar[str]  # the column that holds the aggregate's id, the table's primary key
    columns: ClassVar[str]  # the table's other columns, as CREATE TABLE takes them
    # The events that change the row: the columns each sets, besides ``updated_at``.
    updates: ClassVar[Updates] = {}
    # The events that delete the row.
    deleted_by: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.schema = (Table(cls.table, f"{cls.key} uuid PRIMARY KEY,{cls.columns}"),)
        for event_name, columns in cls.updates.items():
            cls._handlers[event_name] = _updating(columns)
        for event_name in cls.deleted_by:
            cls._handlers[event_name] = _deleting

    def _insert(self, cur: Cursor[Any], e: Any, **columns: Any) -> None:
        """The row of ``e``'s aggregate, unless a replay wrote it already: these columns
        (named here, never by data)."""
        names = ", ".join((self.key, *columns))
        marks = ", ".join(["%s"] * (1 + len(columns)))
        cur.execute(
            f"""INSERT INTO {self.t(self.table)} ({names}) VALUES ({marks})
                ON CONFLICT ({self.key}) DO NOTHING""",
            (e.originator_id, *columns.values()),
        )

    def _set(self, cur: Cursor[Any], e: Any, **columns: Any) -> None:
        """The row changed at ``e.at``: these columns and ``updated_at``."""
        assignments = "".join(f", {column} = %s" for column in columns)
        cur.execute(
            f"UPDATE {self.t(self.table)} SET updated_at = %s{assignments} WHERE {self.key} = %s",
            (e.at, *columns.values(), e.originator_id),
        )

    def _delete(self, cur: Cursor[Any], e: Any) -> None:
        cur.execute(f"DELETE FROM {self.t(self.table)} WHERE {self.key} = %s", (e.originator_id,))


def _updating(columns: Callable[[Any], Mapping[str, Any]]) -> Handler:
    def update(view: RowsView, cur: Cursor[Any], e: Any, position: int) -> None:
        view._set(cur, e, **columns(e))

    return update


def _deleting(view: RowsView, cur: Cursor[Any], e: Any, position: int) -> None:
    view._delete(cur, e)
