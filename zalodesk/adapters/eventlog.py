"""The event log as operators see it: read with positions, exported and imported as JSON lines.

An exported file holds one JSON object per line, in log order::

    {"position":17,"originator_id":"…","version":3,"type":"Chat.Ended",
     "topic":"zalodesk.domain.chat:Chat.Ended","time":"2026-11-24T10:00:00.123456+00:00",
     "data":{"reason":"agent","status":null,"actor":"agent:lan","at":"2026-…+00:00"}}

and ends with ``{"end":true,"events":N}``, so that a file cut short at a line
boundary is recognised as truncated. ``data`` is the event's own fields as the
current event class has them (old versions are upcast on the way out). Ids and
times that the event class declares as such are plain strings; any other id or
time (inside a dictionary, say) keeps the library's ``{"_type_","_data_"}`` tag,
so an import rebuilds exactly the same events. Secrets (SECRET_FIELDS, also
inside ``ZaloAccount.Updated.changes``) are written as ``"[redacted]"`` unless
asked for.

An import validates the whole file first, then writes every event in one
transaction through the target's own mapper (so the cipher key may differ), with
the same positions, ids, versions and topics, into an empty store only.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol
from uuid import UUID

from attrs import frozen
from eventsourcing.application import Application
from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from psycopg_pool import ConnectionPool

from zalodesk.adapters.timefmt import iso
from zalodesk.domain.account import SECRET_FIELDS

ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp"})
REDACTED = "[redacted]"
PAGE = 2000
DOMAIN_TOPICS = "zalodesk.domain."


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


class LogFormatError(ValueError):
    """A line of an exported file that cannot be imported."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(f"line {line}: {why}")
        self.line = line


class StoreNotEmpty(RuntimeError):
    """Import loads only into an empty store."""


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


def redact(fields: dict[str, Any]) -> dict[str, Any]:
    redacted = {k: REDACTED if k in SECRET_FIELDS else v for k, v in fields.items()}
    changes = fields.get("changes")
    if isinstance(changes, dict):
        redacted["changes"] = {k: REDACTED if k in SECRET_FIELDS else v for k, v in changes.items()}
    return redacted


def to_json(value: Any) -> Any:
    """JSON-safe, as the API writes values: ids as strings, times as API.md's ISO strings."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def event_time(event: Any) -> datetime:
    at = getattr(event, "at", None)
    return at if isinstance(at, datetime) else event.timestamp


def api_entry(entry: LoggedEvent) -> dict[str, Any]:
    """One event as ``/api/audit`` and ``/api/events`` show it; secrets always redacted."""
    event = entry.event
    return {
        "position": entry.position,
        "type": event_type(event),
        "actor": getattr(event, "actor", None),
        "at": iso(event_time(event)),
        "data": to_json(redact(event_fields(event))),
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

    def last_before(self, position: int, topic: str, window: int) -> LoggedEvent | None:
        """The nearest event with this topic among the ``window`` positions before ``position``."""
        found = self._select(
            "topic = %s AND notification_id < %s AND notification_id >= %s "
            "ORDER BY notification_id DESC LIMIT 1",
            (topic, position, position - window),
        )
        return found[0] if found else None

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


# Export


def export_log(
    log: EventLog,
    out: IO[bytes],
    after: int = 0,
    include_secrets: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write the log after position ``after`` as JSON lines; returns how many events."""
    progress = progress or NoProgress()
    upto = log.head()
    progress.start(log.count(after, upto), "exporting")
    written = 0
    for entries in log.pages(after, upto):
        out.write(b"".join(export_line(e, include_secrets) for e in entries))
        written += len(entries)
        progress.advance(len(entries))
    out.write(_dumps({"end": True, "events": written}))
    progress.finish()
    return written


def export_line(entry: LoggedEvent, include_secrets: bool = False) -> bytes:
    event = entry.event
    fields = event_fields(event)
    typed = typed_fields(type(event))
    record = {
        "position": entry.position,
        "originator_id": str(event.originator_id),
        "version": event.originator_version,
        "type": event_type(event),
        "topic": get_topic(type(event)),
        "time": event.timestamp.isoformat(),
        "data": {
            name: _plain(value) if isinstance(value, typed.get(name, ())) else _tagged(value)
            for name, value in (fields if include_secrets else redact(fields)).items()
        },
    }
    return _dumps(record)


def _dumps(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


_TYPED: dict[type, dict[str, type]] = {}


def typed_fields(cls: type) -> dict[str, type]:
    """The fields the event class declares as an id or a time (optional or not)."""
    if cls not in _TYPED:
        hints = typing.get_type_hints(cls)
        kinds = {name: _scalar_kind(hint) for name, hint in hints.items() if name not in ENVELOPE}
        _TYPED[cls] = {name: kind for name, kind in kinds.items() if kind is not None}
    return _TYPED[cls]


def _scalar_kind(hint: Any) -> type | None:
    if hint in (UUID, datetime):
        return typing.cast(type, hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        kinds = {a for a in typing.get_args(hint) if a is not type(None)}
        if len(kinds) == 1 and kinds <= {UUID, datetime}:
            return typing.cast(type, kinds.pop())
    return None


def _plain(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _tagged(value: Any) -> Any:
    """Ids and times where the class does not declare them keep the library's tags."""
    if isinstance(value, UUID):
        return {"_type_": "uuid_hex", "_data_": value.hex}
    if isinstance(value, datetime):
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}
    if isinstance(value, dict):
        return {k: _tagged(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tagged(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot export a {type(value).__name__} value")


# Import


def import_log(
    log: EventLog,
    path: Path,
    allow_redacted: bool = False,
    progress: Progress | None = None,
) -> int:
    """Check the whole file, then store every event in one transaction; returns how many."""
    progress = progress or NoProgress()
    with log.pool.connection() as conn:
        _require_empty(conn, log)
    reader = LogReader(log.app, allow_redacted)
    progress.start(_line_count(path), "checking")
    total = _counted(reader.events(path), progress)
    progress.finish()
    progress.start(total, "importing")
    with log.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute(f"LOCK TABLE {log.table} IN EXCLUSIVE MODE")
        _require_empty(conn, log)
        last = _copy(cur, log.table, reader.stored_events(path), progress)
        if last:
            cur.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
                (log.table, last),
            )
        cur.execute(f"NOTIFY {log.table}")
    progress.finish()
    return total


def _require_empty(conn: Any, log: EventLog) -> None:
    for table in (log.table, snapshots_table(log.app)):
        row = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) t").fetchone()
        if row and row[0]:
            raise StoreNotEmpty(
                f"the event store is not empty ({table} has rows); "
                "import loads only into an empty store"
            )


def _line_count(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def _counted(rows: Iterator[tuple[int, Any]], progress: Progress) -> int:
    count = 0
    for count, _ in enumerate(rows, 1):
        if count % PAGE == 0:
            progress.advance(PAGE)
    return count


def _copy(cur: Any, table: str, rows: Iterator[tuple[int, StoredEvent]], progress: Progress) -> int:
    last = 0
    columns = "originator_id, originator_version, topic, state, notification_id"
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["uuid", "int8", "text", "bytea", "int8"])
        for count, (position, stored) in enumerate(rows, 1):
            copy.write_row(
                (
                    stored.originator_id,
                    stored.originator_version,
                    stored.topic,
                    stored.state,
                    position,
                )
            )
            last = position
            if count % PAGE == 0:
                progress.advance(PAGE)
    return last


class LogReader:
    """Turns an exported file back into stored events, refusing it at the first fault."""

    def __init__(self, app: Application[Any], allow_redacted: bool) -> None:
        self.mapper = app.mapper
        self.allow_redacted = allow_redacted

    def stored_events(self, path: Path) -> Iterator[tuple[int, StoredEvent]]:
        for position, event in self.events(path):
            yield position, self.mapper.to_stored_event(event)

    def events(self, path: Path) -> Iterator[tuple[int, Any]]:
        """Every event of the file with its position, checked line by line."""
        versions: dict[UUID, int] = {}
        last_position, count, ended = 0, 0, False
        with path.open("rb") as lines:
            number = 0
            for number, raw in enumerate(lines, 1):
                if ended:
                    raise LogFormatError(number, "there is more after the end line")
                record = _parse(number, raw)
                if "end" in record:
                    _check_end(number, record, count)
                    ended = True
                    continue
                position, event = self._event(number, record)
                if position <= last_position:
                    raise LogFormatError(
                        number, f"position {position} is not after {last_position}"
                    )
                _check_version(number, event, versions)
                last_position, count = position, count + 1
                yield position, event
        if not ended:
            raise LogFormatError(number + 1, "the file ends without its end line: it is truncated")

    def _event(self, number: int, record: dict[str, Any]) -> tuple[int, Any]:
        _check_shape(number, record)
        cls = _event_class(number, record)
        data = record["data"]
        if not self.allow_redacted and _redacted(data):
            raise LogFormatError(
                number,
                "its secrets were redacted at export; export again with --include-secrets "
                "(or import with --allow-redacted, and reconnect the accounts afterwards)",
            )
        state = {
            "originator_id": _uuid(number, "originator_id", record["originator_id"]),
            "originator_version": record["version"],
            "timestamp": _time(number, "time", record["time"]),
            **{k: _typed(number, cls, k, v) for k, v in data.items()},
        }
        _check_fields(number, cls, state)
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return record["position"], event


SHAPE: dict[str, type] = {
    "position": int,
    "originator_id": str,
    "version": int,
    "type": str,
    "topic": str,
    "time": str,
    "data": dict,
}


def _parse(number: int, raw: bytes) -> dict[str, Any]:
    try:
        record = json.loads(raw, object_hook=_untag)
    except (ValueError, UnicodeDecodeError) as ex:
        raise LogFormatError(number, f"not a JSON object ({ex})") from None
    if not isinstance(record, dict):
        raise LogFormatError(number, "not a JSON object")
    return record


def _untag(obj: dict[str, Any]) -> Any:
    if obj.keys() != {"_type_", "_data_"}:
        return obj
    if obj["_type_"] == "uuid_hex":
        return UUID(obj["_data_"])
    if obj["_type_"] == "datetime_iso":
        return datetime.fromisoformat(obj["_data_"])
    raise ValueError(f"unknown tag {obj['_type_']!r}")


def _check_end(number: int, record: dict[str, Any], count: int) -> None:
    if record != {"end": True, "events": count}:
        expected = json.dumps({"end": True, "events": count})
        raise LogFormatError(number, f"the end line should be {expected} (lines are missing)")


def _check_shape(number: int, record: dict[str, Any]) -> None:
    for key, kind in SHAPE.items():
        value = record.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise LogFormatError(number, f"{key} is missing or not a {kind.__name__}")
    if record["position"] < 1 or record["version"] < 1:
        raise LogFormatError(number, "position and version start at 1")


def _event_class(number: int, record: dict[str, Any]) -> type:
    topic = record["topic"]
    if not topic.startswith(DOMAIN_TOPICS):
        raise LogFormatError(number, f"topic {topic!r} is not a zalodesk domain event")
    try:
        cls = resolve_topic(topic)
    except Exception:
        raise LogFormatError(number, f"unknown event topic {topic!r}") from None
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise LogFormatError(number, f"topic {topic!r} is not an event class")
    if cls.__qualname__ != record["type"]:
        raise LogFormatError(number, f"type {record['type']!r} does not match topic {topic!r}")
    return cls


def _redacted(data: dict[str, Any]) -> bool:
    changes = data.get("changes")
    values = [data.get(k) for k in SECRET_FIELDS]
    if isinstance(changes, dict):
        values += [changes.get(k) for k in SECRET_FIELDS]
    return REDACTED in values


def _typed(number: int, cls: type, name: str, value: Any) -> Any:
    kind = typed_fields(cls).get(name)
    if kind is None or not isinstance(value, str):
        return value
    return _uuid(number, name, value) if kind is UUID else _time(number, name, value)


def _uuid(number: int, name: str, value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise LogFormatError(number, f"{name} is not an id: {value!r}") from None


def _time(number: int, name: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise LogFormatError(number, f"{name} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise LogFormatError(number, f"{name} has no time zone: {value!r}")
    return parsed


def _check_fields(number: int, cls: type, state: dict[str, Any]) -> None:
    expected = {f.name for f in dataclasses.fields(cls)}
    missing, unknown = expected - set(state), set(state) - expected
    if missing:
        raise LogFormatError(number, f"data lacks {', '.join(sorted(missing))}")
    if unknown:
        raise LogFormatError(number, f"data has unknown fields {', '.join(sorted(unknown))}")


def _check_version(number: int, event: Any, versions: dict[UUID, int]) -> None:
    originator: UUID = event.originator_id
    expected = versions.get(originator, 0) + 1
    if event.originator_version != expected:
        raise LogFormatError(
            number,
            f"{originator} version {event.originator_version} should be {expected}: "
            "the file does not hold this aggregate's whole history",
        )
    versions[originator] = expected
