"""One synchronous session of a conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from zalodesk.domain import inactivity
from zalodesk.domain.errors import Conflict
from zalodesk.domain.values import EndReason


class Chat(Aggregate):
    """Holds only what its decisions need: who spoke last, when, and whether it has ended.

    Message text lives in the events and the views, never in a list here, so the
    cost of a new message does not grow with the chat's length.
    """

    @staticmethod
    def create_id() -> UUID:
        return uuid4()

    @event("Started")
    def __init__(
        self,
        ticket_id: UUID,
        account_id: UUID,
        contact_id: UUID,
        reactivation: bool,
        actor: str,
        at: datetime,
    ) -> None:
        self.ticket_id = ticket_id
        self.account_id = account_id
        self.contact_id = contact_id
        self.started_at = at
        self.last_activity_at = at
        self.extra_seconds = 0
        self.ended = False

    def receive_customer_message(
        self,
        message_id: UUID,
        zalo_msg_id: str,
        kind: str,
        text: str,
        attachments: list[dict[str, Any]],
        quote_msg_id: str | None,
        platform_at: datetime | None,
        actor: str,
        at: datetime,
    ) -> None:
        self._require_active()
        self._customer_message_received(
            message_id=message_id,
            zalo_msg_id=zalo_msg_id,
            kind=kind,
            text=text,
            attachments=attachments,
            quote_msg_id=quote_msg_id,
            platform_at=platform_at,
            actor=actor,
            at=at,
        )

    @event("CustomerMessageReceived")
    def _customer_message_received(
        self,
        message_id: UUID,
        zalo_msg_id: str,
        kind: str,
        text: str,
        attachments: list[dict[str, Any]],
        quote_msg_id: str | None,
        platform_at: datetime | None,
        actor: str,
        at: datetime,
    ) -> None:
        self._active_at(at)

    def end(self, reason: EndReason, status: str | None, actor: str, at: datetime) -> None:
        self._require_active()
        self._ended(reason=reason.value, status=status, actor=actor, at=at)

    @event("Ended")
    def _ended(self, reason: str, status: str | None, actor: str, at: datetime) -> None:
        self.ended = True

    def auto_end_at(self, timeout_seconds: int) -> datetime:
        return inactivity.auto_end_at(self.last_activity_at, timeout_seconds, self.extra_seconds)

    def _active_at(self, at: datetime) -> None:
        # Activity of either side restarts the inactivity clock and drops any postponement.
        self.last_activity_at = max(self.last_activity_at, at)
        self.extra_seconds = 0

    def _require_active(self) -> None:
        if self.ended:
            raise Conflict(f"chat {self.id} has ended")
