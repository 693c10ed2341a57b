"""Echoes and receipts that could not be placed on arrival, waiting for the settler."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from adapters.read_models.views.base import RowsView, handles


class UnsettledView(RowsView):
    name = "unsettled"
    table = "unsettled_deliveries"
    version = 1
    key = "receipt_id"
    columns = """
        account_id uuid NOT NULL,
        event_name text NOT NULL,
        raw_body text NOT NULL,
        received_at timestamptz NOT NULL
    """

    @handles("InboundReceipt.Received")
    def received(self, cur: Cursor[Any], e: Any, position: int) -> None:
        if e.settled:
            return
        self._insert(
            cur,
            e,
            account_id=e.account_id,
            event_name=e.event_name,
            raw_body=e.raw_body,
            received_at=e.at,
        )

    @handles("InboundReceipt.Settled")
    def settled(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._delete(cur, e)
