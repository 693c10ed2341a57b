"""Follows the log and keeps the views: each batch and its positions commit together."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application
from psycopg_pool import ConnectionPool

from zalodesk.adapters.views.base import View

log = logging.getLogger("zalodesk.projector")

POSITIONS_DDL = """CREATE TABLE IF NOT EXISTS view_positions (
    view text PRIMARY KEY,
    position bigint NOT NULL
)"""


def create_tables(pool: ConnectionPool[Any], views: Sequence[View]) -> None:
    with pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('zalodesk:ddl'))")
        conn.execute(POSITIONS_DDL)
        for view in views:
            for statement in view.ddl():
                conn.execute(statement)


def tracking_key(view: View) -> str:
    return f"{view.name}{view.suffix}"


class Projector:
    """Applies new events to every view, exactly once, in log order.

    Each view has its own position, so one can be rebuilt while the others carry on.
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

    def step(self) -> int:
        """Apply one batch; return how many events it covered (0 when caught up)."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            # Views and their positions commit together, so losing the last commits in a
            # crash loses both: the projector redoes them from the log. No need to wait
            # for the disk.
            cur.execute("SET LOCAL synchronous_commit = off")
            positions = self._lock_positions(cur)
            start = min(positions.values())
            notifications = self.app.recorder.select_notifications(
                start=start + 1, limit=self.batch_size
            )
            if not notifications:
                return 0
            # Pipelined: the view updates go out without waiting for each answer.
            with conn.pipeline():
                for notification in notifications:
                    event = self.app.mapper.to_domain_event(notification)
                    for view in self.views:
                        if notification.id > positions[tracking_key(view)]:
                            view.apply(cur, event, notification.id)
                last = notifications[-1].id
                cur.executemany(
                    """INSERT INTO view_positions VALUES (%s, %s)
                       ON CONFLICT (view) DO UPDATE SET position = EXCLUDED.position""",
                    [(key, max(position, last)) for key, position in positions.items()],
                )
            return len(notifications)

    def catch_up(self) -> int:
        total = 0
        while applied := self.step():
            total += applied
        return total

    def run(self, stop: threading.Event, idle_seconds: float = 0.05) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                applied = self.step()
            except Exception:
                log.exception("projection step failed; retrying")
                stop.wait(1.0)
                continue
            if applied:
                log.info(
                    "projected",
                    extra={"events": applied, "latency_ms": _ms_since(started)},
                )
            if applied < self.batch_size:
                # Caught up: let new events gather, for fewer and larger transactions.
                stop.wait(idle_seconds)

    def _lock_positions(self, cur: Any) -> dict[str, int]:
        keys = [tracking_key(view) for view in self.views]
        cur.execute(
            "SELECT view, position FROM view_positions WHERE view = ANY(%s) ORDER BY view FOR UPDATE",
            (keys,),
        )
        found = dict(cur.fetchall())
        return {key: found.get(key, 0) for key in keys}


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 2)


def lag(pool: ConnectionPool[Any], app: Application[Any], views: Sequence[View]) -> dict[str, int]:
    """How many events each view is behind the log."""
    head = app.recorder.max_notification_id() or 0
    with pool.connection() as conn:
        positions = dict(conn.execute("SELECT view, position FROM view_positions").fetchall())
    return {tracking_key(v): head - positions.get(tracking_key(v), 0) for v in views}
