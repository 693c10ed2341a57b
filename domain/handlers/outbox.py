"""What the outbox worker records around each call to Zalo."""

from __future__ import annotations

from uuid import UUID

from attrs import frozen
from eventsourcing.domain import Aggregate

from domain import actors
from domain.account import ZaloAccount
from domain.chat import Chat
from domain.commands import Customer, RetryReply
from domain.contact import Contact
from domain.handlers.base import Decision, DeskBase
from domain.reply import Reply
from domain.values import ReplyStatus
from domain.zalo_message import ZaloMessage

UNKNOWN_OUTCOME = (
    "The service stopped while this reply was being sent, so it may or may not have "
    "reached the customer. Check the conversation in Zalo before sending it again."
)

ACCOUNT_REMOVED = "The account was removed, so nothing can be sent through it any more."


@frozen
class SendJob:
    reply_id: UUID
    account_id: UUID
    app_id: str
    text: str
    to: Customer


class OutboxHandlers(DeskBase):
    def begin_send(self, reply_id: UUID) -> SendJob | None:
        """Record the attempt before the call; None when there is nothing (left) to send.

        A reply that cannot be sent any more (its account removed, or waiting to be
        reconnected) is failed with the reason, once, instead of being tried again.
        """
        seen_attempts: int | None = None

        def decide() -> Decision[SendJob | None]:
            nonlocal seen_attempts
            reply = self._find(Reply, reply_id)
            if reply is None or reply.status != ReplyStatus.QUEUED:
                return None, []
            if seen_attempts is not None and reply.attempts != seen_attempts:
                return None, []  # another sender began an attempt meanwhile: it sends, not us
            seen_attempts = reply.attempts
            now = self.clock()
            account = self._find(ZaloAccount, reply.account_id)
            if account is None or account.deleted:
                reply.record_failed(None, ACCOUNT_REMOVED, actors.OUTBOX, now)
                return None, [reply]
            if account.needs_reconnect:
                reason = f"The account needs reconnecting: {account.needs_reconnect}"
                reply.record_failed(None, reason, actors.OUTBOX, now)
                return None, [reply]
            contact = self._find(Contact, reply.contact_id)
            assert contact is not None
            reply.begin_attempt(actors.OUTBOX, now)
            job = SendJob(reply.id, reply.account_id, account.app_id, reply.text, contact.customer)
            return job, [reply]

        return self._change(decide)

    def record_sent(self, reply_id: UUID, zalo_msg_id: str) -> None:
        """Sent, and the Zalo id claimed as ours so its echo never shows as a second copy.

        The echo settler may have claimed the id first (the send call outlasted its grace
        time): the reply is recorded sent all the same, and the settler's claim stands.
        Zalo's acceptance is the agent's activity on the chat (``Chat.ReplySent``): it
        answers the waiting customer and restarts the inactivity clock.
        """

        def decide() -> Decision[None]:
            reply = self._find(Reply, reply_id)
            assert reply is not None
            now = self.clock()
            changed: list[Aggregate] = [reply]
            if reply.status == ReplyStatus.QUEUED:
                reply.record_sent(zalo_msg_id, actors.OUTBOX, now)
                chat = self._find(Chat, reply.chat_id)
                if chat is not None and chat.reply_sent(reply.id, actors.OUTBOX, now):
                    changed.append(chat)
            if self._exists(ZaloMessage.create_id(reply.account_id, zalo_msg_id)):
                return None, changed
            claim = ZaloMessage.claim(
                reply.account_id, zalo_msg_id, reply.chat_id, now, reply_id=reply.id
            )
            return None, [*changed, claim]

        self._change(decide)

    def record_failed(self, reply_id: UUID, code: int | None, reason: str) -> None:
        self._update(
            lambda: self._get(Reply, reply_id, "reply"),
            lambda reply, now: reply.record_failed(code, reason, actors.OUTBOX, now),
        )

    def retry_reply(self, cmd: RetryReply) -> Reply:
        """A failed reply queued again, for a new attempt; 409 unless it failed."""
        return self._update(
            lambda: self._get(Reply, cmd.reply_id, "reply"),
            lambda reply, now: reply.retry(cmd.actor, now),
        )

    def abandon_unknown(self, reply_id: UUID) -> bool:
        """After a restart: a reply whose send was under way has an unknown fate; say so."""

        def decide() -> Decision[bool]:
            reply = self._find(Reply, reply_id)
            if reply is None or reply.status != ReplyStatus.QUEUED or not reply.in_flight:
                return False, []
            reply.record_failed(None, UNKNOWN_OUTCOME, actors.OUTBOX, self.clock())
            return True, [reply]

        return self._change(decide)
