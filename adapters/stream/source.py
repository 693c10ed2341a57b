"""What the stream reads, in a thread (the log reader and the views' positions are sync)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg
from attrs import frozen
from eventsourcing.persistence import InterfaceError, OperationalError
from psycopg_pool import ConnectionPool, PoolTimeout

from adapters.log_tools.event_log import EventLog
from adapters.read_models.views.base import View
from adapters.stream.frames import Framer, aggregate_of
from adapters.workers.projector import database_trouble, read_positions

log = logging.getLogger("zalodesk.stream")

# The database away (or not answering in time): a round fails whole and is tried again.
DATABASE_AWAY = (psycopg.Error, OperationalError, InterfaceError, PoolTimeout, OSError)


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
            if kind is None:
                continue
            try:
                event = self.log.app.mapper.to_domain_event(notification)
                frames.append((notification.id, self.framer.frame(notification.id, kind, event)))
            except Exception as error:
                if isinstance(error, DATABASE_AWAY) or database_trouble(error):
                    raise
                # The views set such an event aside (and say so); the stream goes on past it.
                log.error(
                    "the stream skipped an event it cannot read",
                    exc_info=error,
                    extra={"position": notification.id, "topic": notification.topic},
                )
        full = len(notifications) >= self.limit
        return Batch(notifications[-1].id if full else upto, frames)
