"""The eventsourcing Application: every command is one small transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from zalodesk.domain import actors, identity
from zalodesk.domain.account import DEFAULT_TOKEN_SECONDS, ZaloAccount
from zalodesk.domain.chat import Chat
from zalodesk.domain.clock import Clock, system_clock
from zalodesk.domain.commands import (
    ChangeTicket,
    ConnectAccount,
    DeleteAccount,
    EndChat,
    EndInactiveChat,
    InboundCommand,
    KeepDelivery,
    MarkChatRead,
    OpenTicket,
    PostponeChat,
    PostReply,
    ReceiveCustomerMessage,
    ReceiveFollow,
    ReceiveMessageStatus,
    ReceiveOAMessage,
    UpdateAccount,
)
from zalodesk.domain.contact import Contact
from zalodesk.domain.errors import Conflict, NotFound
from zalodesk.domain.receipt import InboundReceipt
from zalodesk.domain.reply import Reply, validate_text
from zalodesk.domain.subject import subject_of
from zalodesk.domain.ticket import Ticket
from zalodesk.domain.values import EndReason, TicketKind, TicketStatus

A = TypeVar("A", bound=Aggregate)

# Forty customers' worth of simultaneous writers to one aggregate all get through.
MAX_ATTEMPTS = 100


class Outcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"


class Zalodesk(Application):  # type: ignore[type-arg]
    name = "zalodesk"
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000", "AGGREGATE_CACHE_FASTFORWARD": "y"}  # noqa: RUF012
    snapshotting_intervals = {Chat: 100, Ticket: 100, Contact: 100, Reply: 100}  # noqa: RUF012

    def __init__(
        self,
        env: EnvType | None = None,
        clock: Clock = system_clock,
        default_timeout: int = 600,
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.default_timeout = default_timeout

    # Accounts

    def connect_account(self, cmd: ConnectAccount) -> ZaloAccount:
        now = self.clock()
        account = ZaloAccount(
            name=cmd.name,
            app_id=cmd.app_id,
            oa_id=cmd.oa_id,
            app_secret=cmd.app_secret,
            oa_secret_key=cmd.oa_secret_key,
            access_token=cmd.access_token,
            refresh_token=cmd.refresh_token,
            access_token_expires_at=now + timedelta(seconds=cmd.access_token_expires_in),
            chat_inactivity_seconds=cmd.chat_inactivity_seconds,
            allow_postpone=cmd.allow_postpone,
            verification_code=cmd.verification_code,
            actor=cmd.actor,
            at=now,
        )
        self.save(account)
        return account

    def update_account(self, cmd: UpdateAccount) -> ZaloAccount:
        def change() -> Sequence[Aggregate]:
            account = self.account(cmd.account_id)
            now = self.clock()
            account.update(cmd.changes, actor=cmd.actor, at=now)
            if cmd.access_token or cmd.refresh_token:
                account.rotate_tokens(
                    access_token=cmd.access_token or account.access_token,
                    refresh_token=cmd.refresh_token or account.refresh_token,
                    expires_in=cmd.access_token_expires_in or DEFAULT_TOKEN_SECONDS,
                    actor=cmd.actor,
                    at=now,
                )
            return [account]

        return self._retrying(change)[0]  # type: ignore[return-value]

    def delete_account(self, cmd: DeleteAccount) -> None:
        account = self.account(cmd.account_id)
        account.delete(actor=cmd.actor, at=self.clock())
        self.save(account)

    def account(self, account_id: UUID) -> ZaloAccount:
        account = self._find(ZaloAccount, account_id)
        if account is None or account.deleted:
            raise NotFound("account", account_id)
        return account

    # Webhooks

    def receive(self, cmd: InboundCommand) -> Outcome:
        """Store one delivery with everything it changes, exactly once.

        A conflict on the receipt means Zalo sent it again: nothing changes. A
        conflict on any other aggregate is a concurrent write: run it again.
        """
        delivery = cmd.delivery
        rid = identity.receipt_id(
            delivery.account_id, delivery.event_name, delivery.msg_id, delivery.raw_body.encode()
        )

        def record() -> Sequence[Aggregate]:
            if self._exists(rid):
                return []
            now = self.clock()
            receipt = InboundReceipt(
                account_id=delivery.account_id,
                event_name=delivery.event_name,
                msg_id=delivery.msg_id,
                raw_body=delivery.raw_body,
                platform_at=delivery.platform_at,
                num_retry=delivery.num_retry,
                actor=actors.ZALO,
                at=now,
            )
            return [receipt, *self._effects(cmd, now)]

        return Outcome.RECORDED if self._retrying(record) else Outcome.DUPLICATE

    def _effects(self, cmd: InboundCommand, now: datetime) -> Sequence[Aggregate]:
        match cmd:
            case ReceiveCustomerMessage():
                return self._customer_message(cmd, now)
            case ReceiveFollow():
                return self._follow(cmd, now)
            case ReceiveOAMessage() | ReceiveMessageStatus() | KeepDelivery():
                return []

    def _customer_message(self, cmd: ReceiveCustomerMessage, now: datetime) -> Sequence[Aggregate]:
        account_id, customer, message = cmd.delivery.account_id, cmd.customer, cmd.message
        actor = actors.customer(customer.zalo_user_id)
        contact = self._contact(account_id, customer.zalo_user_id, customer.anonymous, now)
        contact.note_conversation(customer.conversation_id, actor=actor, at=now)
        ticket = self._find(Ticket, contact.current_ticket_id)
        chat = self._find(Chat, contact.active_chat_id)
        if ticket is None or not ticket.accepts_new_chat:
            ticket = Ticket(
                kind=TicketKind.CHAT.value,
                account_id=account_id,
                contact_id=contact.id,
                subject=subject_of(message.kind, message.text),
                channel="zalo",
                actor=actor,
                at=now,
            )
            chat = None
        if chat is None or chat.ended:
            chat = self._start_chat(contact, ticket, actor, now)
        if ticket.reopens_on_customer_message:
            ticket.set_status(TicketStatus.OPEN, actor=actor, at=now, reason="customer replied")
        chat.receive_customer_message(
            message_id=identity.message_id(account_id, f"zalo:{message.msg_id}"),
            zalo_msg_id=message.msg_id,
            kind=message.kind,
            text=message.text,
            attachments=list(message.attachments),
            quote_msg_id=message.quote_msg_id,
            platform_at=cmd.delivery.platform_at,
            actor=actor,
            at=now,
        )
        return [contact, ticket, chat]

    def _follow(self, cmd: ReceiveFollow, now: datetime) -> Sequence[Aggregate]:
        contact = self._contact(cmd.delivery.account_id, cmd.zalo_user_id, False, now)
        actor = actors.customer(cmd.zalo_user_id)
        if cmd.followed:
            contact.follow(source=cmd.source, actor=actor, at=now)
        else:
            contact.unfollow(source=cmd.source, actor=actor, at=now)
        return [contact]

    def _contact(
        self, account_id: UUID, zalo_user_id: str, anonymous: bool, now: datetime
    ) -> Contact:
        cid = identity.contact_id(account_id, zalo_user_id)
        return self._find(Contact, cid) or Contact(
            account_id=account_id,
            zalo_user_id=zalo_user_id,
            anonymous=anonymous,
            conversation_id=None,
            actor=actors.customer(zalo_user_id),
            at=now,
        )

    # Chats

    def end_chat(self, cmd: EndChat) -> Ticket:
        """End the chat; its ticket moves to the ticket list with ``cmd.status`` if given."""

        def change() -> Sequence[Aggregate]:
            chat = self.chat(cmd.chat_id)
            return self._end(chat, EndReason(cmd.reason), cmd.status, cmd.actor, self.clock())

        return self._retrying(change)[1]  # type: ignore[return-value]

    def end_inactive_chat(self, cmd: EndInactiveChat) -> bool:
        """End the chat as ``system:inactivity`` if both sides are still quiet; True if it ended."""

        def change() -> Sequence[Aggregate]:
            chat = self.chat(cmd.chat_id)
            now = self.clock()
            if not chat.is_quiet(self._timeout(chat.account_id), now):
                return []
            return self._end(chat, EndReason.INACTIVITY, None, actors.INACTIVITY, now)

        return bool(self._retrying(change))

    def postpone_chat(self, cmd: PostponeChat) -> datetime:
        chat = self.chat(cmd.chat_id)
        account = self._find(ZaloAccount, chat.account_id)
        allowed = account is not None and account.allow_postpone
        until = chat.postpone(allowed, self._timeout(chat.account_id), cmd.actor, self.clock())
        self.save(chat)
        return until

    def mark_chat_read(self, cmd: MarkChatRead) -> None:
        chat = self.chat(cmd.chat_id)
        chat.mark_read(cmd.actor, self.clock())
        self.save(chat)

    def post_reply(self, cmd: PostReply) -> Reply:
        """Queue a reply; on an ended chat's ticket it starts a new chat session first."""
        validate_text(cmd.text)

        def change() -> Sequence[Aggregate]:
            ticket = self._ticket_for(cmd)
            reply_id = Reply.create_id(ticket.id, cmd.client_message_id)
            existing = self._find(Reply, reply_id)
            if existing is not None:
                return [existing]
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
            return [contact, ticket, chat, reply]

        return self._retrying(change)[-1]  # type: ignore[return-value]

    def chat(self, chat_id: UUID) -> Chat:
        chat = self._find(Chat, chat_id)
        if chat is None:
            raise NotFound("chat", chat_id)
        return chat

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
        chat = self._start_chat(contact, ticket, actor, now)
        if ticket.status == TicketStatus.CLOSED:
            ticket.set_status(TicketStatus.OPEN, actor=actor, at=now, reason="agent replied")
        return contact, chat

    def _start_chat(self, contact: Contact, ticket: Ticket, actor: str, now: datetime) -> Chat:
        reactivation = ticket.chat_count > 0
        chat = Chat(
            ticket_id=ticket.id,
            account_id=contact.account_id,
            contact_id=contact.id,
            reactivation=reactivation,
            actor=actor,
            at=now,
        )
        ticket.attach_chat(chat.id, reactivation=reactivation, actor=actor, at=now)
        contact.attach(ticket.id, chat.id, actor=actor, at=now)
        return chat

    def _end(
        self, chat: Chat, reason: EndReason, status: str | None, actor: str, now: datetime
    ) -> Sequence[Aggregate]:
        ticket = self.ticket(chat.ticket_id)
        contact = self._find(Contact, chat.contact_id)
        assert contact is not None
        chat.end(reason, status, actor, now)
        if status is not None:
            ticket.set_status(status, actor=actor, at=now, reason=f"chat ended ({reason.value})")
        ticket.detach_chat(chat.id, actor=actor, at=now)
        contact.detach_chat(chat.id, actor=actor, at=now)
        return [chat, ticket, contact]

    def _timeout(self, account_id: UUID) -> int:
        account = self._find(ZaloAccount, account_id)
        return account.chat_inactivity_seconds if account else self.default_timeout

    # Tickets

    def ticket(self, ticket_id: UUID) -> Ticket:
        ticket = self._find(Ticket, ticket_id)
        if ticket is None:
            raise NotFound("ticket", ticket_id)
        return ticket

    def change_ticket(self, cmd: ChangeTicket) -> Ticket:
        def change() -> Sequence[Aggregate]:
            ticket = self.ticket(cmd.ticket_id)
            now = self.clock()
            if cmd.status is not None:
                ticket.set_status(cmd.status, actor=cmd.actor, at=now, reason=cmd.reason)
            if cmd.change_assignee:
                ticket.assign(cmd.assignee, actor=cmd.actor, at=now)
            if cmd.tags is not None:
                ticket.retag(list(cmd.tags), actor=cmd.actor, at=now)
            return [ticket]

        return self._retrying(change)[0]  # type: ignore[return-value]

    def open_ticket(self, cmd: OpenTicket) -> Ticket:
        validate_text(cmd.text)
        now = self.clock()
        contact = None
        if cmd.account_id is not None and cmd.zalo_user_id:
            self.account(cmd.account_id)
            contact = self._contact(cmd.account_id, cmd.zalo_user_id, False, now)
        ticket = Ticket(
            kind=TicketKind.ASYNC.value,
            account_id=cmd.account_id,
            contact_id=contact.id if contact else None,
            subject=cmd.subject.strip() or subject_of("text", cmd.text),
            channel="zalo" if contact else "api",
            actor=cmd.actor,
            at=now,
        )
        ticket.add_message(
            message_id=identity.message_id(ticket.id, "opening"),
            direction="in",
            text=cmd.text,
            actor=cmd.actor,
            at=now,
        )
        self.save(ticket, contact)
        return ticket

    def add_ticket_note(self, cmd: PostReply) -> UUID:
        """An agent's message on an asynchronous ticket, recorded on the ticket."""
        validate_text(cmd.text)
        assert cmd.ticket_id is not None
        ticket = self.ticket(cmd.ticket_id)
        key = f"client:{cmd.client_message_id}" if cmd.client_message_id else str(uuid4())
        message_id = identity.message_id(ticket.id, key)
        ticket.add_message(
            message_id, direction="out", text=cmd.text, actor=cmd.actor, at=self.clock()
        )
        self.save(ticket)
        return message_id

    # Plumbing

    def _find(self, kind: type[A], aggregate_id: UUID | None) -> A | None:
        if aggregate_id is None:
            return None
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, kind):
            return None
        return aggregate

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _retrying(self, change: Callable[[], Sequence[Aggregate]]) -> Sequence[Aggregate]:
        for _ in range(MAX_ATTEMPTS):
            changed = change()
            if not changed:
                return changed
            try:
                self.save(*changed)
            except IntegrityError:
                continue
            return changed
        raise IntegrityError(f"gave up after {MAX_ATTEMPTS} conflicts")
