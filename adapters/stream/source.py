"""What the stream reads, in a thread (the log reader and the views' positions are sync)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import frozen
from psycopg_pool import ConnectionPool

from adapters.log_tools.event_log import EventLog
from adapters.read_models.views.base import View
from adapters.stream.frames import Framer, aggregate_of
from adapters.workers.projector import read_positions


@frozen
class Batch:
    """The frames of the agent-visible events in (after, last], in log order."""

    last: int
    frames: list[tuple[int, bytes]]


class LogSource:
    def __init__(
        self, log: EventLog, pool: ConnectionPool[Any], views: Sequence[View], limit: int = 1000
    ) -> None:
        self.log = log
        self.pool = pool
        self.views = list(views)
        self.limit = limit
        self.framer = Framer(log.app.repository.get)

    def applied(self) -> int:
        """The position every view has applied: events up to it can be shown."""
        with self.pool.connection() as conn, conn.cursor() as cur:
            return min(read_positions(cur, self.views).values(), default=0)

    def read(self, after: int, upto: int) -> Batch:
        """One page of frames after ``after``, up to ``upto``; each event decoded once."""
        if upto <= after:
            return Batch(after, [])
        notifications = self.log.notifications(after, self.limit, upto)
        frames = []
        for notification in notifications:
            kind = aggregate_of(notification.topic)
            if kind is not None:
                event = self.log.app.mapper.to_domain_event(notification)
                frames.append((notification.id, self.framer.frame(notification.id, kind, event)))
        full = len(notifications) >= self.limit
        return Batch(notifications[-1].id if full else upto, frames)
