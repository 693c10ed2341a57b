"""One webhook delivery, stored once with its raw body.

``settled`` is false for an ``oa_send_*`` echo or a receipt that could not be matched
to one of our replies when it arrived: the echo may come before our send call returns.
The events a delivery causes carry its id as ``receipt_id``.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from attrs import asdict
from eventsourcing.domain import event

from domain import actors, identity
from domain.aggregate import DeskAggregate
from domain.commands import Delivery
from domain.values import Settlement


class InboundReceipt(DeskAggregate):
    """Saving a second receipt with the same id is a conflict: that is how retries are seen."""

    @staticmethod
    def create_id(account_id: UUID, event_name: str, msg_id: str | None, raw_body: str) -> UUID:
        return identity.receipt_id(account_id, event_name, msg_id, raw_body.encode())

    @classmethod
    def id_of(cls, delivery: Delivery) -> UUID:
        return cls.create_id(
            delivery.account_id, delivery.event_name, delivery.msg_id, delivery.raw_body
        )

    @classmethod
    def of(
        cls, delivery: Delivery, settled: bool, problem: str | None, at: datetime
    ) -> InboundReceipt:
        """The receipt of ``delivery``: its whole envelope, as Zalo sent it."""
        return cls(
            **asdict(delivery, recurse=False),
            settled=settled,
            problem=problem,
            actor=actors.ZALO,
            at=at,
        )

    @event("Received")
    def __init__(
        self,
        account_id: UUID,
        event_name: str,
        msg_id: str | None,
        raw_body: str,
        platform_at: datetime | None,
        num_retry: int,
        settled: bool,
        problem: str | None,
        actor: str,
        at: datetime,
    ) -> None:
        """``problem`` names what could not be read in a signed body that was kept all the same."""
        self.account_id = account_id
        self.event_name = event_name
        self.msg_id = msg_id
        self.settled = settled

    def settle(self, outcome: Settlement, actor: str, at: datetime) -> None:
        """An echo or receipt we could not place at once has now been placed."""
        if not self.settled:
            self._settled(outcome=outcome, actor=actor, at=at)

    @event("Settled")
    def _settled(self, outcome: Settlement, actor: str, at: datetime) -> None:
        self.settled = True
