"""When each background loop last finished a round: how readiness tells a stalled worker.

A loop beats after every round that succeeded, idle or not. One that has died, hangs,
or fails at every round stops beating, and ``/readyz`` names it after a few seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from psycopg_pool import ConnectionPool

HEARTBEATS_DDL = """CREATE TABLE IF NOT EXISTS worker_heartbeats (
    worker text PRIMARY KEY,
    beat_at timestamptz NOT NULL
)"""
BEAT = """INSERT INTO worker_heartbeats (worker, beat_at) VALUES (%s, now())
          ON CONFLICT (worker) DO UPDATE SET beat_at = EXCLUDED.beat_at"""
STILL_SECONDS = 10.0


class Heartbeats:
    """Written at most once a second per loop, so a busy loop costs nothing to watch."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        every_seconds: float = 1.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.every = every_seconds
        self.now = now
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def beat(self, worker: str) -> None:
        with self._lock:
            due = self.now() - self._last.get(worker, float("-inf")) >= self.every
            if due:
                self._last[worker] = self.now()
        if due:
            with self.pool.connection() as conn:
                conn.execute(BEAT, (worker,))


def stalled(pool: ConnectionPool[Any], still_seconds: float = STILL_SECONDS) -> dict[str, float]:
    """The loops that have not finished a round for ``still_seconds``: seconds since they did."""
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT worker, extract(epoch FROM now() - beat_at) FROM worker_heartbeats"
        ).fetchall()
    return {worker: round(float(age), 1) for worker, age in rows if age > still_seconds}
