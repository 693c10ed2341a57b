"""When each background loop last finished a round: how readiness tells a stalled worker.

A loop beats after every round that succeeded, idle or not. One that has died, hangs,
or fails at every round stops beating, and ``/readyz`` names it after a few seconds.
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import ConnectionPool

from adapters.throttle import Throttle

HEARTBEATS_DDL = """CREATE TABLE IF NOT EXISTS worker_heartbeats (
    worker text PRIMARY KEY,
    beat_at timestamptz NOT NULL
)"""
BEAT = """INSERT INTO worker_heartbeats (worker, beat_at) VALUES (%s, now())
          ON CONFLICT (worker) DO UPDATE SET beat_at = EXCLUDED.beat_at"""
STILL_SECONDS = 10.0


class Heartbeats:
    """Written at most once a second per loop, so a busy loop costs nothing to watch."""

    def __init__(self, pool: ConnectionPool[Any], throttle: Throttle | None = None) -> None:
        self.pool = pool
        self.throttle = throttle or Throttle(every_seconds=1.0)

    def beat(self, worker: str) -> None:
        if self.throttle.due(worker):
            with self.pool.connection() as conn:
                conn.execute(BEAT, (worker,))


def stalled(pool: ConnectionPool[Any], still_seconds: float = STILL_SECONDS) -> dict[str, float]:
    """The loops that have not finished a round for ``still_seconds``: seconds since they did."""
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT worker, extract(epoch FROM now() - beat_at) FROM worker_heartbeats"
        ).fetchall()
    return {worker: round(float(age), 1) for worker, age in rows if age > still_seconds}
