"""Who a Zalo message id belongs to: one of our replies, or the OA manager."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from domain import actors, identity
from domain.aggregate import DeskAggregate, EnumAttribute
from domain.values import MessageOwner


class ZaloMessage(DeskAggregate):
    """Claimed once: our outbox (when the send call returns) or the echo settler, whichever is first.

    Its id comes from (account, msg_id), so the two can never both claim one message.
    ``reply_id`` names the reply when the owner is ours; ``receipt_id`` the delivery that
    made the OA manager's claim.
    """

    owner = EnumAttribute(MessageOwner)

    @staticmethod
    def create_id(account_id: UUID, zalo_msg_id: str) -> UUID:
        return identity.zalo_message_id(account_id, zalo_msg_id)

    @classmethod
    def claim(
        cls,
        account_id: UUID,
        zalo_msg_id: str,
        chat_id: UUID,
        at: datetime,
        reply_id: UUID | None = None,
        receipt_id: UUID | None = None,
    ) -> ZaloMessage:
        """Ours when it is a reply's (the outbox claims the id the send call returned);
        otherwise staff's, typed in the OA manager, as the delivery ``receipt_id`` showed it."""
        ours = reply_id is not None
        return cls(
            account_id=account_id,
            zalo_msg_id=zalo_msg_id,
            owner=MessageOwner.OUR_REPLY if ours else MessageOwner.OA_MANAGER,
            reply_id=reply_id,
            chat_id=chat_id,
            receipt_id=receipt_id,
            actor=actors.OUTBOX if ours else actors.OA_MANAGER,
            at=at,
        )

    @event("Claimed")
    def __init__(
        self,
        account_id: UUID,
        zalo_msg_id: str,
        owner: MessageOwner,
        reply_id: UUID | None,
        chat_id: UUID | None,
        receipt_id: UUID | None,
        actor: str,
        at: datetime,
    ) -> None:
        self.account_id = account_id
        self.zalo_msg_id = zalo_msg_id
        self.owner = owner
        self.reply_id = reply_id
        self.chat_id = chat_id
