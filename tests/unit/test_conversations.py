"""The domain as a story, on the in-memory store: how a conversation lives and ends."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domain import actors
from domain.application import Outcome, Zalodesk
from domain.clock import FrozenClock
from domain.commands import (
    Customer,
    Delivery,
    EndChat,
    EndInactiveChat,
    InboundMessage,
    PostponeChat,
    PostReply,
    ReceiveCustomerMessage,
)
from domain.contact import Contact
from domain.errors import Conflict, InvalidInput
from domain.identity import contact_id
from domain.values import MessageKind, TicketStatus

CUSTOMER = "2687558107438251665"


def say(desk: Zalodesk, account_id: UUID, msg_id: str, text: str = "hi") -> Outcome:
    delivery = Delivery(account_id, "user_send_text", f'{{"m":"{msg_id}"}}', msg_id, None)
    message = InboundMessage(msg_id=msg_id, kind=MessageKind.TEXT, text=text)
    return desk.receive(ReceiveCustomerMessage(delivery, Customer(CUSTOMER), message))


def contact(desk: Zalodesk, account_id: UUID) -> Contact:
    found: object = desk.repository.get(contact_id(account_id, CUSTOMER))
    assert isinstance(found, Contact)
    return found


def first_chat(desk: Zalodesk, account_id: UUID) -> UUID:
    """The chat the customer's first message ("m1") started."""
    say(desk, account_id, "m1")
    chat_id = contact(desk, account_id).active_chat_id
    assert chat_id is not None
    return chat_id


def test_a_conversation_from_first_message_to_a_new_ticket(
    desk: Zalodesk, account_id: UUID, clock: FrozenClock
) -> None:
    # The customer writes for the first time: a contact, a chat ticket and a chat.
    assert say(desk, account_id, "m1", "Còn size M không?") == Outcome.RECORDED
    customer = contact(desk, account_id)
    assert customer.current_ticket_id is not None and customer.active_chat_id is not None
    ticket = desk.ticket(customer.current_ticket_id)
    assert (ticket.kind.value, ticket.status, ticket.subject) == (
        "chat",
        "new",
        "Còn size M không?",
    )

    # Zalo sends the same delivery again: nothing changes.
    assert say(desk, account_id, "m1") == Outcome.DUPLICATE

    # Both sides fall silent; the timer ends the chat, and the ticket keeps its status.
    first_chat = customer.active_chat_id
    clock.advance(601)
    assert desk.end_inactive_chat(EndInactiveChat(first_chat)) is True
    assert desk.chat(first_chat).ended
    assert desk.ticket(ticket.id).status == TicketStatus.NEW
    assert contact(desk, account_id).active_chat_id is None

    # The customer writes again: a new session on the same ticket.
    say(desk, account_id, "m2")
    customer = contact(desk, account_id)
    assert customer.current_ticket_id == ticket.id
    assert customer.active_chat_id not in (None, first_chat)
    assert desk.ticket(ticket.id).chat_count == 2

    # The agent ends it as closed; the next message opens a new ticket.
    desk.end_chat(EndChat(customer.active_chat_id, "agent:lan", "agent", "closed"))
    say(desk, account_id, "m3")
    assert contact(desk, account_id).current_ticket_id != ticket.id


def test_the_timer_spares_a_chat_that_woke_up(
    desk: Zalodesk, account_id: UUID, clock: FrozenClock
) -> None:
    chat_id = first_chat(desk, account_id)
    clock.advance(590)
    desk.post_reply(PostReply(actor="agent:lan", text="Dạ có ạ", chat_id=chat_id))
    clock.advance(20)
    assert desk.end_inactive_chat(EndInactiveChat(chat_id)) is False
    assert not desk.chat(chat_id).ended


def test_replies_are_idempotent_by_client_id_and_checked(desk: Zalodesk, account_id: UUID) -> None:
    chat_id = first_chat(desk, account_id)
    first = desk.post_reply(
        PostReply("agent:lan", "xin chào", chat_id=chat_id, client_message_id="c1")
    )
    again = desk.post_reply(
        PostReply("agent:lan", "xin chào", chat_id=chat_id, client_message_id="c1")
    )
    assert first.id == again.id
    with pytest.raises(InvalidInput, match="at most 2000"):
        desk.post_reply(PostReply("agent:lan", "x" * 2001, chat_id=chat_id))
    with pytest.raises(InvalidInput, match="empty"):
        desk.post_reply(PostReply("agent:lan", "   ", chat_id=chat_id))


def test_postponing_where_the_account_forbids_it(desk: Zalodesk, account_id: UUID) -> None:
    chat_id = first_chat(desk, account_id)
    with pytest.raises(Conflict, match="does not allow"):
        desk.postpone_chat(PostponeChat(chat_id, "agent:lan"))


def test_every_event_says_who_and_when(desk: Zalodesk, account_id: UUID) -> None:
    say(desk, account_id, "m1")
    customer = contact(desk, account_id)
    for aggregate_id in (customer.id, customer.current_ticket_id, customer.active_chat_id):
        assert aggregate_id is not None
        for event in desk.events.get(aggregate_id):
            assert event.actor == actors.customer(CUSTOMER)  # type: ignore[attr-defined]
            assert event.at is not None  # type: ignore[attr-defined]


def test_a_chats_state_does_not_grow_with_its_messages(desk: Zalodesk, account_id: UUID) -> None:
    say(desk, account_id, "m0")
    chat_id = contact(desk, account_id).active_chat_id
    assert chat_id is not None
    size_after_one = len(repr(sorted(vars(desk.chat(chat_id)).items())))
    for n in range(1, 50):
        say(desk, account_id, f"m{n}", "a rather long message " * 10)
    chat = desk.chat(chat_id)
    assert chat.version == 51
    assert len(repr(sorted(vars(chat).items()))) <= size_after_one + 10


def test_an_automation_rule_ends_a_chat_and_sets_the_status(
    desk: Zalodesk, account_id: UUID
) -> None:
    # The command the rule engine will call: "end chat and set status to X".
    chat_id = first_chat(desk, account_id)
    ticket = desk.end_chat(EndChat(chat_id, actors.automation("rule-7"), "automation", "pending"))
    assert ticket.status == TicketStatus.PENDING
    [*_, ended] = desk.events.get(chat_id)
    assert (type(ended).__name__, ended.reason, ended.actor) == (  # type: ignore[attr-defined]
        "Ended",
        "automation",
        "automation:rule-7",
    )


def test_an_ended_chat_refuses_more_and_records_nothing(
    desk: Zalodesk, account_id: UUID, clock: FrozenClock
) -> None:
    chat_id = first_chat(desk, account_id)
    desk.end_chat(EndChat(chat_id, "agent:lan", "agent", None))
    chat = desk.chat(chat_id)

    with pytest.raises(Conflict, match="has ended"):
        chat.agent_replied(uuid4(), actor="agent:lan", at=clock())
    with pytest.raises(Conflict, match="has ended"):
        desk.end_chat(EndChat(chat_id, "agent:lan", "agent", "closed"))

    assert (chat.version, chat.collect_events()) == (3, [])
    assert [type(e).__name__ for e in desk.events.get(chat_id)] == [
        "Started",
        "CustomerMessageReceived",
        "Ended",
    ]
