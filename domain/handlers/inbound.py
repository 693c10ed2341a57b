"""Webhook deliveries: each stored once, with everything it changes, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import actors, identity
from domain.chat import Chat
from domain.commands import (
    InboundCommand,
    KeepDelivery,
    ReceiveCustomerMessage,
    ReceiveFollow,
    ReceiveMessageStatus,
    ReceiveOAMessage,
)
from domain.contact import Contact
from domain.handlers.base import Decision, DeskBase
from domain.receipt import InboundReceipt
from domain.reply import Reply
from domain.subject import subject_of
from domain.ticket import Ticket
from domain.values import Channel, MessageOwner, Settlement, TicketKind, TicketStatus
from domain.zalo_message import ZaloMessage

Effects = tuple[list[Aggregate], bool]  # what changed, and whether the delivery is settled


class Outcome(StrEnum):
    RECORDED = "recorded"
    MALFORMED = "malformed"  # kept, but nothing in it could be acted on
    DUPLICATE = "duplicate"


class InboundHandlers(DeskBase):
    def receive(self, cmd: InboundCommand) -> Outcome:
        """Store one delivery with everything it changes, exactly once.

        A conflict on the receipt means Zalo sent it again: nothing changes. A
        conflict on any other aggregate is a concurrent write: run it again.
        """
        rid = InboundReceipt.id_of(cmd.delivery)
        problem = cmd.problem if isinstance(cmd, KeepDelivery) else None
        attempts = 0

        def decide() -> Decision[Outcome]:
            # Saving is the duplicate check: only after a conflict is the receipt looked for.
            nonlocal attempts
            attempts += 1
            if attempts > 1 and self._exists(rid):
                return Outcome.DUPLICATE, []
            now = self.clock()
            changed, settled = self._effects(cmd, rid, now, final=False)
            receipt = InboundReceipt.of(cmd.delivery, settled, problem, now)
            return Outcome.MALFORMED if problem else Outcome.RECORDED, [receipt, *changed]

        return self._change(decide)

    def settle(self, receipt_id: UUID, cmd: InboundCommand) -> Settlement | None:
        """Place an echo or receipt that could not be placed on arrival; the grace time is over.

        None when it was placed already (by another settler, or on a second look).
        """

        def decide() -> Decision[Settlement | None]:
            receipt = self._find(InboundReceipt, receipt_id)
            if receipt is None or receipt.settled:
                return None, []
            now = self.clock()
            changed, _ = self._effects(cmd, receipt_id, now, final=True)
            outcome = self._settlement(cmd, changed)
            receipt.settle(outcome=outcome, actor=actors.SYSTEM, at=now)
            return outcome, [receipt, *changed]

        return self._change(decide)

    def _effects(self, cmd: InboundCommand, rid: UUID, now: datetime, final: bool) -> Effects:
        """What the delivery ``rid`` changes; every event it causes records ``rid``."""
        match cmd:
            case ReceiveCustomerMessage():
                return self._customer_message(cmd, rid, now), True
            case ReceiveFollow():
                return self._follow(cmd, rid, now), True
            case ReceiveOAMessage():
                return self._oa_message(cmd, rid, now, final)
            case ReceiveMessageStatus():
                return self._message_status(cmd, rid, now, final)
        return [], True

    def _customer_message(
        self, cmd: ReceiveCustomerMessage, rid: UUID, now: datetime
    ) -> list[Aggregate]:
        account_id, customer, message = cmd.delivery.account_id, cmd.customer, cmd.message
        actor = actors.customer(customer.zalo_user_id)
        contact = self._contact(account_id, customer.zalo_user_id, customer.anonymous, rid, now)
        contact.note_conversation(customer.conversation_id, receipt_id=rid, actor=actor, at=now)
        ticket, chat = self._conversation(
            contact, subject_of(message.kind, message.text), rid, actor, now
        )
        if ticket.reopens_on_customer_message:
            ticket.set_status(
                TicketStatus.OPEN, reason="customer replied", receipt_id=rid, actor=actor, at=now
            )
        chat.receive_customer_message(
            **recorded(cmd, rid),
            quote_msg_id=message.quote_msg_id,
            actor=actor,
            at=now,
        )
        return [contact, ticket, chat]

    def _conversation(
        self, contact: Contact, subject: str, rid: UUID, actor: str, now: datetime
    ) -> tuple[Ticket, Chat]:
        """The contact's live chat: the current one, a new session, or a new ticket."""
        ticket = self._find(Ticket, contact.current_ticket_id)
        chat = self._find(Chat, contact.active_chat_id)
        if ticket is None or not ticket.accepts_new_chat:
            ticket = Ticket(
                kind=TicketKind.CHAT,
                account_id=contact.account_id,
                contact_id=contact.id,
                subject=subject,
                channel=Channel.ZALO,
                receipt_id=rid,
                actor=actor,
                at=now,
            )
            chat = None
        if chat is None or chat.ended:
            chat = self._start_chat(contact, ticket, rid, actor, now)
        return ticket, chat

    def _follow(self, cmd: ReceiveFollow, rid: UUID, now: datetime) -> list[Aggregate]:
        contact = self._contact(cmd.delivery.account_id, cmd.zalo_user_id, False, rid, now)
        actor = actors.customer(cmd.zalo_user_id)
        if cmd.followed:
            contact.follow(source=cmd.source, receipt_id=rid, actor=actor, at=now)
        else:
            contact.unfollow(source=cmd.source, receipt_id=rid, actor=actor, at=now)
        return [contact]

    def _oa_message(self, cmd: ReceiveOAMessage, rid: UUID, now: datetime, final: bool) -> Effects:
        """Our own send echoed back shows nothing new; a message typed in the OA manager shows.

        ``sender.admin_id`` marks a person in the OA manager. Without it, the echo is ours
        once our send call returns and claims the id; if nobody claims it within the grace
        time, it was sent by someone else, and the settler records it (``final``).
        """
        account_id, message = cmd.delivery.account_id, cmd.message
        if self._exists(ZaloMessage.create_id(account_id, message.msg_id)):
            return [], True
        if cmd.admin_id is None and not final:
            return [], False
        actor = actors.OA_MANAGER
        customer = cmd.customer
        contact = self._contact(account_id, customer.zalo_user_id, customer.anonymous, rid, now)
        ticket, chat = self._conversation(
            contact, subject_of(message.kind, message.text), rid, actor, now
        )
        claim = ZaloMessage.claim(account_id, message.msg_id, chat.id, now, receipt_id=rid)
        chat.record_oa_manager_message(
            **recorded(cmd, rid),
            admin_id=cmd.admin_id,
            actor=actor,
            at=now,
        )
        return [contact, ticket, chat, claim], True

    def _message_status(
        self, cmd: ReceiveMessageStatus, rid: UUID, now: datetime, final: bool
    ) -> Effects:
        """Receipts are matched by msg_id, never by sender (sources disagree on the sender)."""
        changed: list[Aggregate] = []
        unmatched = False
        for msg_id in cmd.msg_ids:
            claim = self._find(ZaloMessage, ZaloMessage.create_id(cmd.delivery.account_id, msg_id))
            reply = self._find(Reply, claim.reply_id if claim else None)
            if reply is None:
                unmatched = unmatched or claim is None
                continue
            reply.record_progress(cmd.status, cmd.delivery.platform_at, rid, actors.ZALO, now)
            changed.append(reply)
        return changed, final or not unmatched

    def _settlement(self, cmd: InboundCommand, changed: Sequence[Aggregate]) -> Settlement:
        """How a delivery placed after the grace time ended up (before its effects are saved)."""
        if isinstance(cmd, ReceiveOAMessage):
            claim_id = ZaloMessage.create_id(cmd.delivery.account_id, cmd.message.msg_id)
            claim = self._find(ZaloMessage, claim_id)
            ours = claim is not None and claim.owner == MessageOwner.OUR_REPLY
            return Settlement.OUR_REPLY_ECHO if ours else Settlement.OA_MANAGER_MESSAGE
        return Settlement.REPLY_STATUS if changed else Settlement.UNMATCHED


def recorded(cmd: ReceiveCustomerMessage | ReceiveOAMessage, rid: UUID) -> dict[str, Any]:
    """What a chat records of a message Zalo delivered, whoever wrote it."""
    delivery, message = cmd.delivery, cmd.message
    return {
        "message_id": identity.message_id(delivery.account_id, f"zalo:{message.msg_id}"),
        "zalo_msg_id": message.msg_id,
        "kind": message.kind,
        "text": message.text,
        "attachments": list(message.attachments),
        "platform_at": delivery.platform_at,
        "receipt_id": rid,
    }
