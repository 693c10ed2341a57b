"""One synchronous session of a conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain import inactivity
from domain.aggregate import DeskAggregate, fields_added
from domain.errors import Conflict
from domain.values import EndReason, MessageKind, TicketStatus


class Chat(DeskAggregate):
    """Holds only what its decisions need: who spoke last, when, and whether it has ended.

    Message text lives in the events and the views, never in a list here, so the
    cost of a new message does not grow with the chat's length.
    """

    class CustomerMessageReceived(DeskAggregate.Event):
        """Version 2 added ``receipt_id``: events stored before it are read with None."""

        message_id: UUID
        zalo_msg_id: str
        kind: MessageKind
        text: str
        attachments: list[dict[str, Any]]
        quote_msg_id: str | None
        platform_at: datetime | None
        receipt_id: UUID | None
        actor: str
        at: datetime

        class_version = 2
        upcast_v1_v2 = fields_added(receipt_id=None)

    class AgentReplied(DeskAggregate.Event):
        """A reply (an agent's, or a rule's) was queued on the chat.

        Version 2 added ``activity``: whether this event is itself the agent's activity on
        the chat. Events stored before it are read with True (a reply counted as activity
        when it was queued). From version 2 on it is False: the activity is ``ReplySent``,
        recorded once Zalo accepted the reply, so a reply that fails leaves the customer
        waiting and the inactivity clock running.
        """

        message_id: UUID
        activity: bool
        actor: str
        at: datetime

        class_version = 2
        upcast_v1_v2 = fields_added(activity=True)

    @event("Started")
    def __init__(
        self,
        ticket_id: UUID,
        account_id: UUID,
        contact_id: UUID,
        reactivation: bool,
        receipt_id: UUID | None,
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

    @event(CustomerMessageReceived)
    def receive_customer_message(
        self,
        message_id: UUID,
        zalo_msg_id: str,
        kind: MessageKind,
        text: str,
        attachments: list[dict[str, Any]],
        quote_msg_id: str | None,
        platform_at: datetime | None,
        receipt_id: UUID | None,
        actor: str,
        at: datetime,
    ) -> None:
        self._require_active()
        self._active_at(at)

    def agent_replied(self, message_id: UUID, actor: str, at: datetime) -> None:
        """A reply to the customer is on its way: activity only once Zalo accepts it."""
        self._agent_replied(message_id=message_id, activity=False, actor=actor, at=at)

    @event(AgentReplied)
    def _agent_replied(self, message_id: UUID, activity: bool, actor: str, at: datetime) -> None:
        self._require_active()
        if activity:
            self._active_at(at)

    def reply_sent(self, message_id: UUID, actor: str, at: datetime) -> bool:
        """Zalo accepted a reply: the agent's activity, unless the chat has ended meanwhile."""
        if self.ended:
            return False
        self._reply_sent(message_id=message_id, actor=actor, at=at)
        return True

    @event("ReplySent")
    def _reply_sent(self, message_id: UUID, actor: str, at: datetime) -> None:
        self._require_active()
        self._active_at(at)

    @event("OAManagerMessageRecorded")
    def record_oa_manager_message(
        self,
        message_id: UUID,
        zalo_msg_id: str,
        kind: MessageKind,
        text: str,
        attachments: list[dict[str, Any]],
        admin_id: str | None,
        platform_at: datetime | None,
        receipt_id: UUID,
        actor: str,
        at: datetime,
    ) -> None:
        """Staff typed in Zalo's OA manager: the OA's message, and agent activity."""
        self._require_active()
        self._active_at(at)

    def postpone(self, allowed: bool, timeout_seconds: int, actor: str, at: datetime) -> datetime:
        """Move the automatic end five minutes later than it was; returns the new time."""
        self._require_active()
        if not allowed:
            raise Conflict("this account does not allow postponing the end of a chat")
        self._postponed(seconds=inactivity.POSTPONE_SECONDS, actor=actor, at=at)
        return self.auto_end_at(timeout_seconds)

    @event("Postponed")
    def _postponed(self, seconds: int, actor: str, at: datetime) -> None:
        self.extra_seconds += seconds

    @event("ReadMarked")
    def mark_read(self, actor: str, at: datetime) -> None:
        pass

    def is_quiet(self, timeout_seconds: int, now: datetime) -> bool:
        return not self.ended and self.auto_end_at(timeout_seconds) <= now

    @event("Ended")
    def end(self, reason: EndReason, status: TicketStatus | None, actor: str, at: datetime) -> None:
        self._require_active()
        self.ended = True

    def auto_end_at(self, timeout_seconds: int) -> datetime:
        return inactivity.auto_end_at(self.last_activity_at, timeout_seconds, self.extra_seconds)

    def _active_at(self, at: datetime) -> None:
        # Activity of either side restarts the inactivity clock and drops any postponement.
        self.last_activity_at = max(self.last_activity_at, at)
        self.extra_seconds = 0

    def _require_active(self) -> None:
        # Runs inside the event's method: when it raises, no event is recorded and
        # the chat's version does not move. It runs again on replay, where it holds.
        if self.ended:
            raise Conflict(f"chat {self.id} has ended")
