"""The event log written out as JSON lines.

An exported file holds one JSON object per line, in log order::

    {"position":17,"originator_id":"…","version":3,"type":"Chat.Ended",
     "topic":"domain.chat:Chat.Ended","time":"2026-11-24T10:00:00.123456+00:00",
     "data":{"reason":"agent","status":null,"actor":"agent:lan","at":"2026-…+00:00"}}

and ends with ``{"end":true,"events":N,"credentials":M}``, so that a file cut
short at a line boundary is recognised as truncated. ``data`` is the event's own
fields as the current event class has them (old versions are upcast on the way
out). Ids and times that the event class declares as such are plain strings; any
other id or time (inside a dictionary, say) keeps the library's
``{"_type_","_data_"}`` tag, so an import rebuilds exactly the same events.

No event holds a secret. Only when asked for (``--include-secrets``, for a move to
another database) do the accounts' credentials follow the events, decrypted, one
line per account in order of account id::

    {"credentials":{"account_id":"…","app_secret":"…","oa_secret_key":"…",
     "access_token":"…","refresh_token":"…"}}

They are read after the events: a refresh meanwhile leaves the file with the newer
pair (the old refresh token is spent), never with an older one.
"""

from __future__ import annotations

import json
import types
import typing
from datetime import datetime
from typing import IO, Any
from uuid import UUID

from attrs import frozen
from eventsourcing.utils import get_topic

from adapters.log_tools.event_log import (
    ENVELOPE,
    EventLog,
    LoggedEvent,
    NoProgress,
    Progress,
    event_fields,
    event_type,
)
from adapters.postgres.credentials import Credentials, CredentialStore


@frozen
class Exported:
    events: int
    credentials: int


def export_log(
    log: EventLog,
    out: IO[bytes],
    after: int = 0,
    secrets: CredentialStore | None = None,
    progress: Progress | None = None,
) -> Exported:
    """Write the log after position ``after`` as JSON lines, and the credentials from
    ``secrets`` if given."""
    progress = progress or NoProgress()
    upto = log.head()
    progress.start(log.count(after, upto), "exporting")
    written = 0
    for entries in log.pages(after, upto):
        out.write(b"".join(export_line(e) for e in entries))
        written += len(entries)
        progress.advance(len(entries))
    stored = secrets.everything() if secrets is not None else []
    out.write(b"".join(credentials_line(account_id, c) for account_id, c in stored))
    out.write(_dumps({"end": True, "events": written, "credentials": len(stored)}))
    progress.finish()
    return Exported(written, len(stored))


def credentials_line(account_id: UUID, credentials: Credentials) -> bytes:
    return _dumps({"credentials": {"account_id": str(account_id), **credentials.to_json()}})


def export_line(entry: LoggedEvent) -> bytes:
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
            for name, value in fields.items()
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
