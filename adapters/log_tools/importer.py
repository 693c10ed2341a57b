"""Loading an exported log into an empty store.

An import validates the whole file first, then writes every event in one
transaction through the target's own mapper (so the cipher key may differ), with
the same positions, ids, versions and topics, into an empty store only. The
accounts' credentials in the file go into the credential store in the same
transaction, encrypted with this installation's key. A file that connects an
account without its credentials (exported without ``--include-secrets``) is
refused unless ``allow_redacted``: such accounts must be reconnected afterwards.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from attrs import frozen
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from adapters.log_tools.event_log import (
    DOMAIN_TOPICS,
    PAGE,
    EventLog,
    NoProgress,
    Progress,
    event_type,
    snapshots_table,
)
from adapters.log_tools.exporter import typed_fields
from adapters.postgres.credentials import Credentials, CredentialStore

CREDENTIAL_FIELDS = ("app_secret", "oa_secret_key", "access_token", "refresh_token")


class LogFormatError(ValueError):
    """A line of an exported file that cannot be imported."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(f"line {line}: {why}")
        self.line = line


class StoreNotEmpty(RuntimeError):
    """Import loads only into an empty store."""


@frozen
class Imported:
    events: int
    credentials: int
    to_reconnect: tuple[UUID, ...]  # accounts that came without their credentials


def import_log(
    log: EventLog,
    path: Path,
    secrets: CredentialStore,
    allow_redacted: bool = False,
    progress: Progress | None = None,
) -> Imported:
    """Check the whole file, then store every event and credential in one transaction."""
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
        for account_id, credentials in sorted(reader.credentials.items()):
            secrets.write(cur, account_id, credentials)
        if last:
            cur.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
                (log.table, last),
            )
        cur.execute(f"NOTIFY {log.table}")
    progress.finish()
    return Imported(total, len(reader.credentials), reader.to_reconnect)


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
        self.credentials: dict[UUID, Credentials] = {}
        self._accounts: dict[UUID, bool] = {}  # connected accounts: still live or not
        self.to_reconnect: tuple[UUID, ...] = ()

    def stored_events(self, path: Path) -> Iterator[tuple[int, StoredEvent]]:
        for position, event in self.events(path):
            yield position, self.mapper.to_stored_event(event)

    def events(self, path: Path) -> Iterator[tuple[int, Any]]:
        """Every event of the file with its position, checked line by line."""
        versions: dict[UUID, int] = {}
        self.credentials, self._accounts = {}, {}
        last_position, count, ended = 0, 0, False
        with path.open("rb") as lines:
            number = 0
            for number, raw in enumerate(lines, 1):
                if ended:
                    raise LogFormatError(number, "there is more after the end line")
                record = _parse(number, raw)
                if "end" in record:
                    _check_end(number, record, count, len(self.credentials))
                    self._check_credentials(number)
                    ended = True
                    continue
                if "credentials" in record:
                    self._credentials(number, record)
                    continue
                position, event = self._event(number, record)
                if position <= last_position:
                    raise LogFormatError(
                        number, f"position {position} is not after {last_position}"
                    )
                _check_version(number, event, versions)
                self._follow_account(event)
                last_position, count = position, count + 1
                yield position, event
        if not ended:
            raise LogFormatError(number + 1, "the file ends without its end line: it is truncated")

    def _event(self, number: int, record: dict[str, Any]) -> tuple[int, Any]:
        _check_shape(number, record)
        cls = _event_class(number, record)
        data = record["data"]
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

    def _credentials(self, number: int, record: dict[str, Any]) -> None:
        given = record["credentials"]
        if record.keys() != {"credentials"} or not isinstance(given, dict):
            raise LogFormatError(number, "a credentials line holds one object and nothing else")
        if given.keys() != {"account_id", *CREDENTIAL_FIELDS}:
            expected = ", ".join(["account_id", *CREDENTIAL_FIELDS])
            raise LogFormatError(number, f"credentials need exactly {expected}")
        if not all(isinstance(given[k], str) for k in CREDENTIAL_FIELDS):
            raise LogFormatError(number, "credentials are strings")
        account_id = _uuid(number, "account_id", given["account_id"])
        if account_id in self.credentials:
            raise LogFormatError(number, f"account {account_id} has credentials twice")
        self.credentials[account_id] = Credentials.from_json(given)

    def _follow_account(self, event: Any) -> None:
        kind = event_type(event)
        if kind == "ZaloAccount.Connected":
            self._accounts[event.originator_id] = True
        elif kind == "ZaloAccount.Deleted":
            self._accounts[event.originator_id] = False

    def _check_credentials(self, number: int) -> None:
        """Every account still connected at the end of the file comes with its credentials."""
        missing = [a for a, live in self._accounts.items() if live and a not in self.credentials]
        self.to_reconnect = tuple(missing)
        if missing and not self.allow_redacted:
            raise LogFormatError(
                number,
                f"account {missing[0]} comes without its credentials (the secrets were left "
                "out at export); export again with --include-secrets (or import with "
                "--allow-redacted, and reconnect the accounts afterwards)",
            )


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


def _check_end(number: int, record: dict[str, Any], count: int, credentials: int) -> None:
    expected = {"end": True, "events": count, "credentials": credentials}
    if record != expected:
        raise LogFormatError(
            number, f"the end line should be {json.dumps(expected)} (lines are missing)"
        )


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
