"""The audit trail of one ticket, chat, contact or account, and the log itself (admin)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import falcon
from eventsourcing.application import Application
from psycopg_pool import ConnectionPool

from adapters.log_tools.audit import AuditTrail
from adapters.log_tools.event_log import EventLog, api_entry
from api import bodies


class Audit:
    def __init__(self, app: Application[Any], pool: ConnectionPool[Any]) -> None:
        self.trail = AuditTrail(EventLog(app, pool))

    def on_get(self, req: falcon.Request, resp: falcon.Response, aggregate_id: UUID) -> None:
        resp.media = {"events": [api_entry(e) for e in self.trail.timeline(aggregate_id)]}


class Events:
    admin_only = True

    def __init__(self, app: Application[Any], pool: ConnectionPool[Any]) -> None:
        self.log = EventLog(app, pool)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        after = req.get_param_as_int("after", min_value=0) or 0
        entries = self.log.read(after, bodies.limit(req, default=100, maximum=1000))
        resp.media = {
            "events": [api_entry(e) for e in entries],
            "next_after": entries[-1].position if entries else after,
        }
