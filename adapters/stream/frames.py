"""Each agent-visible event as one Server-Sent Events frame, encoded once for every client.

A frame names the ids the event concerns: its own aggregate's, the ids it carries, and
the ids its aggregate was created with (a chat's ticket, account and contact), which
never change and are remembered per aggregate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from adapters.log_tools.event_log import event_time, event_type
from adapters.timefmt import iso

# The aggregates agents see, with the frame's field for the aggregate's own id.
OWN_ID = {"Chat": "chat_id", "Ticket": "ticket_id", "Reply": "reply_id", "Contact": "contact_id"}
# The ids each aggregate is created with: they never change.
FIXED_IDS = {
    "Chat": ("ticket_id", "account_id", "contact_id"),
    "Ticket": ("account_id", "contact_id"),
    "Reply": ("ticket_id", "chat_id", "account_id", "contact_id"),
    "Contact": ("account_id",),
}
ID_FIELDS = ("chat_id", "ticket_id", "contact_id", "reply_id", "account_id")
KEEP_ALIVE = b": keep-alive\n\n"
REMEMBERED = 200_000  # aggregates whose fixed ids are kept; beyond it, they are looked up again


def aggregate_of(topic: str) -> str | None:
    """``Chat`` for an event an agent sees (``domain.chat:Chat.Started``), else None."""
    kind = topic.rpartition(":")[2].partition(".")[0]
    return kind if kind in OWN_ID else None


Lookup = Callable[[UUID], Any]


class Framer:
    """Frames from decoded events; ``lookup`` loads an aggregate whose fixed ids are not
    known yet (one seen before this process started following the log)."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.fixed: dict[UUID, dict[str, str | None]] = {}

    def frame(self, position: int, kind: str, event: Any) -> bytes:
        ids: dict[str, str | None] = dict.fromkeys(ID_FIELDS)
        ids.update(self._fixed(kind, event))
        for name in ID_FIELDS:
            value = getattr(event, name, None)
            if isinstance(value, UUID):
                ids[name] = str(value)
        ids[OWN_ID[kind]] = str(event.originator_id)
        data = {
            "position": position,
            "type": event_type(event),
            "at": iso(event_time(event)),
            **ids,
        }
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        return f"id: {position}\nevent: {kind.lower()}\ndata: {text}\n\n".encode()

    def _fixed(self, kind: str, event: Any) -> dict[str, str | None]:
        aggregate_id: UUID = event.originator_id
        known = self.fixed.get(aggregate_id)
        if known is not None:
            return known
        names = FIXED_IDS[kind]
        source = event if all(hasattr(event, n) for n in names) else self._load(aggregate_id)
        known = {n: _text(getattr(source, n, None)) for n in names}
        if len(self.fixed) >= REMEMBERED:
            self.fixed.clear()
        self.fixed[aggregate_id] = known
        return known

    def _load(self, aggregate_id: UUID) -> Any:
        try:
            return self.lookup(aggregate_id)
        except AggregateNotFoundError:
            return None


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None
