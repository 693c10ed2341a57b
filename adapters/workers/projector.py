"""Follows the log and keeps the views: each batch and its positions commit together.

An event a view cannot apply is set aside (``adapters.read_models.set_aside``) and the
later ones flow on: a batch that fails is applied again event by event, each event and
view in a savepoint of its own, in the same transaction as the positions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.application import Application
from psycopg_pool import ConnectionPool

from adapters.read_models import set_aside
from adapters.read_models.views.base import View
from adapters.read_models.views.shown_text import write_shown_text

log = logging.getLogger("zalodesk.projector")


POSITIONS_DDL = """CREATE TABLE IF NOT EXISTS view_positions (
    view text PRIMARY KEY,
    position bigint NOT NULL
)"""


# NOTIFY'd with the last position in the transaction that moves the views' positions (once
# a batch): the live stream LISTENs on it rather than asking the database all the time.
VIEWS_CHANNEL = "zalodesk_views"


def tracking_key(view: View) -> str:
    return f"{view.name}{view.suffix}"


class Projector:
    """Applies new events to every view, exactly once, in log order.

    Each view has its own position, so one can be rebuilt while the others carry on.
    The same batch path serves the live worker and the rebuilds of ``replay`` and
    ``verify`` (which stop at a position, ``upto``).
    """

    def __init__(
        self,
        app: Application[Any],
        pool: ConnectionPool[Any],
        views: Sequence[View],
        batch_size: int = 500,
    ) -> None:
        self.app = app
        self.pool = pool
        self.views = list(views)
        self.batch_size = batch_size
        self._routes: dict[str, list[tuple[View, str]]] = {}

    def step(self, upto: int | None = None) -> int:
        """Apply one batch in a transaction of its own; how many events it covered."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            # Views and their positions commit together, so losing the last commits in a
            # crash loses both: the projector redoes them from the log. No need to wait
            # for the disk.
            cur.execute("SET LOCAL synchronous_commit = off")
            return self.apply_batch(cur, upto)

    def apply_batch(self, cur: Any, upto: int | None = None) -> int:
        """Apply the next batch, up to position ``upto`` if given, in the caller's transaction."""
        write_shown_text(cur)
        positions = lock_positions(cur, self.views)
        start = min(positions.values())
        if upto is not None and start >= upto:
            return 0
        notifications = self.app.recorder.select_notifications(
            start=start, limit=self.batch_size, stop=upto, inclusive_of_start=False
        )
        if not notifications:
            return 0
        if not self._apply_all(cur, notifications, positions):
            self._apply_one_by_one(cur, notifications, positions)
        last = notifications[-1].id
        cur.executemany(
            """INSERT INTO view_positions (view, position) VALUES (%s, %s)
               ON CONFLICT (view) DO UPDATE SET position = EXCLUDED.position""",
            [(key, max(position, last)) for key, position in positions.items()],
        )
        cur.execute("SELECT pg_notify(%s, %s)", (VIEWS_CHANNEL, str(last)))
        return len(notifications)

    def catch_up(self, upto: int | None = None) -> int:
        total = 0
        while applied := self.step(upto):
            total += applied
        return total

    def _targets(self, topic: str) -> list[tuple[View, str]]:
        """The views that handle events of this topic; events nobody handles are not decoded."""
        if topic not in self._routes:
            event_name = topic.rpartition(":")[2]
            self._routes[topic] = [
                (view, tracking_key(view)) for view in self.views if view.handles(event_name)
            ]
        return self._routes[topic]

    def _apply_all(self, cur: Any, notifications: Sequence[Any], positions: dict[str, int]) -> bool:
        """The whole batch in one savepoint; False (and nothing applied) if any of it failed."""
        try:
            # Pipelined: the view updates go out without waiting for each answer.
            with cur.connection.transaction(), cur.connection.pipeline():
                for notification in notifications:
                    if targets := self._targets(notification.topic):
                        self._apply(cur, notification, targets, positions)
        except Exception as error:
            if database_trouble(error):
                raise
            return False
        return True

    def _apply(
        self,
        cur: Any,
        notification: Any,
        targets: list[tuple[View, str]],
        positions: dict[str, int],
    ) -> None:
        event = self.app.mapper.to_domain_event(notification)
        for view, key in targets:
            if notification.id > positions[key]:
                view.apply(cur, event, notification.id)

    def _apply_one_by_one(
        self, cur: Any, notifications: Sequence[Any], positions: dict[str, int]
    ) -> None:
        """The batch again, each event and view in a savepoint: what fails is set aside."""
        for notification in notifications:
            targets = [
                (view, key)
                for view, key in self._targets(notification.topic)
                if notification.id > positions[key]
            ]
            if not targets:
                continue
            try:
                event = self.app.mapper.to_domain_event(notification)
            except Exception as error:
                if database_trouble(error):
                    raise
                for _, key in targets:
                    self._set_aside(cur, key, notification, error)
                continue
            for view, key in targets:
                try:
                    with cur.connection.transaction():
                        view.apply(cur, event, notification.id)
                except Exception as error:
                    if database_trouble(error):
                        raise
                    self._set_aside(cur, key, notification, error)

    def _set_aside(self, cur: Any, key: str, notification: Any, error: Exception) -> None:
        event_type = notification.topic.rpartition(":")[2]
        log.error(
            "%s set aside the event at position %s (%s): %s",
            key,
            notification.id,
            event_type,
            set_aside.describe(error),
            exc_info=error,
            extra={"view": key, "position": notification.id, "event_type": event_type},
        )
        set_aside.record(cur, key, notification.id, event_type, set_aside.describe(error))


def database_trouble(error: Exception) -> bool:
    """The database's own trouble (connection lost, deadlock, cancelled, out of resources),
    not the event's fault: the whole batch fails and is tried again, nothing set aside."""
    if isinstance(error, psycopg.InterfaceError):
        return True
    if isinstance(error, psycopg.errors.PipelineAborted):
        return False  # an earlier statement of the batch failed: that one tells
    if not isinstance(error, psycopg.OperationalError):
        return False
    # Class 54: a limit exceeded by what the event holds (an index row too large, say).
    return not (error.sqlstate or "").startswith("54")


def lock_positions(cur: Any, views: Sequence[View]) -> dict[str, int]:
    """The views' positions, locked until the transaction ends (0 for a view not yet tracked)."""
    keys = sorted(tracking_key(view) for view in views)
    cur.execute(
        "SELECT view, position FROM view_positions WHERE view = ANY(%s) ORDER BY view FOR UPDATE",
        (keys,),
    )
    found = dict(cur.fetchall())
    return {key: int(found.get(key, 0)) for key in keys}


def read_positions(cur: Any, views: Sequence[View]) -> dict[str, int]:
    """The views' positions, without locking them."""
    keys = [tracking_key(view) for view in views]
    cur.execute("SELECT view, position FROM view_positions WHERE view = ANY(%s)", (keys,))
    found = dict(cur.fetchall())
    return {key: int(found.get(key, 0)) for key in keys}


def lag(pool: ConnectionPool[Any], app: Application[Any], views: Sequence[View]) -> dict[str, int]:
    """How many events each view is behind the log."""
    head = app.recorder.max_notification_id() or 0
    with pool.connection() as conn:
        positions = dict(conn.execute("SELECT view, position FROM view_positions").fetchall())
    return {tracking_key(v): head - positions.get(tracking_key(v), 0) for v in views}


def still_set_aside(
    pool: ConnectionPool[Any], views: Sequence[View], limit: int | None = None
) -> list[set_aside.SetAside]:
    """The events these views have set aside and not applied since, oldest first."""
    with pool.connection() as conn, conn.cursor() as cur:
        return set_aside.still_set_aside(cur, [tracking_key(v) for v in views], limit)


def ever_set_aside(pool: ConnectionPool[Any], views: Sequence[View]) -> dict[str, int]:
    """How many events each view has ever set aside."""
    with pool.connection() as conn, conn.cursor() as cur:
        return set_aside.ever_set_aside(cur, [tracking_key(v) for v in views])
