"""One message from the OA to a customer, and what became of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import event

from domain import identity
from domain.aggregate import DeskAggregate, EnumAttribute
from domain.errors import Conflict, InvalidInput
from domain.values import TEXT_LIMIT, ReplyStatus

# States only move forward: a late "delivered" never undoes "seen".
PROGRESS = {
    ReplyStatus.QUEUED: 0,
    ReplyStatus.SENT: 1,
    ReplyStatus.DELIVERED: 2,
    ReplyStatus.SEEN: 3,
}


def validate_text(text: str) -> str:
    if not text.strip():
        raise InvalidInput("text must not be empty")
    if len(text) > TEXT_LIMIT:
        raise InvalidInput(f"text is {len(text)} characters; Zalo accepts at most {TEXT_LIMIT}")
    return text


def reused(client_message_id: str | None) -> str:
    """Why a message whose client_message_id was used for other content is refused."""
    return (
        f"client_message_id {client_message_id} was used already for a message with other "
        "content; send a new id for a new message"
    )


class Reply(DeskAggregate):
    """Its id comes from the client's message id when there is one: the same id twice is one reply.

    Version 2 added ``in_flight`` (an attempt begun and its outcome not yet recorded), so
    that a retried reply, queued again after attempts, is not taken for one cut short.
    """

    status = EnumAttribute(ReplyStatus)

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        # Before retries, a queued reply with attempts had one under way.
        state["in_flight"] = state["status"] == ReplyStatus.QUEUED.value and state["attempts"] > 0

    @staticmethod
    def create_id(ticket_id: UUID, client_message_id: str | None) -> UUID:
        if client_message_id:
            return identity.message_id(ticket_id, f"client:{client_message_id}")
        return uuid4()

    @event("Queued")
    def __init__(
        self,
        ticket_id: UUID,
        chat_id: UUID,
        account_id: UUID,
        contact_id: UUID,
        text: str,
        client_message_id: str | None,
        actor: str,
        at: datetime,
    ) -> None:
        self.ticket_id = ticket_id
        self.chat_id = chat_id
        self.account_id = account_id
        self.contact_id = contact_id
        self.text = text
        self.status = ReplyStatus.QUEUED
        self.zalo_msg_id: str | None = None
        self.attempts = 0
        self.in_flight = False

    def begin_attempt(self, actor: str, at: datetime) -> None:
        """Recorded before each call to Zalo, so a crash mid-call is visible after a restart."""
        if self.status == ReplyStatus.QUEUED:
            self._attempted(attempt=self.attempts + 1, actor=actor, at=at)

    @event("SendAttempted")
    def _attempted(self, attempt: int, actor: str, at: datetime) -> None:
        self.attempts = attempt
        self.in_flight = True

    def record_sent(self, zalo_msg_id: str, actor: str, at: datetime) -> None:
        if self.status == ReplyStatus.QUEUED:
            self._sent(zalo_msg_id=zalo_msg_id, actor=actor, at=at)

    @event("Sent")
    def _sent(self, zalo_msg_id: str, actor: str, at: datetime) -> None:
        self.status = ReplyStatus.SENT
        self.zalo_msg_id = zalo_msg_id
        self.in_flight = False

    def record_failed(self, code: int | None, reason: str, actor: str, at: datetime) -> None:
        if self.status == ReplyStatus.QUEUED:
            self._failed(code=code, reason=reason, actor=actor, at=at)

    @event("Failed")
    def _failed(self, code: int | None, reason: str, actor: str, at: datetime) -> None:
        self.status = ReplyStatus.FAILED
        self.in_flight = False

    def retry(self, actor: str, at: datetime) -> None:
        """Queue a failed reply again: the outbox makes a new attempt of the same reply."""
        if self.status != ReplyStatus.FAILED:
            raise Conflict(
                f"reply {self.id} is {self.status.value}: only a failed reply can be sent again"
            )
        self._retry_requested(actor=actor, at=at)

    @event("RetryRequested")
    def _retry_requested(self, actor: str, at: datetime) -> None:
        self.status = ReplyStatus.QUEUED

    def record_progress(
        self,
        status: ReplyStatus,
        platform_at: datetime | None,
        receipt_id: UUID,
        actor: str,
        at: datetime,
    ) -> None:
        """A receipt from Zalo; one that would move the reply backwards records nothing."""
        if self.status in PROGRESS and PROGRESS[status] > PROGRESS[self.status]:
            self._progressed(
                status=status, platform_at=platform_at, receipt_id=receipt_id, actor=actor, at=at
            )

    @event("Progressed")
    def _progressed(
        self,
        status: ReplyStatus,
        platform_at: datetime | None,
        receipt_id: UUID,
        actor: str,
        at: datetime,
    ) -> None:
        self.status = status
