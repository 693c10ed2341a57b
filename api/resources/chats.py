"""The chat inbox: active chats and one chat's transcript."""

from __future__ import annotations

from uuid import UUID

import falcon
from attrs import frozen
from pydantic import MISSING

from adapters.read_models.inbox_queries import NOBODY, InboxFilter, InboxQueries
from adapters.timefmt import iso
from api.contract import Answer, Operation, refusal
from api.resources.reading import given, listing, page, projected
from api.schemas.conversations import (
    AssignChat,
    ChatDetail,
    ChatEnded,
    ChatPostponed,
    Inbox,
    InboxChat,
    InboxQuery,
    NewReply,
    ReplyQueued,
)
from api.schemas.conversations import ChatRead as ChatReadShape
from api.schemas.conversations import EndChat as EndChatForm
from domain.application import Zalodesk
from domain.clock import Clock
from domain.commands import ChangeTicket, EndChat, MarkChatRead, PostponeChat, PostReply, RetryReply
from domain.reply import Reply
from domain.values import EndReason

REPLY_REFUSED = refusal(
    "The client_message_id was used already with other content, or the customer has an "
    "active chat on another ticket"
)


@frozen
class Chats:
    queries: InboxQueries
    clock: Clock

    @listing(
        "The chat inbox: active chats, most recent activity first, a page at a time",
        "One page of the inbox, with the counts per assignee",
        Inbox,
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, asked: InboxQuery) -> None:
        me = req.context.principal.name
        assignee = None if asked.assignee is MISSING else agent_name(asked.assignee, me)
        where = InboxFilter(
            account_id=given(asked.account_id),
            assignee=NOBODY if asked.assignee == "none" else assignee,
        )
        cursor = given(asked.cursor)
        resp.media = page(lambda: self.queries.inbox(self.clock(), asked.limit, where, me, cursor))


@frozen
class ChatAssign:
    """Assign the chat's ticket, from the inbox."""

    app: Zalodesk
    queries: InboxQueries
    clock: Clock

    @Operation(
        "Assign the chat's ticket: to the caller (me), to an agent by name, or to nobody",
        {
            200: Answer("The chat as the inbox lists it", InboxChat),
            409: refusal("The chat has ended: assign its ticket with PATCH /api/tickets/{id}"),
        },
    )
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, chat_id: UUID, form: AssignChat
    ) -> None:
        principal = req.context.principal
        chat = self.app.chat(chat_id)
        if chat.ended:
            raise falcon.HTTPConflict(
                title="Conflict",
                description=f"chat {chat_id} has ended: assign ticket {chat.ticket_id} "
                "with PATCH /api/tickets/{id}",
            )
        assignee = None if form.assignee is None else agent_name(form.assignee, principal.name)
        ticket = self.app.change_ticket(
            ChangeTicket(
                chat.ticket_id, actor=principal.actor, assignee=assignee, change_assignee=True
            )
        )
        item = projected(self.queries.item(chat_id, self.clock()), lambda: chat)
        # The view follows the log a moment later: the answer shows the change made now.
        resp.media = {**item, "assignee": ticket.assignee, "status": ticket.status.value}


@frozen
class Chat:
    queries: InboxQueries
    clock: Clock

    @Operation(
        "One chat with its messages",
        {200: Answer("The chat, active or ended", ChatDetail)},
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        chat = self.queries.chat(chat_id, self.clock())
        if chat is None:
            raise falcon.HTTPNotFound(title="Not found", description=f"chat {chat_id} not found")
        resp.media = chat


@frozen
class ChatMessages:
    """An agent's reply; on an ended chat it reactivates the ticket in a new session."""

    app: Zalodesk

    @Operation(
        "Queue a reply (on an ended chat, its ticket is reactivated in a new chat)",
        {202: Answer("Queued", ReplyQueued), 409: REPLY_REFUSED},
    )
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, chat_id: UUID, form: NewReply
    ) -> None:
        reply = self.app.post_reply(
            PostReply(
                actor=req.context.principal.actor,
                text=form.text,
                chat_id=chat_id,
                client_message_id=form.client_message_id,
            )
        )
        resp.status = falcon.HTTP_202
        resp.media = reply_accepted(reply)


@frozen
class ChatEnd:
    app: Zalodesk

    @Operation(
        "End the chat; its ticket goes to the ticket list",
        {200: Answer("Ended", ChatEnded), 409: refusal("The chat has ended already")},
        body_required=False,
    )
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, chat_id: UUID, form: EndChatForm
    ) -> None:
        status = None if form.status is MISSING else form.status.value
        actor = req.context.principal.actor
        ticket = self.app.end_chat(EndChat(chat_id, actor, EndReason.AGENT.value, status))
        resp.media = {
            "id": str(chat_id),
            "ended": True,
            "ticket_id": str(ticket.id),
            "status": ticket.status.value,
        }


@frozen
class ChatPostpone:
    app: Zalodesk

    @Operation(
        "Move the automatic end 5 minutes later",
        {
            200: Answer("Postponed", ChatPostponed),
            409: refusal("The account does not allow it, or the chat has ended"),
        },
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        until = self.app.postpone_chat(PostponeChat(chat_id, req.context.principal.actor))
        resp.media = {"id": str(chat_id), "auto_end_at": iso(until)}


@frozen
class ChatRead:
    app: Zalodesk

    @Operation("Mark the chat as read", {200: Answer("Read", ChatReadShape), 409: refusal("Ended")})
    def on_post(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        self.app.mark_chat_read(MarkChatRead(chat_id, req.context.principal.actor))
        resp.media = {"id": str(chat_id), "unread_count": 0}


@frozen
class ReplyRetry:
    app: Zalodesk

    @Operation(
        "Send a failed reply again: a new attempt of the same reply",
        {202: Answer("Queued again", ReplyQueued), 409: refusal("The reply has not failed")},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, reply_id: UUID) -> None:
        reply = self.app.retry_reply(RetryReply(reply_id, req.context.principal.actor))
        resp.status = falcon.HTTP_202
        resp.media = reply_accepted(reply)


def agent_name(assignee: str, me: str) -> str:
    """``me`` is the calling token's name."""
    return me if assignee == "me" else assignee


def reply_accepted(reply: Reply) -> dict[str, str]:
    return {"message_id": str(reply.id), "status": reply.status, "chat_id": str(reply.chat_id)}
