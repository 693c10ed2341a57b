"""Everything the resources need, built in one place from the settings."""

from __future__ import annotations

from typing import Any

from attrs import define
from psycopg_pool import ConnectionPool

from adapters.api_tokens import TokenStore
from adapters.postgres.credentials import CredentialStore, open_credentials
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.event_store import open_application
from adapters.read_models.inbox_queries import AccountQueries, InboxQueries
from adapters.read_models.ticket_queries import TicketQueries
from adapters.read_models.views.base import View
from adapters.read_models.views.registry import all_views
from adapters.settings import Settings
from domain.application import Zalodesk
from domain.clock import Clock, system_clock


@define
class Services:
    settings: Settings
    app: Zalodesk
    pool: ConnectionPool[Any]
    tokens: TokenStore
    credentials: CredentialStore
    inbox: InboxQueries
    tickets: TicketQueries
    accounts: AccountQueries
    views: list[View]
    clock: Clock

    def close(self) -> None:
        self.pool.close()
        self.app.close()


def database_url(settings: Settings) -> str:
    """The configured server, or the embedded one (started here if it is not running)."""
    if settings.database_url:
        return settings.database_url
    return EmbeddedPostgres(settings.data_dir).url


def build_services(settings: Settings, clock: Clock = system_clock) -> Services:
    """Opens connection pools: call it in the process that serves (after fork)."""
    url = database_url(settings)
    pool: ConnectionPool[Any] = ConnectionPool(
        url, min_size=1, max_size=8, open=True, kwargs={"autocommit": True}
    )
    try:
        credentials = open_credentials(url, pool, settings)
    except BaseException:
        pool.close()
        raise
    return Services(
        settings=settings,
        app=open_application(url, settings.cipher_key, clock, settings.chat_inactivity_seconds),
        pool=pool,
        tokens=TokenStore(pool, settings.admin_token),
        credentials=credentials,
        inbox=InboxQueries(pool, settings.chat_inactivity_seconds),
        tickets=TicketQueries(pool),
        accounts=AccountQueries(pool),
        views=all_views(),
        clock=clock,
    )
