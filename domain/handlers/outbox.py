"""What the outbox worker records around each call to Zalo."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from attrs import frozen
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain import actors
from domain.contact import Contact
from domain.handlers.base import DeskBase
from domain.reply import Reply
from domain.values import MessageOwner, ReplyStatus
from domain.zalo_message import ZaloMessage

UNKNOWN_OUTCOME = (
    "The service stopped while this reply was being sent, so it may or may not have "
    "reached the customer. Check the conversation in Zalo before sending it again."
)


@frozen
class SendJob:
    reply_id: UUID
    account_id: UUID
    app_id: str
    text: str
    zalo_user_id: str
    anonymous: bool
    conversation_id: str | None


class OutboxHandlers(DeskBase):
    def begin_send(self, reply_id: UUID) -> SendJob | None:
        """Record the attempt before the call; None when there is nothing (left) to send."""
        reply = self._find(Reply, reply_id)
        if reply is None or reply.status != ReplyStatus.QUEUED:
            return None
        account = self.account(reply.account_id)
        if account.needs_reconnect:
            self.record_failed(
                reply_id, None, f"The account needs reconnecting: {account.needs_reconnect}"
            )
            return None
        contact = self._find(Contact, reply.contact_id)
        assert contact is not None
        reply.begin_attempt(actors.OUTBOX, self.clock())
        self.save(reply)
        return SendJob(
            reply_id=reply.id,
            account_id=reply.account_id,
            app_id=account.app_id,
            text=reply.text,
            zalo_user_id=contact.zalo_user_id,
            anonymous=contact.anonymous,
            conversation_id=contact.conversation_id,
        )

    def record_sent(self, reply_id: UUID, zalo_msg_id: str) -> None:
        """Sent, and the Zalo id claimed as ours so its echo never shows as a second copy."""
        reply = self._find(Reply, reply_id)
        assert reply is not None
        now = self.clock()
        reply.record_sent(zalo_msg_id, actors.OUTBOX, now)
        claim = ZaloMessage(
            account_id=reply.account_id,
            zalo_msg_id=zalo_msg_id,
            owner=MessageOwner.OUR_REPLY,
            reply_id=reply.id,
            chat_id=reply.chat_id,
            receipt_id=None,
            actor=actors.OUTBOX,
            at=now,
        )
        try:
            self.save(reply, claim)
        except IntegrityError:  # the settler gave up waiting and recorded the echo
            self.save(reply)

    def record_failed(self, reply_id: UUID, code: int | None, reason: str) -> None:
        def change() -> Sequence[Aggregate]:
            reply = self._find(Reply, reply_id)
            assert reply is not None
            reply.record_failed(code, reason, actors.OUTBOX, self.clock())
            return [reply]

        self._retrying(change)

    def abandon_unknown(self, reply_id: UUID) -> bool:
        """After a restart: a reply whose send was under way has an unknown fate; say so."""
        reply = self._find(Reply, reply_id)
        if reply is None or reply.status != ReplyStatus.QUEUED or reply.attempts == 0:
            return False
        self.record_failed(reply_id, None, UNKNOWN_OUTCOME)
        return True
