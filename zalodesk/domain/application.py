"""The eventsourcing Application: every command is one small transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from zalodesk.domain import actors, identity
from zalodesk.domain.account import DEFAULT_TOKEN_SECONDS, ZaloAccount
from zalodesk.domain.chat import Chat
from zalodesk.domain.clock import Clock, system_clock
from zalodesk.domain.commands import (
    ConnectAccount,
    DeleteAccount,
    InboundCommand,
    KeepDelivery,
    ReceiveCustomerMessage,
    ReceiveFollow,
    ReceiveMessageStatus,
    ReceiveOAMessage,
    UpdateAccount,
)
from zalodesk.domain.contact import Contact
from zalodesk.domain.errors import NotFound
from zalodesk.domain.receipt import InboundReceipt
from zalodesk.domain.subject import subject_of
from zalodesk.domain.ticket import Ticket
from zalodesk.domain.values import TicketKind, TicketStatus

A = TypeVar("A", bound=Aggregate)

# Forty customers' worth of simultaneous writers to one aggregate all get through.
MAX_ATTEMPTS = 100


class Outcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"


class Zalodesk(Application):  # type: ignore[type-arg]
    name = "zalodesk"
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000", "AGGREGATE_CACHE_FASTFORWARD": "y"}  # noqa: RUF012
    snapshotting_intervals = {Chat: 100, Ticket: 100, Contact: 100}  # noqa: RUF012

    def __init__(self, env: EnvType | None = None, clock: Clock = system_clock) -> None:
        super().__init__(env)
        self.clock = clock

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

    def _effects(self, cmd: InboundCommand, now: Any) -> Sequence[Aggregate]:
        match cmd:
            case ReceiveCustomerMessage():
                return self._customer_message(cmd, now)
            case ReceiveFollow():
                return self._follow(cmd, now)
            case ReceiveOAMessage() | ReceiveMessageStatus() | KeepDelivery():
                return []

    def _customer_message(self, cmd: ReceiveCustomerMessage, now: Any) -> Sequence[Aggregate]:
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
            reactivation = ticket.chat_count > 0
            chat = Chat(
                ticket_id=ticket.id,
                account_id=account_id,
                contact_id=contact.id,
                reactivation=reactivation,
                actor=actor,
                at=now,
            )
            ticket.attach_chat(chat.id, reactivation=reactivation, actor=actor, at=now)
            contact.attach(ticket.id, chat.id, actor=actor, at=now)
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

    def _follow(self, cmd: ReceiveFollow, now: Any) -> Sequence[Aggregate]:
        contact = self._contact(cmd.delivery.account_id, cmd.zalo_user_id, False, now)
        actor = actors.customer(cmd.zalo_user_id)
        if cmd.followed:
            contact.follow(source=cmd.source, actor=actor, at=now)
        else:
            contact.unfollow(source=cmd.source, actor=actor, at=now)
        return [contact]

    def _contact(self, account_id: UUID, zalo_user_id: str, anonymous: bool, now: Any) -> Contact:
        cid = identity.contact_id(account_id, zalo_user_id)
        return self._find(Contact, cid) or Contact(
            account_id=account_id,
            zalo_user_id=zalo_user_id,
            anonymous=anonymous,
            conversation_id=None,
            actor=actors.customer(zalo_user_id),
            at=now,
        )

    # Plumbing

    def _find(self, kind: type[A], aggregate_id: UUID | None) -> A | None:
        if aggregate_id is None:
            return None
        try:
            aggregate = self.repository.get(aggregate_id)
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
