"""Which of our accounts a Zalo Official Account is connected as: one at a time.

Its id comes from the OA's id, so two admins connecting the same OA at the same moment
write to one aggregate, and the second finds it taken. Removing the account, or moving it
to another OA, gives the claim up.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from domain import identity
from domain.aggregate import DeskAggregate
from domain.errors import Conflict


class OfficialAccountClaim(DeskAggregate):
    @staticmethod
    def create_id(oa_id: str) -> UUID:
        return identity.official_account_id(oa_id)

    @event("Claimed")
    def __init__(self, oa_id: str, account_id: UUID, actor: str, at: datetime) -> None:
        self.oa_id = oa_id
        self.account_id: UUID | None = account_id

    def claim(self, account_id: UUID, held: bool, actor: str, at: datetime) -> None:
        """Connect the OA as ``account_id``; ``held`` says whether the account that holds
        the claim now is still connected (a removed account holds nothing)."""
        if self.account_id == account_id:
            return
        if self.account_id is not None and held:
            raise Conflict(f"oa_id {self.oa_id} is connected already, as account {self.account_id}")
        self._reclaimed(account_id=account_id, actor=actor, at=at)

    @event("Reclaimed")
    def _reclaimed(self, account_id: UUID, actor: str, at: datetime) -> None:
        self.account_id = account_id

    def release(self, account_id: UUID, actor: str, at: datetime) -> None:
        if self.account_id == account_id:
            self._released(account_id=account_id, actor=actor, at=at)

    @event("Released")
    def _released(self, account_id: UUID, actor: str, at: datetime) -> None:
        self.account_id = None
