"""Everything a webhook delivery changes names that delivery; nothing else claims one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.application import Zalodesk
from domain.commands import (
    ChangeTicket,
    Customer,
    Delivery,
    EndChat,
    InboundCommand,
    InboundMessage,
    PostReply,
    ReceiveCustomerMessage,
    ReceiveFollow,
    ReceiveMessageStatus,
    ReceiveOAMessage,
)
from domain.contact import Contact
from domain.identity import contact_id
from domain.values import MessageKind, MessageOwner, ReplyStatus, Settlement

CUSTOMER = "2687558107438251665"


class Log:
    """The desk's log, read a transaction at a time."""

    def __init__(self, desk: Zalodesk) -> None:
        self.desk = desk
        self.position = 0

    def since_last(self) -> list[Any]:
        found = self.desk.recorder.select_notifications(
            start=self.position, limit=1000, inclusive_of_start=False
        )
        if found:
            self.position = found[-1].id
        return [self.desk.mapper.to_domain_event(n) for n in found]


@pytest.fixture
def log(desk: Zalodesk, account_id: UUID) -> Log:
    log = Log(desk)
    log.since_last()  # the account's connection
    return log


def delivery(account_id: UUID, event_name: str, key: str) -> Delivery:
    return Delivery(account_id, event_name, f'{{"key":"{key}"}}', key, None)


def customer_says(account_id: UUID, msg_id: str) -> ReceiveCustomerMessage:
    return ReceiveCustomerMessage(
        delivery(account_id, "user_send_text", msg_id),
        Customer(CUSTOMER),
        InboundMessage(msg_id=msg_id, kind=MessageKind.TEXT, text="Còn size M không?"),
    )


def oa_manager_says(account_id: UUID, msg_id: str, admin_id: str | None) -> ReceiveOAMessage:
    return ReceiveOAMessage(
        delivery(account_id, "oa_send_text", msg_id),
        Customer(CUSTOMER),
        InboundMessage(msg_id=msg_id, kind=MessageKind.TEXT, text="Shop gửi mã giảm giá"),
        admin_id=admin_id,
    )


def caused_by_one_delivery(desk: Zalodesk, log: Log, cmd: InboundCommand) -> list[Any]:
    """Receive the delivery; every event stored with its receipt names that receipt."""
    desk.receive(cmd)
    [received, *effects] = log.since_last()
    assert type(received).__qualname__ == "InboundReceipt.Received"
    assert [e.receipt_id for e in effects] == [received.originator_id] * len(effects)
    return effects


def names(events: list[Any]) -> list[str]:
    return [type(e).__qualname__ for e in events]


def test_a_first_message_names_its_delivery_everywhere(
    desk: Zalodesk, account_id: UUID, log: Log
) -> None:
    effects = caused_by_one_delivery(desk, log, customer_says(account_id, "m1"))

    assert sorted(names(effects)) == [
        "Chat.CustomerMessageReceived",
        "Chat.Started",
        "Contact.ConversationAttached",
        "Contact.Registered",
        "Ticket.ChatAttached",
        "Ticket.Opened",
    ]


def test_a_customer_back_on_a_pending_ticket_reopens_it_by_that_delivery(
    desk: Zalodesk, account_id: UUID, log: Log
) -> None:
    desk.receive(customer_says(account_id, "m1"))
    customer: Contact = desk.repository.get(contact_id(account_id, CUSTOMER))
    assert customer.active_chat_id is not None
    desk.end_chat(EndChat(customer.active_chat_id, "agent:lan", "agent", "pending"))
    log.since_last()

    effects = caused_by_one_delivery(desk, log, customer_says(account_id, "m2"))

    [reopened] = [e for e in effects if type(e).__qualname__ == "Ticket.StatusChanged"]
    assert (reopened.status, reopened.reason) == ("open", "customer replied")


def test_follows_and_unfollows_name_their_delivery(
    desk: Zalodesk, account_id: UUID, log: Log
) -> None:
    follow = ReceiveFollow(delivery(account_id, "follow", "f1"), CUSTOMER, True, "oa_profile")
    unfollow = ReceiveFollow(delivery(account_id, "unfollow", "f2"), CUSTOMER, False)

    assert names(caused_by_one_delivery(desk, log, follow)) == [
        "Contact.Registered",
        "Contact.Followed",
    ]
    assert names(caused_by_one_delivery(desk, log, unfollow)) == ["Contact.Unfollowed"]


def test_the_oa_managers_message_and_its_claim_name_their_delivery(
    desk: Zalodesk, account_id: UUID, log: Log
) -> None:
    desk.receive(customer_says(account_id, "m1"))
    log.since_last()

    effects = caused_by_one_delivery(desk, log, oa_manager_says(account_id, "o1", "8471026"))

    assert names(effects) == ["Chat.OAManagerMessageRecorded", "ZaloMessage.Claimed"]
    assert effects[1].owner == MessageOwner.OA_MANAGER and effects[1].reply_id is None


def test_an_echo_placed_late_names_the_delivery_not_the_settler(
    desk: Zalodesk, account_id: UUID, log: Log
) -> None:
    desk.receive(customer_says(account_id, "m1"))
    log.since_last()
    echo = oa_manager_says(account_id, "o2", admin_id=None)
    desk.receive(echo)
    [received] = log.since_last()  # nothing placed yet: it may be our own reply's echo
    assert received.settled is False

    assert desk.settle(received.originator_id, echo) == Settlement.OA_MANAGER_MESSAGE

    [settled, *effects] = log.since_last()
    assert (names([settled]), settled.outcome) == (["InboundReceipt.Settled"], "oa_manager_message")
    assert names(effects) == ["Chat.OAManagerMessageRecorded", "ZaloMessage.Claimed"]
    assert {e.receipt_id for e in effects} == {received.originator_id}
    assert desk.settle(received.originator_id, echo) is None


def test_our_reply_and_its_receipts(desk: Zalodesk, account_id: UUID, log: Log) -> None:
    desk.receive(customer_says(account_id, "m1"))
    customer: Contact = desk.repository.get(contact_id(account_id, CUSTOMER))
    log.since_last()
    reply = desk.post_reply(PostReply("agent:lan", "Dạ còn ạ", chat_id=customer.active_chat_id))
    desk.begin_send(reply.id)
    desk.record_sent(reply.id, "z1")
    done_by_us = log.since_last()
    assert all(getattr(e, "receipt_id", None) is None for e in done_by_us)
    [claim] = [e for e in done_by_us if type(e).__qualname__ == "ZaloMessage.Claimed"]
    assert (claim.owner, claim.reply_id) == (MessageOwner.OUR_REPLY, reply.id)

    seen = ReceiveMessageStatus(
        delivery(account_id, "user_seen_message", "z1"), ("z1",), ReplyStatus.SEEN
    )
    [progressed] = caused_by_one_delivery(desk, log, seen)
    assert (names([progressed]), progressed.status) == (["Reply.Progressed"], "seen")


def test_what_agents_do_names_no_delivery(desk: Zalodesk, account_id: UUID, log: Log) -> None:
    desk.receive(customer_says(account_id, "m1"))
    customer: Contact = desk.repository.get(contact_id(account_id, CUSTOMER))
    assert customer.active_chat_id is not None and customer.current_ticket_id is not None
    log.since_last()

    desk.end_chat(EndChat(customer.active_chat_id, "agent:lan", "agent", "closed"))
    ticket_id = customer.current_ticket_id
    desk.change_ticket(ChangeTicket(ticket_id, "agent:lan", status="open", reason="follow-up"))
    desk.post_reply(PostReply("agent:lan", "Shop gọi lại ạ", ticket_id=ticket_id))

    events = log.since_last()
    assert "Chat.Started" in names(events) and "Ticket.StatusChanged" in names(events)
    assert all(getattr(e, "receipt_id", None) is None for e in events)
