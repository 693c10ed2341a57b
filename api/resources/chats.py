"""The chat inbox: active chats and one chat's transcript."""

from __future__ import annotations

from uuid import UUID

import falcon

from adapters.read_models.inbox_queries import InboxQueries
from adapters.timefmt import iso
from api import bodies
from domain.application import Zalodesk
from domain.clock import Clock
from domain.commands import EndChat, MarkChatRead, PostponeChat, PostReply
from domain.reply import Reply
from domain.values import EndReason


class Chats:
    def __init__(self, queries: InboxQueries, clock: Clock) -> None:
        self.queries = queries
        self.clock = clock

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.queries.inbox(self.clock(), bodies.limit(req, default=200))


class Chat:
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

    def __init__(self, app: Zalodesk) -> None:
        self.app = app

    def on_post(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        body = bodies.json_object(req)
        reply = self.app.post_reply(
            PostReply(
                actor=req.context.principal.actor,
                text=bodies.text(body, "text"),
                chat_id=chat_id,
                client_message_id=bodies.text(body, "client_message_id", required=False) or None,
            )
        )
        resp.status = falcon.HTTP_202
        resp.media = reply_accepted(reply)


class ChatEnd:
    def __init__(self, app: Zalodesk) -> None:
        self.app = app

    def on_post(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        body = bodies.json_object(req)
        status = bodies.text(body, "status", required=False) or None
        actor = req.context.principal.actor
        ticket = self.app.end_chat(EndChat(chat_id, actor, EndReason.AGENT.value, status))
        resp.media = {
            "id": str(chat_id),
            "ended": True,
            "ticket_id": str(ticket.id),
            "status": ticket.status.value,
        }


class ChatPostpone:
    def __init__(self, app: Zalodesk) -> None:
        self.app = app

    def on_post(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        until = self.app.postpone_chat(PostponeChat(chat_id, req.context.principal.actor))
        resp.media = {"id": str(chat_id), "auto_end_at": iso(until)}


class ChatRead:
    def __init__(self, app: Zalodesk) -> None:
        self.app = app

    def on_post(self, req: falcon.Request, resp: falcon.Response, chat_id: UUID) -> None:
        self.app.mark_chat_read(MarkChatRead(chat_id, req.context.principal.actor))
        resp.media = {"id": str(chat_id), "unread_count": 0}


def reply_accepted(reply: Reply) -> dict[str, str]:
    return {"message_id": str(reply.id), "status": reply.status, "chat_id": str(reply.chat_id)}
