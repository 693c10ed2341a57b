"""The chat inbox: active chats and one chat's transcript."""

from __future__ import annotations

from uuid import UUID

import falcon

from zalodesk.adapters.queries import InboxQueries
from zalodesk.api import bodies
from zalodesk.domain.clock import Clock


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
