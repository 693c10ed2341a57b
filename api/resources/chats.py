"""The chat inbox: active chats and one chat's transcript."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

import falcon
from pydantic import MISSING

from adapters.read_models.inbox_queries import InboxQueries
from adapters.timefmt import iso
from api.contract import Answer, Operation, Operations, body, query, refusal
from api.schemas.conversations import (
    ChatDetail,
    ChatEnded,
    ChatPostponed,
    Inbox,
    InboxQuery,
    NewReply,
    ReplyQueued,
)
from api.schemas.conversations import ChatRead as ChatReadShape
from api.schemas.conversations import EndChat as EndChatForm
from domain.application import Zalodesk
from domain.clock import Clock
from domain.commands import EndChat, MarkChatRead, PostponeChat, PostReply
from domain.reply import Reply
from domain.values import EndReason

REPLY_REFUSED = refusal(
    "The client_message_id was used already with other content, or the customer has an "
    "active chat on another ticket"
)


class Chats:
    operations: ClassVar[Operations] = {
        "GET": Operation(
            "The chat inbox: active chats, most recent activity first",
            {200: Answer("The inbox", Inbox)},
            query=InboxQuery,
        )
    }

    def __init__(self, queries: InboxQueries, clock: Clock) -> None:
        self.queries = queries
        self.clock = clock

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.queries.inbox(self.clock(), query(req, InboxQuery).limit)


class Chat:
    operations: ClassVar[Operations] = {
        "GET": Operation(
            "One chat with its messages",
            {200: Answer("The chat, active or ended", ChatDetail)},
        )
    }

    def __init__(self, queries: InboxQueries, clock: Clock) -> None:
        self.queries = queries
        self.clock = clock

    def on_get(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        chat = self.queries.chat(chat_id, self.clock())
        if chat is None:
            raise falcon.HTTPNotFound(title="Not found", description=f"chat {chat_id} not found")
        resp.media = chat


class ChatMessages:
    """An agent's reply; on an ended chat it reactivates the ticket in a new session."""

    operations: ClassVar[Operations] = {
        "POST": Operation(
            "Queue a reply (on an ended chat, its ticket is reactivated in a new chat)",
            {202: Answer("Queued", ReplyQueued), 409: REPLY_REFUSED},
            body=NewReply,
        )
    }

    def __init__(self, app: Zalodesk) -> None:
        self.app = app

    def on_post(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        form = body(req, NewReply)
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


class ChatEnd:
    operations: ClassVar[Operations] = {
        "POST": Operation(
            "End the chat; its ticket goes to the ticket list",
            {200: Answer("Ended", ChatEnded), 409: refusal("The chat has ended already")},
            body=EndChatForm,
            body_required=False,
        )
    }

    def __init__(self, app: Zalodesk) -> None:
        self.app = app

    def on_post(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        form = body(req, EndChatForm)
        status = None if form.status is MISSING else form.status.value
        actor = req.context.principal.actor
        ticket = self.app.end_chat(EndChat(chat_id, actor, EndReason.AGENT.value, status))
        resp.media = {
            "id": str(chat_id),
            "ended": True,
            "ticket_id": str(ticket.id),
            "status": ticket.status.value,
        }


class ChatPostpone:
    operations: ClassVar[Operations] = {
        "POST": Operation(
            "Move the automatic end 5 minutes later",
            {
                200: Answer("Postponed", ChatPostponed),
                409: refusal("The account does not allow it, or the chat has ended"),
            },
        )
    }

    def __init__(self, app: Zalodesk) -> None:
        self.app = app

    def on_post(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        until = self.app.postpone_chat(PostponeChat(chat_id, req.context.principal.actor))
        resp.media = {"id": str(chat_id), "auto_end_at": iso(until)}


class ChatRead:
    operations: ClassVar[Operations] = {
        "POST": Operation(
            "Mark the chat as read", {200: Answer("Read", ChatReadShape), 409: refusal("Ended")}
        )
    }

    def __init__(self, app: Zalodesk) -> None:
        self.app = app

    def on_post(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        self.app.mark_chat_read(MarkChatRead(chat_id, req.context.principal.actor))
        resp.media = {"id": str(chat_id), "unread_count": 0}


def reply_accepted(reply: Reply) -> dict[str, str]:
    return {"message_id": str(reply.id), "status": reply.status, "chat_id": str(reply.chat_id)}
