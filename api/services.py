"""What the resources and commands work with, as the composition root built it."""

from __future__ import annotations

from typing import Any

from attrs import define
from psycopg_pool import ConnectionPool

from adapters import metrics
from adapters.api_tokens import StreamTokens, TokenStore
from adapters.log_tools.event_log import EventLog
from adapters.postgres.credentials import CredentialStore
from adapters.postgres.held_connection import HeldConnections
from adapters.read_models.inbox_queries import AccountQueries, InboxQueries
from adapters.read_models.set_aside import SetAside
from adapters.read_models.ticket_queries import TicketQueries
from adapters.read_models.views.base import View
from adapters.settings import Settings
from adapters.workers import automation, heartbeats, projector
from domain.application import Zalodesk
from domain.clock import Clock


@define
class Services:
    settings: Settings
    url: str
    app: Zalodesk
    event_store: HeldConnections
    pool: ConnectionPool[Any]
    views: list[View]
    clock: Clock
    tokens: TokenStore
    credentials: CredentialStore
    inbox: InboxQueries
    tickets: TicketQueries
    accounts: AccountQueries
    log: EventLog
    stream_tokens: StreamTokens

    def lag(self) -> dict[str, int]:
        """How many events each view is behind the log."""
        return projector.lag(self.pool, self.app, self.views)

    def behind(self) -> dict[str, int]:
        """How many events each view, and the automation worker, is behind the log."""
        return {**self.lag(), "automation": automation.lag(self.pool, self.app)}

    def set_aside(self) -> list[SetAside]:
        """The events a view has set aside and not applied since (the first hundred)."""
        return projector.still_set_aside(self.pool, self.views, limit=100)

    def metrics_figures(self) -> metrics.FromDatabase:
        """What /metrics reads from the database: lag, events set aside, the outbox's queue."""
        return metrics.FromDatabase(
            lag=self.behind(),
            set_aside=projector.ever_set_aside(self.pool, self.views),
            queued_replies=self.inbox.queued_replies(),
        )

    def stalled(self) -> dict[str, float]:
        """The background loops that have not finished a round lately, by seconds since."""
        return heartbeats.stalled(self.pool)

    def close(self) -> None:
        self.pool.close()
        self.app.close()
