"""When each account's webhook last delivered, and when a delivery last failed its signature:
what an admin looks at while connecting Zalo. Operational facts, not business events, so a
table of their own; written at most once a second per account and process, so a flood of
deliveries (or of forged ones) costs nothing."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from attrs import frozen
from psycopg_pool import ConnectionPool

from adapters.throttle import Throttle

log = logging.getLogger("zalodesk.webhook")

ACTIVITY_DDL = """CREATE TABLE IF NOT EXISTS webhook_activity (
    account_id uuid PRIMARY KEY,
    last_webhook_at timestamptz,
    last_signature_failure_at timestamptz,
    last_signature_failure text
)"""
ARRIVED = """INSERT INTO webhook_activity (account_id, last_webhook_at) VALUES (%s, now())
    ON CONFLICT (account_id) DO UPDATE SET last_webhook_at = EXCLUDED.last_webhook_at"""
REFUSED = """INSERT INTO webhook_activity
        (account_id, last_signature_failure_at, last_signature_failure) VALUES (%s, now(), %s)
    ON CONFLICT (account_id) DO UPDATE SET
        last_signature_failure_at = EXCLUDED.last_signature_failure_at,
        last_signature_failure = EXCLUDED.last_signature_failure"""


@frozen
class Activity:
    last_webhook_at: datetime | None = None
    last_signature_failure_at: datetime | None = None
    last_signature_failure: str | None = None


class WebhookActivity:
    def __init__(self, pool: ConnectionPool[Any], throttle: Throttle | None = None) -> None:
        self.pool = pool
        self.throttle = throttle or Throttle(every_seconds=1.0)

    def arrived(self, account_id: UUID) -> None:
        self._note(account_id, "arrived", ARRIVED, (account_id,))

    def refused(self, account_id: UUID, why: str) -> None:
        self._note(account_id, "refused", REFUSED, (account_id, why))

    def of(self, account_ids: list[UUID]) -> dict[UUID, Activity]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                """SELECT account_id, last_webhook_at, last_signature_failure_at,
                          last_signature_failure
                   FROM webhook_activity WHERE account_id = ANY(%s)""",
                (account_ids,),
            ).fetchall()
        return {row[0]: Activity(*row[1:]) for row in rows}

    def _note(self, account_id: UUID, kind: str, sql: str, params: tuple[Any, ...]) -> None:
        if not self.throttle.due((account_id, kind)):
            return
        try:
            with self.pool.connection() as conn:
                conn.execute(sql, params)
        except Exception:  # telemetry never fails a delivery
            log.warning("could not note webhook activity", exc_info=True)
