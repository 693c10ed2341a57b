"""Ending chats (agent, inactivity, automation), postponing, read marks, agent replies."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate

from domain import actors
from domain.account import ZaloAccount
from domain.chat import Chat
from domain.commands import (
    EndChat,
    EndInactiveChat,
    MarkChatRead,
    PostponeChat,
    PostReply,
)
from domain.contact import Contact
from domain.errors import Conflict
from domain.handlers.base import Decision, DeskBase
from domain.reply import Reply, reused, validate_text
from domain.ticket import Ticket, ticket_status
from domain.values import EndReason, TicketKind, TicketStatus


class ChatHandlers(DeskBase):
    def end_chat(self, cmd: EndChat) -> Ticket:
        """End the chat; its ticket moves to the ticket list with ``cmd.status`` if given.

        Automation rules call this with reason ``automation`` and their own actor:
        "end chat and set status to X".
        """

        def decide() -> Decision[Ticket]:
            chat = self.chat(cmd.chat_id)
            ticket = self.ticket(chat.ticket_id)
            now = self.clock()
            changed = self._end(chat, ticket, EndReason(cmd.reason), cmd.status, cmd.actor, now)
            return ticket, changed

        return self._change(decide)

    def end_inactive_chat(self, cmd: EndInactiveChat) -> bool:
        """End the chat as ``system:inactivity`` if both sides are still quiet; True if it ended."""

        def decide() -> Decision[bool]:
            chat = self.chat(cmd.chat_id)
            now = self.clock()
            if not chat.is_quiet(self._timeout(chat.account_id), now):
                return False, []
            ticket = self.ticket(chat.ticket_id)
            ended = self._end(chat, ticket, EndReason.INACTIVITY, None, actors.INACTIVITY, now)
            return True, ended

        return self._change(decide)

    def postpone_chat(self, cmd: PostponeChat) -> datetime:
        def decide() -> Decision[datetime]:
            chat = self.chat(cmd.chat_id)
            account = self._find(ZaloAccount, chat.account_id)
            allowed = account is not None and account.allow_postpone
            timeout = self._timeout(chat.account_id)
            return chat.postpone(allowed, timeout, cmd.actor, self.clock()), [chat]

        return self._change(decide)

    def mark_chat_read(self, cmd: MarkChatRead) -> None:
        self._update(
            lambda: self.chat(cmd.chat_id), lambda chat, now: chat.mark_read(cmd.actor, now)
        )

    def post_reply(self, cmd: PostReply) -> Reply:
        """Queue a reply; on an ended chat's ticket it starts a new chat session first."""
        validate_text(cmd.text)

        def decide() -> Decision[Reply]:
            ticket = self._ticket_for(cmd)
            existing = self._find(Reply, Reply.create_id(ticket.id, cmd.client_message_id))
            if existing is not None:
                if existing.text != cmd.text:
                    raise Conflict(reused(cmd.client_message_id))
                return existing, []
            now = self.clock()
            contact, chat = self._live_chat(ticket, cmd.actor, now)
            reply = Reply(
                ticket_id=ticket.id,
                chat_id=chat.id,
                account_id=chat.account_id,
                contact_id=contact.id,
                text=cmd.text,
                client_message_id=cmd.client_message_id,
                actor=cmd.actor,
                at=now,
            )
            chat.agent_replied(reply.id, cmd.actor, now)
            # Log order matters to the views: a new session starts before its first reply.
            return reply, [contact, ticket, chat, reply]

        return self._change(decide)

    def _ticket_for(self, cmd: PostReply) -> Ticket:
        if cmd.ticket_id is not None:
            return self.ticket(cmd.ticket_id)
        assert cmd.chat_id is not None
        return self.ticket(self.chat(cmd.chat_id).ticket_id)

    def _live_chat(self, ticket: Ticket, actor: str, now: datetime) -> tuple[Contact, Chat]:
        """The ticket's active chat, or a new session on it (reactivation by the agent)."""
        if ticket.kind != TicketKind.CHAT or ticket.contact_id is None:
            raise Conflict(f"ticket {ticket.id} is not a chat ticket")
        contact = self._find(Contact, ticket.contact_id)
        assert contact is not None
        chat = self._find(Chat, ticket.active_chat_id)
        if chat is not None and not chat.ended:
            return contact, chat
        if contact.active_chat_id is not None and contact.current_ticket_id != ticket.id:
            raise Conflict(
                f"the customer has an active chat on ticket {contact.current_ticket_id}; "
                "answer there"
            )
        chat = self._start_chat(contact, ticket, None, actor, now)
        if ticket.status == TicketStatus.CLOSED:
            ticket.set_status(
                TicketStatus.OPEN, reason="agent replied", receipt_id=None, actor=actor, at=now
            )
        return contact, chat

    def _end(
        self,
        chat: Chat,
        ticket: Ticket,
        reason: EndReason,
        status: str | None,
        actor: str,
        now: datetime,
    ) -> list[Aggregate]:
        new_status = ticket_status(status) if status is not None else None
        contact = self._find(Contact, chat.contact_id)
        assert contact is not None
        chat.end(reason, new_status, actor, now)
        if new_status is not None:
            because = f"chat ended ({reason.value})"
            ticket.set_status(new_status, reason=because, receipt_id=None, actor=actor, at=now)
        ticket.detach_chat(chat.id, actor=actor, at=now)
        contact.detach_chat(chat.id, actor=actor, at=now)
        return [chat, ticket, contact]
