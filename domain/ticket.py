"""The case: what the ticket list shows once a chat has ended, or an async ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import DeskAggregate, EnumAttribute
from domain.errors import InvalidInput
from domain.values import Channel, Direction, RuleTrigger, TicketKind, TicketStatus


def ticket_status(value: str) -> TicketStatus:
    try:
        return TicketStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in TicketStatus)
        raise InvalidInput(f"status must be one of {allowed}, not {value!r}") from None


class Ticket(DeskAggregate):
    kind = EnumAttribute(TicketKind)
    channel = EnumAttribute(Channel)
    status = EnumAttribute(TicketStatus)

    @event("Opened")
    def __init__(
        self,
        kind: TicketKind,
        account_id: UUID | None,
        contact_id: UUID | None,
        subject: str,
        channel: Channel,
        receipt_id: UUID | None,
        actor: str,
        at: datetime,
    ) -> None:
        self.kind = kind
        self.account_id = account_id
        self.contact_id = contact_id
        self.subject = subject
        self.channel = channel
        self.status = TicketStatus.NEW
        self.assignee: str | None = None
        self.tags: list[str] = []
        self.active_chat_id: UUID | None = None
        self.chat_count = 0

    def set_status(
        self, status: str, reason: str, receipt_id: UUID | None, actor: str, at: datetime
    ) -> None:
        new_status = ticket_status(status)
        if new_status != self.status:
            self._status_changed(
                status=new_status, reason=reason, receipt_id=receipt_id, actor=actor, at=at
            )

    @event("StatusChanged")
    def _status_changed(
        self, status: TicketStatus, reason: str, receipt_id: UUID | None, actor: str, at: datetime
    ) -> None:
        self.status = status

    @event("ChatAttached")
    def attach_chat(
        self, chat_id: UUID, reactivation: bool, receipt_id: UUID | None, actor: str, at: datetime
    ) -> None:
        self.active_chat_id = chat_id
        self.chat_count += 1

    @event("ChatDetached")
    def detach_chat(self, chat_id: UUID, actor: str, at: datetime) -> None:
        if self.active_chat_id == chat_id:
            self.active_chat_id = None

    def assign(self, assignee: str | None, actor: str, at: datetime) -> None:
        if assignee != self.assignee:
            self._assigned(assignee=assignee, actor=actor, at=at)

    @event("Assigned")
    def _assigned(self, assignee: str | None, actor: str, at: datetime) -> None:
        self.assignee = assignee

    def retag(self, tags: list[str], actor: str, at: datetime) -> None:
        cleaned = sorted({t.strip() for t in tags if t.strip()})
        if cleaned != self.tags:
            self._tags_set(tags=cleaned, actor=actor, at=at)

    @event("TagsSet")
    def _tags_set(self, tags: list[str], actor: str, at: datetime) -> None:
        self.tags = list(tags)

    @event("MessageAdded")
    def add_message(
        self, message_id: UUID, direction: Direction, text: str, actor: str, at: datetime
    ) -> None:
        pass

    @event("CustomerNamed")
    def name_customer(self, name: str, actor: str, at: datetime) -> None:
        """Who the ticket is about, as its opener named them (an email or a phone call)."""

    @event("RuleFired")
    def record_rule_firing(
        self,
        rule_id: UUID,
        trigger: RuleTrigger,
        outcomes: list[dict[str, Any]],
        actor: str,
        at: datetime,
    ) -> None:
        """An automation rule fired: each of its actions, applied or skipped (and why)."""

    @property
    def reopens_on_customer_message(self) -> bool:
        return self.status == TicketStatus.PENDING

    @property
    def accepts_new_chat(self) -> bool:
        """A customer who writes after their ticket was closed gets a new ticket."""
        return self.status != TicketStatus.CLOSED
