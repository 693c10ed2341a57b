"""Places echoes and receipts that arrived before our send call returned.

An ``oa_send_*`` echo of our own reply can reach the webhook before Zalo's answer to our
send reaches the outbox. Such a delivery is stored unsettled; once the grace time has
passed, it is either ours (the outbox has claimed its msg_id: nothing to show) or it was
sent by someone else through the OA, and it is recorded in the chat as the OA's message.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from psycopg_pool import ConnectionPool

from adapters.zalo import translate
from domain.application import Zalodesk

log = logging.getLogger("zalodesk.settler")

DUE = """SELECT receipt_id, account_id, raw_body FROM unsettled_deliveries
         WHERE received_at <= %s ORDER BY received_at LIMIT 500"""


class EchoSettler:
    def __init__(self, app: Zalodesk, pool: ConnectionPool[Any], grace_seconds: float = 30.0):
        self.app = app
        self.pool = pool
        self.grace = timedelta(seconds=grace_seconds)

    def tick(self) -> int:
        with self.pool.connection() as conn:
            due = conn.execute(DUE, (self.app.clock() - self.grace,)).fetchall()
        for receipt_id, account_id, raw_body in due:
            raw = raw_body.encode()
            command = translate.translate(account_id, raw, translate.parse(raw))
            outcome = self.app.settle(receipt_id, command) or "already settled"
            log.info("settled", extra={"receipt_id": str(receipt_id), "outcome": str(outcome)})
        return len(due)
