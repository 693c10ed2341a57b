"""The event log as operators see it: each event with its position, decoded.

No event holds a secret (the credentials live in their own table), so nothing here
is redacted. Exports and imports of the log as JSON lines are in ``exporter`` and
``importer``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from attrs import frozen
from eventsourcing.application import Application
from eventsourcing.persistence import Notification, StoredEvent
from psycopg_pool import ConnectionPool

from adapters.json_data import map_leaves
from adapters.timefmt import iso

ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp"})
PAGE = 2000
DOMAIN_TOPICS = "domain."


@frozen
class LoggedEvent:
    """A domain event and its place in the log."""

    position: int
    event: Any


class Progress(Protocol):
    """Told how much work a phase has, then how much of it is done."""

    def start(self, total: int, doing: str) -> None: ...
    def advance(self, count: int) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, total: int, doing: str) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def finish(self) -> None:
        pass


def events_table(app: Application[Any]) -> str:
    return str(getattr(app.recorder, "events_table_name", f"{app.name.lower()}_events"))


def snapshots_table(app: Application[Any]) -> str:
    return f"{app.name.lower()}_snapshots"


# What an event says


def event_type(event: object) -> str:
    """``Chat.CustomerMessageReceived``: the aggregate and the event, as the views name them."""
    return type(event).__qualname__


def event_fields(event: object) -> dict[str, Any]:
    """The event's own fields: everything but its originator id, version and library timestamp."""
    return {k: v for k, v in vars(event).items() if k not in ENVELOPE}


def to_json(value: Any) -> Any:
    """JSON-safe, as the API writes values: ids as strings, times as the API's ISO strings."""
    return map_leaves(value, _json_leaf, key=str)


def _json_leaf(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    return value


def event_time(event: Any) -> datetime:
    at = getattr(event, "at", None)
    return at if isinstance(at, datetime) else event.timestamp


def api_entry(entry: LoggedEvent, actor_names: Mapping[str, str]) -> dict[str, Any]:
    """One event as ``/api/audit`` and ``/api/events`` show it, with the name of the token an
    agent acted with beside its id (``actor_names``: ``TokenStore.actor_names``)."""
    event = entry.event
    actor = getattr(event, "actor", None)
    return {
        "position": entry.position,
        "aggregate_id": str(event.originator_id),
        "type": event_type(event),
        "actor": actor,
        "actor_name": actor_names.get(actor or ""),
        "at": iso(event_time(event)),
        "data": to_json(event_fields(event)),
    }


# Reading


class EventLog:
    """The application's log, read with positions (notification ids)."""

    def __init__(self, app: Application[Any], pool: ConnectionPool[Any]) -> None:
        self.app = app
        self.pool = pool
        self.table = events_table(app)

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def count(self, after: int, upto: int) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT count(*) FROM {self.table} WHERE notification_id > %s "
                "AND notification_id <= %s",
                (after, upto),
            ).fetchone()
        return int(row[0]) if row else 0

    def notifications(self, after: int, limit: int, upto: int | None = None) -> list[Notification]:
        return list(
            self.app.recorder.select_notifications(
                start=after, limit=limit, stop=upto, inclusive_of_start=False
            )
        )

    def read(self, after: int, limit: int, upto: int | None = None) -> list[LoggedEvent]:
        return [
            LoggedEvent(n.id, self.app.mapper.to_domain_event(n))
            for n in self.notifications(after, limit, upto)
        ]

    def pages(self, after: int, upto: int, page: int = PAGE) -> Iterator[list[LoggedEvent]]:
        while after < upto:
            entries = self.read(after, page, upto)
            if not entries:
                return
            yield entries
            after = entries[-1].position

    def of_aggregates(self, ids: Sequence[UUID]) -> list[LoggedEvent]:
        """Every event of these aggregates, in log order."""
        return self._select("originator_id = ANY(%s) ORDER BY notification_id", (list(ids),))

    def _select(self, where: str, params: tuple[Any, ...]) -> list[LoggedEvent]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                f"FROM {self.table} WHERE {where}",
                params,
            ).fetchall()
        return [LoggedEvent(row[0], self._decode(row)) for row in rows]

    def _decode(self, row: Sequence[Any]) -> Any:
        stored = StoredEvent(
            originator_id=row[1], originator_version=row[2], topic=row[3], state=bytes(row[4])
        )
        return self.app.mapper.to_domain_event(stored)
