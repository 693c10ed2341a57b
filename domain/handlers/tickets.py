"""Ticket status, assignee and tags; asynchronous tickets and their messages."""

from __future__ import annotations

from uuid import UUID, uuid4

from domain import identity
from domain.commands import ChangeTicket, OpenTicket, PostReply
from domain.errors import Conflict
from domain.handlers.base import Decision, DeskBase
from domain.reply import reused, validate_text
from domain.subject import subject_of
from domain.ticket import Ticket
from domain.values import Channel, Direction, MessageKind, TicketKind


class TicketHandlers(DeskBase):
    def change_ticket(self, cmd: ChangeTicket) -> Ticket:
        def decide() -> Decision[Ticket]:
            ticket = self.ticket(cmd.ticket_id)
            now = self.clock()
            if cmd.status is not None:
                ticket.set_status(
                    cmd.status, reason=cmd.reason, receipt_id=None, actor=cmd.actor, at=now
                )
            if cmd.change_assignee:
                ticket.assign(cmd.assignee, actor=cmd.actor, at=now)
            if cmd.tags is not None:
                ticket.retag(list(cmd.tags), actor=cmd.actor, at=now)
            return ticket, [ticket]

        return self._change(decide)

    def open_ticket(self, cmd: OpenTicket) -> Ticket:
        validate_text(cmd.text)

        def decide() -> Decision[Ticket]:
            now = self.clock()
            contact = None
            if cmd.account_id is not None:
                self.account(cmd.account_id)
            if cmd.account_id is not None and cmd.zalo_user_id:
                contact = self._contact(cmd.account_id, cmd.zalo_user_id, False, None, now)
            ticket = Ticket(
                kind=TicketKind.ASYNC,
                account_id=cmd.account_id,
                contact_id=contact.id if contact else None,
                subject=cmd.subject.strip() or subject_of(MessageKind.TEXT, cmd.text),
                channel=Channel.ZALO if contact else Channel.API,
                receipt_id=None,
                actor=cmd.actor,
                at=now,
            )
            if cmd.customer_name and cmd.customer_name.strip():
                ticket.name_customer(cmd.customer_name.strip(), actor=cmd.actor, at=now)
            ticket.add_message(
                message_id=identity.message_id(ticket.id, "opening"),
                direction=Direction.IN,
                text=cmd.text,
                actor=cmd.actor,
                at=now,
            )
            return ticket, [contact, ticket] if contact else [ticket]

        return self._change(decide)

    def add_ticket_note(self, cmd: PostReply) -> UUID:
        """An agent's message on an asynchronous ticket, recorded on the ticket."""
        validate_text(cmd.text)
        ticket_id = cmd.ticket_id
        assert ticket_id is not None
        key = f"client:{cmd.client_message_id}" if cmd.client_message_id else str(uuid4())
        message_id = identity.message_id(ticket_id, key)

        def decide() -> Decision[UUID]:
            ticket = self.ticket(ticket_id)
            if cmd.client_message_id:
                earlier = self._note_text(ticket_id, message_id)
                if earlier is not None and earlier != cmd.text:
                    raise Conflict(reused(cmd.client_message_id))
                if earlier is not None:
                    return message_id, []
            ticket.add_message(
                message_id, direction=Direction.OUT, text=cmd.text, actor=cmd.actor, at=self.clock()
            )
            return message_id, [ticket]

        return self._change(decide)

    def _note_text(self, ticket_id: UUID, message_id: UUID) -> str | None:
        """The text of the ticket's message ``message_id``, if it was recorded already."""
        added = vars(Ticket)["MessageAdded"]
        for recorded in self.repository.event_store.get(ticket_id):
            if isinstance(recorded, added) and recorded.message_id == message_id:
                return str(recorded.text)
        return None
