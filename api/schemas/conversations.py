"""The chat inbox, transcripts, tickets, and what agents send: the shapes they share."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import MISSING, Discriminator, Field, RootModel
from pydantic import Tag as Branch

from adapters.read_models.cursors import CURSOR
from api.schemas.base import (
    CLIENT_MESSAGE_ID,
    WHOLE_NUMBER,
    Form,
    Id,
    Query,
    Shape,
    Timestamp,
    Uuid,
    ZaloId,
    any_text,
    visible_text,
)
from domain.values import TEXT_LIMIT, Direction, MessageKind, ReplyStatus, TicketKind, TicketStatus

MessageStatus = Literal["received", "queued", "sent", "delivered", "seen", "failed"]
ReplyText = Annotated[
    str,
    visible_text(TEXT_LIMIT, f"Sent to the customer as it is; Zalo takes {TEXT_LIMIT} at most."),
]
ClientMessageId = Annotated[
    str,
    Field(
        pattern=CLIENT_MESSAGE_ID,
        description="The client's own id for the message: the same id twice is one message, "
        "and the same id with other content is refused (409).",
    ),
]
PageCursor = Annotated[
    str, Field(pattern=f"^{CURSOR.pattern}$", description="next_cursor of a page.")
]
Assignee = Annotated[str, visible_text(200)]


CustomerName = Annotated[
    str,
    visible_text(200, "Shown as the customer's display_name until their Zalo profile is fetched."),
]


# Shared parts of answers


class Customer(Shape):
    """A customer of an Official Account, as every answer shows them."""

    id: Id
    zalo_user_id: str
    anonymous: bool
    display_name: str | None = Field(
        description="Their Zalo display name: null until their profile is fetched, and for "
        "anonymous visitors, who have none. On a ticket, the name its opener gave until then."
    )
    avatar: str | None = Field(description="The URL of their Zalo avatar, or null.")


class NamedCustomer(Shape):
    """A ticket's customer given only by name (an email, a phone call): no contact."""

    id: None
    zalo_user_id: None
    anonymous: Literal[False]
    display_name: str
    avatar: None


class ReplyError(Shape):
    """Why a reply failed: Zalo's error code (null for a network error or a refusal of
    ours, such as an account that needs reconnecting) and the reason in words."""

    code: int | None
    reason: str


class LastMessage(Shape):
    text: str
    kind: MessageKind
    direction: Direction
    at: Timestamp | None
    status: MessageStatus | MISSING = Field(
        default=MISSING, description="An outgoing message's state (inbox items)."
    )
    error: ReplyError | MISSING = Field(default=MISSING, description="Why the reply failed.")


class Message(Shape):
    id: Id
    zalo_msg_id: str | None
    direction: Direction
    author: str
    kind: MessageKind
    text: str
    attachments: list[dict[str, Any]]
    quote_msg_id: str | None
    sent_at: Timestamp | None
    status: MessageStatus
    error: ReplyError | MISSING = Field(default=MISSING, description="Why a reply failed.")
    attempts: int | MISSING = Field(
        default=MISSING,
        description="Outgoing messages: how many times the outbox called Zalo with it.",
    )


# The chat inbox


class InboxQuery(Query):
    account_id: Uuid | MISSING = Field(default=MISSING, description="One account's chats.")
    assignee: Assignee | MISSING = Field(
        default=MISSING,
        description="me (the calling token's name), none (nobody), or an agent's name.",
    )
    limit: Annotated[int, Field(ge=1, le=1000), WHOLE_NUMBER] = 200
    cursor: PageCursor | MISSING = MISSING


class InboxCounts(Shape):
    """Active chats within the account_id filter: all, assigned to the caller, to nobody."""

    all: int
    me: int
    none: int


class Indicator(Shape):
    new_chats: int
    unread_chats: int


class InboxChat(Shape):
    id: Id
    ticket_id: Id
    account_id: Id
    customer: Customer
    started_at: Timestamp | None
    last_activity_at: Timestamp | None
    last_message: LastMessage | None
    unread_count: int
    waiting_since: Timestamp | None
    auto_end_at: Timestamp | None
    reply_window_closes_at: Timestamp | None
    ending_soon: bool
    new: bool
    active: bool
    assignee: str | None
    status: TicketStatus | None = Field(description="The ticket's status.")


class Inbox(Shape):
    indicator: Indicator
    chats: list[InboxChat]
    has_more: bool
    next_cursor: str | None
    counts: InboxCounts


class ActiveChat(InboxChat):
    messages: list[Message]


class EndedChat(Shape):
    id: Id
    ticket_id: Id
    account_id: Id
    customer: Customer
    started_at: Timestamp | None
    ended_at: Timestamp | None
    end_reason: str | None
    active: bool
    messages: list[Message]


class ChatDetail(RootModel[ActiveChat | EndedChat]):
    """A chat still in the inbox, or one that has ended."""


# What agents do to a chat


class NewReply(Form):
    text: ReplyText
    client_message_id: ClientMessageId | None = None


class ReplyQueued(Shape):
    message_id: Id
    status: ReplyStatus
    chat_id: Id = Field(description="The chat the reply went to: a new one on an ended chat.")


class EndChat(Form):
    status: TicketStatus | MISSING = Field(
        default=MISSING, description="The ticket's new status (default: keep the current one)."
    )


class ChatEnded(Shape):
    id: Id
    ended: bool
    ticket_id: Id
    status: TicketStatus


class AssignChat(Form):
    assignee: Assignee | None = Field(
        description="me (the calling token's name), an agent's name, or null: nobody."
    )


class ChatPostponed(Shape):
    id: Id
    auto_end_at: Timestamp | None


class ChatRead(Shape):
    id: Id
    unread_count: int


# The ticket list


class TicketQuery(Query):
    status: TicketStatus | MISSING = MISSING
    account_id: Uuid | MISSING = MISSING
    customer_id: Uuid | MISSING = MISSING
    kind: TicketKind | MISSING = MISSING
    limit: Annotated[int, Field(ge=1, le=200), WHOLE_NUMBER] = 50
    cursor: PageCursor | MISSING = MISSING


class TicketSummary(Shape):
    id: Id
    kind: TicketKind
    status: TicketStatus
    subject: str
    account_id: Id | None
    customer: Customer | NamedCustomer | None
    assignee: str | None
    tags: list[str]
    created_at: Timestamp | None
    updated_at: Timestamp | None
    last_message: LastMessage | None
    chat_count: int
    active_chat_id: Id | None


class TicketPage(Shape):
    tickets: list[TicketSummary]
    next_cursor: str | None


class ChatSession(Shape):
    """One chat session of a ticket; messages no session claims come first, without one."""

    id: Id | None
    started_at: Timestamp | MISSING | None = MISSING
    ended_at: Timestamp | MISSING | None = MISSING
    end_reason: str | MISSING | None = MISSING
    ended_by: str | MISSING | None = MISSING
    reactivation: bool | MISSING = MISSING
    messages: list[Message]


class StatusChange(Shape):
    status: TicketStatus
    at: Timestamp | None
    actor: str
    reason: str


class TicketDetail(TicketSummary):
    chats: list[ChatSession]
    status_history: list[StatusChange]


class ZaloCustomer(Form):
    """A customer of a connected account, by their Zalo id."""

    account_id: Uuid
    zalo_user_id: ZaloId
    name: CustomerName | MISSING = MISSING


class CustomerByName(Form):
    """Anyone, by name (an email, a phone call): no Zalo contact; ``account_id`` is the
    account the ticket belongs to, if any."""

    name: CustomerName
    account_id: Uuid | MISSING = MISSING


def _customer_kind(value: Any) -> str:
    """Which form a customer is in (a refusal names it: ``customer.by_name.name``)."""
    has_zalo_id = isinstance(value, dict) and "zalo_user_id" in value
    return "by_zalo_id" if has_zalo_id or isinstance(value, ZaloCustomer) else "by_name"


TicketCustomer = Annotated[
    Annotated[ZaloCustomer, Branch("by_zalo_id")] | Annotated[CustomerByName, Branch("by_name")],
    Discriminator(_customer_kind),
]


class NewTicket(Form):
    subject: Annotated[str, any_text(200, "Default: the start of the text.")] = ""
    text: ReplyText
    customer: TicketCustomer | None = None


class TicketOpened(Shape):
    id: Id
    kind: TicketKind
    status: TicketStatus


Tag = Annotated[str, visible_text(100)]


class TicketChanges(Form):
    status: TicketStatus | MISSING = MISSING
    assignee: Assignee | MISSING | None = Field(
        default=MISSING, description="An agent's name, me (the calling token's name), or null."
    )
    tags: Annotated[list[Tag], Field(max_length=50)] | MISSING = Field(
        default=MISSING, description="The ticket's tags, all of them."
    )
    reason: Annotated[str, any_text(500)] = ""


class TicketChanged(Shape):
    id: Id
    status: TicketStatus
    assignee: str | None
    tags: list[str]


class NoteAdded(Shape):
    message_id: Id
    ticket_id: Id
