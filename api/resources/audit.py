"""The audit trail of one ticket, chat, contact or account, and the log itself (admin)."""

from __future__ import annotations

from uuid import UUID

import falcon

from adapters.api_tokens import TokenStore
from adapters.log_tools.audit import AuditTrail
from adapters.log_tools.event_log import EventLog, api_entry
from api import bodies


class Audit:
    def __init__(self, log: EventLog, tokens: TokenStore) -> None:
        self.trail = AuditTrail(log)
        self.tokens = tokens

    def on_get(self, req: falcon.Request, resp: falcon.Response, aggregate_id: UUID) -> None:
        names = self.tokens.actor_names()
        timeline = self.trail.timeline(aggregate_id)
        resp.media = {"events": [api_entry(e, names) for e in timeline]}


class Events:
    admin_only = True

    def __init__(self, log: EventLog, tokens: TokenStore) -> None:
        self.log = log
        self.tokens = tokens

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        after = req.get_param_as_int("after", min_value=0) or 0
        entries = self.log.read(after, bodies.limit(req, default=100, maximum=1000))
        names = self.tokens.actor_names()
        resp.media = {
            "events": [api_entry(e, names) for e in entries],
            "next_after": entries[-1].position if entries else after,
        }
