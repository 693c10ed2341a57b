"""Connection pools that ride out a database outage.

While the database is away, a caller waits ``WAIT_SECONDS`` at most for a connection and
gets ``PoolTimeout`` (the API answers 503). When it is back, it is used again at once:
the first connection found broken, before or during its use, makes the pool drop the
others, which broke with it; and a failed connection attempt is given up after
``RECONNECT_SECONDS`` rather than retried with psycopg_pool's growing delays (up to
minutes), so the next caller starts a fresh one.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from eventsourcing.postgres import ConnectionPool
from psycopg_pool.abc import CT

WAIT_SECONDS = 1.5
RECONNECT_SECONDS = 1.0


class ResilientPool(ConnectionPool[CT]):
    def __init__(self, conninfo: str = "", **options: Any) -> None:
        super().__init__(
            conninfo,
            timeout=WAIT_SECONDS,
            reconnect_timeout=RECONNECT_SECONDS,
            check=self._check_idle,
            **options,
        )

    def putconn(self, conn: CT) -> None:
        if conn.broken:
            self.drain()
        super().putconn(conn)

    def _check_idle(self, conn: CT) -> None:
        """Before a connection is handed out, without a round trip: an idle connection has
        nothing to read, unless the server closed it (its last words first, then the end)
        or sent a notice, which is read and kept."""
        try:
            for _ in range(3):
                if not _readable(conn.fileno()):
                    return
                conn.pgconn.consume_input()
        except psycopg.Error:
            self.drain()
            raise


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
