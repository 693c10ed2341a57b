"""The audit trail of one ticket, chat, contact or account, and the log itself (admin)."""

from __future__ import annotations

from uuid import UUID

import falcon
from attrs import frozen

from adapters.api_tokens import TokenStore
from adapters.log_tools.audit import AuditTrail
from adapters.log_tools.event_log import EventLog, api_entry
from api.contract import Answer, Operation
from api.schemas.operations import EventPage, EventsQuery, Timeline


@frozen
class Audit:
    trail: AuditTrail
    tokens: TokenStore

    @Operation(
        "The timeline of a ticket (with its chats and replies), chat, contact or account",
        {200: Answer("Its events, in the order of the log", Timeline)},
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, aggregate_id: UUID) -> None:
        names = self.tokens.actor_names()
        timeline = self.trail.timeline(aggregate_id)
        resp.media = {"events": [api_entry(e, names) for e in timeline]}


@frozen
class Events:
    log: EventLog
    tokens: TokenStore

    @Operation(
        "The event log, in order",
        {200: Answer("Events after a position", EventPage)},
        admin=True,
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, asked: EventsQuery) -> None:
        after = asked.after
        entries = self.log.read(after, asked.limit)
        names = self.tokens.actor_names()
        resp.media = {
            "events": [api_entry(e, names) for e in entries],
            "next_after": entries[-1].position if entries else after,
        }
