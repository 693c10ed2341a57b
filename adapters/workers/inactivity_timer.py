"""Ends chats that both sides have left quiet for the account's timeout."""

from __future__ import annotations

import logging
from typing import Any

from psycopg_pool import ConnectionPool

from domain.application import Zalodesk
from domain.commands import EndInactiveChat

log = logging.getLogger("zalodesk.inactivity")

DUE = """
    SELECT c.chat_id FROM inbox_chats c LEFT JOIN accounts a ON a.account_id = c.account_id
    WHERE c.last_activity_at
          + make_interval(secs => COALESCE(a.chat_inactivity_seconds, %(default)s) + c.extra_seconds)
          <= %(now)s
    ORDER BY c.last_activity_at LIMIT %(limit)s
"""


class InactivityTimer:
    """Finds candidates in the inbox view; the Chat aggregate has the last word on each."""

    def __init__(self, app: Zalodesk, pool: ConnectionPool[Any], batch_size: int = 500) -> None:
        self.app = app
        self.pool = pool
        self.batch_size = batch_size

    def tick(self) -> int:
        """End every chat due now; return how many ended."""
        with self.pool.connection() as conn:
            due = conn.execute(
                DUE,
                {
                    "default": self.app.default_timeout,
                    "now": self.app.clock(),
                    "limit": self.batch_size,
                },
            ).fetchall()
        ended = sum(self.app.end_inactive_chat(EndInactiveChat(row[0])) for row in due)
        if ended:
            log.info("ended quiet chats", extra={"ended": ended, "candidates": len(due)})
        return ended
