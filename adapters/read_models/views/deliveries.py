"""Echoes and receipts that could not be placed on arrival, waiting for the settler."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Cursor

from adapters.read_models.views.base import View, handles


class UnsettledView(View):
    name = "unsettled"
    tables = ("unsettled_deliveries",)
    version = 1

    def ddl(self) -> Sequence[str]:
        return [
            f"""CREATE TABLE IF NOT EXISTS {self.t("unsettled_deliveries")} (
                receipt_id uuid PRIMARY KEY,
                account_id uuid NOT NULL,
                event_name text NOT NULL,
                raw_body text NOT NULL,
                received_at timestamptz NOT NULL
            )"""
        ]

    @handles("InboundReceipt.Received")
    def received(self, cur: Cursor[Any], e: Any, position: int) -> None:
        if e.settled:
            return
        cur.execute(
            f"""INSERT INTO {self.t("unsettled_deliveries")}
                (receipt_id, account_id, event_name, raw_body, received_at)
                VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT DO NOTHING""",
            (e.originator_id, e.account_id, e.event_name, e.raw_body, e.at),
        )

    @handles("InboundReceipt.Settled")
    def settled(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"DELETE FROM {self.t('unsettled_deliveries')} WHERE receipt_id = %s",
            (e.originator_id,),
        )
