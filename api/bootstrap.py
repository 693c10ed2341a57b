"""The composition root: the only place where settings become parts.

The web app, every command, the background workers, the tests and the benchmarks
all get their store, application, views, workers and HTTP app from here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import falcon
import psycopg
from attrs import define, frozen
from eventsourcing.persistence import OperationalError as StoreUnavailable
from psycopg_pool import ConnectionPool

from adapters.account_cache import AccountCache
from adapters.api_tokens import StreamTokens, TokenStore
from adapters.credential_cipher import credential_cipher
from adapters.log_tools.event_log import EventLog
from adapters.postgres.connection import (
    WORKER_PROCESS,
    Connections,
    redacted,
    web_worker,
    with_outage_limits,
)
from adapters.postgres.credentials import CredentialStore, check_key
from adapters.postgres.embedded import EmbeddedPostgres, holds_database, pgdata
from adapters.postgres.event_store import datastore_of, open_application
from adapters.postgres.pools import ResilientPool
from adapters.postgres.schema import prepare
from adapters.read_models.inbox_queries import AccountQueries, InboxQueries
from adapters.read_models.ticket_queries import TicketQueries
from adapters.read_models.views.registry import all_views
from adapters.settings import Settings, SettingsError
from adapters.stream.hub import STREAM_PACING, Hub, Pacing
from adapters.stream.source import LogSource
from adapters.workers import processors
from adapters.workers.automation import Automation
from adapters.workers.echo_settler import EchoSettler
from adapters.workers.heartbeats import Heartbeats
from adapters.workers.inactivity_timer import InactivityTimer
from adapters.workers.loops import Loop
from adapters.workers.outbox import Outbox
from adapters.workers.profiles import ProfileLookups
from adapters.workers.projector import Projector
from adapters.workers.token_refresher import TokenRefresher
from adapters.workers.zalo_worker import ZaloParts
from adapters.zalo.client import ZaloClient
from adapters.zalo.rate_limit import SlidingWindowLimiter
from api.console import Progress
from api.services import Services
from domain.clock import Clock, system_clock

log = logging.getLogger("zalodesk.database")

UNREACHABLE = (psycopg.OperationalError, StoreUnavailable)
NO_DATABASE_FOR_GUNICORN = (
    "gunicorn wsgi:app needs ZALODESK_DATABASE_URL: only `zalodesk serve` and "
    "`zalodesk api` start the embedded database"
)


class StartupError(Exception):
    """The service cannot start; the message is one line for the person starting it."""


@define
class Database:
    """The PostgreSQL server of this process: the configured one, or the embedded one."""

    url: str
    embedded: EmbeddedPostgres | None = None

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def open_database(
    settings: Settings,
    start_embedded: bool = True,
    create_embedded: bool = False,
    prepare_now: bool = True,
) -> Database:
    """The configured server, or the embedded one started here; the schema prepared,
    unless the caller prepares it once the database answers (``prepare_now=False``).

    Only ``create_embedded`` makes a new embedded database where the data folder has
    none: any other command would otherwise work on a new, empty database unnoticed.
    """
    if settings.database_url:
        database = Database(settings.database_url)
    elif not start_embedded:
        raise SettingsError(NO_DATABASE_FOR_GUNICORN)
    elif create_embedded or holds_database(settings.data_dir):
        database = Database(*_embedded(settings))
    else:
        raise StartupError(
            f"no database: ZALODESK_DATABASE_URL is not set and {pgdata(settings.data_dir)} "
            "holds none (`zalodesk serve` creates it; set ZALODESK_DATA_DIR if it is elsewhere)"
        )
    if not prepare_now:
        return database
    try:
        prepare_database(database.url, settings)
    except UNREACHABLE as ex:
        database.stop()
        reason = (str(ex).strip().splitlines() or [type(ex).__name__])[0]
        raise StartupError(f"cannot use the database {redacted(database.url)}: {reason}") from None
    except SettingsError:
        database.stop()
        raise
    return database


def prepare_database(url: str, settings: Settings) -> None:
    """The schema (views rebuilt where their version changed, with progress), then the
    key: one the database's credentials were not written with stops here, in one line."""
    prepare(url, settings.cipher_key, Progress(in_place=False))
    with psycopg.connect(url, autocommit=True) as conn:
        check_key(conn, credential_cipher(settings))


# The stream process: token checks, and log reads (each short; they take turns), plus its
# LISTEN: three in all, so the default workers of a 16-core host still fit a server of 100.
STREAM_PROCESS = Connections(pool=1, store=1, store_overflow=0)

# Commands run beside the service (token, replay, audit ...) and the processors' lock.
SPARE_CONNECTIONS = 10


def connections_needed(workers: int, threads: int, with_worker: bool) -> int:
    """The most connections the service may hold at once, spares for commands included."""
    web = workers * web_worker(threads).most
    background = WORKER_PROCESS.most + STREAM_PROCESS.most + 1 if with_worker else 0
    return web + background + SPARE_CONNECTIONS


def check_connections(url: str, workers: int, threads: int, with_worker: bool) -> None:
    """Refuse, in one line, to start more workers than the database can serve."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
        ).fetchone()
    allowed = int(row[0]) if row else 0
    needed = connections_needed(workers, threads, with_worker)
    if needed > allowed:
        raise StartupError(
            f"{workers} workers with {threads} thread(s) each may need {needed} database "
            f"connections, and the database allows {allowed}: start fewer (--workers) or "
            "raise the server's max_connections"
        )


def _embedded(settings: Settings) -> tuple[str, EmbeddedPostgres]:
    server = EmbeddedPostgres(settings.data_dir)
    return server.url, server


def build(
    settings: Settings,
    database_url: str,
    clock: Clock = system_clock,
    connections: Connections = WORKER_PROCESS,
) -> Services:
    """Opens connection pools: call it in the process that uses them (after fork).

    Needs no database: while it is away, each call that needs it fails within two
    seconds (503 in the API), and works again as soon as it is back.
    """
    url = with_outage_limits(database_url)
    app = open_application(
        url, settings.cipher_key, clock, settings.chat_inactivity_seconds, connections
    )
    pool: ConnectionPool[Any] = ResilientPool(
        url, min_size=1, max_size=connections.pool, open=True, kwargs={"autocommit": True}
    )
    credentials = CredentialStore(url, pool, credential_cipher(settings))
    try:
        credentials.check_key()
    except UNREACHABLE:
        pass  # checked where the schema is prepared, before anything is served
    except BaseException:
        pool.close()
        app.close()
        raise
    return Services(
        settings=settings,
        url=url,
        app=app,
        event_store=datastore_of(app),
        pool=pool,
        views=all_views(),
        clock=clock,
        tokens=TokenStore(pool, settings.admin_token),
        credentials=credentials,
        inbox=InboxQueries(pool, settings.chat_inactivity_seconds),
        tickets=TicketQueries(pool),
        accounts=AccountQueries(pool),
        log=EventLog(app, pool),
        stream_tokens=StreamTokens(pool),
    )


def http_app(services: Services) -> falcon.App[Any, Any]:
    # Imported here, in the process that serves: the app brings prometheus_client, which
    # must not be imported before the metrics folder shared by the workers is chosen.
    from api.app import create_app

    return create_app(services, AccountCache(services.app, services.credentials))


def wsgi_app(settings: Settings) -> falcon.App[Any, Any]:
    """The app of one gunicorn worker: never starts a database of its own, and starts
    while the database is away (a worker may be replaced during an outage)."""
    if not settings.database_url:
        raise SettingsError(NO_DATABASE_FOR_GUNICORN)
    url = with_outage_limits(settings.database_url)
    # `zalodesk serve` and `api` prepared the schema before starting gunicorn; a hand-run
    # gunicorn has only its workers to do it.
    _prepare_when_reachable(url, settings)
    return http_app(build(settings, url, connections=web_worker(settings.web_threads)))


def _prepare_when_reachable(url: str, settings: Settings) -> None:
    """The schema prepared now, or, while the database is away, as soon as it answers."""
    try:
        prepare_database(url, settings)
        return
    except UNREACHABLE:
        log.warning("the database cannot be reached; the schema is prepared when it answers")

    def retry() -> None:
        while True:
            time.sleep(1.0)
            try:
                prepare_database(url, settings)
            except UNREACHABLE:
                continue
            log.info("the database answers; the schema is prepared")
            return

    threading.Thread(target=retry, name="prepare", daemon=True).start()


@frozen
class WorkerTuning:
    """How the background workers pace themselves; tests and benchmarks make them quicker."""

    retry_delays: tuple[float, ...] = (1, 2, 4, 8, 15, 30, 30, 30)
    sleep: Callable[[float], None] = time.sleep
    calls_per_window: int = 4000
    window_seconds: float = 60.0
    echo_grace_seconds: float = 30.0
    projector_batch: int = 500
    timer_batch: int = 500
    zalo_timeout: float = 10.0
    outbox_concurrency: int = 16
    automation_batch: int = 500
    automation_tick_seconds: float = 1.0


@define
class Workers:
    projector: Projector
    inactivity: InactivityTimer
    outbox: Outbox
    settler: EchoSettler
    automation: Automation
    profiles: ProfileLookups

    def loops(self) -> list[Loop]:
        projector, outbox, automation = self.projector, self.outbox, self.automation
        return [
            # A full batch means more is waiting; otherwise let new events gather a moment.
            Loop("projector", projector.step, 0.05, again=lambda n: n >= projector.batch_size),
            Loop("inactivity", self.inactivity.tick, 1.0),
            Loop(
                "outbox",
                outbox.tick,
                0.05,
                before=outbox.recover,
                after=outbox.finish,
            ),
            Loop("settler", self.settler.tick, 1.0),
            # Rules may wait a moment longer than views: rounds of more events cost less.
            Loop(
                "automation",
                automation.round,
                0.1,
                again=lambda n: n >= automation.batch_size,
            ),
            # Paced: at most batch_size lookups a second, leaving Zalo's rate limit to replies.
            Loop("profiles", self.profiles.tick, 1.0, after=self.profiles.close),
        ]

    def close(self) -> None:
        self.outbox.executor.shutdown()
        self.profiles.close()


def projector(services: Services, batch_size: int = 500) -> Projector:
    return Projector(services.app, services.pool, services.views, batch_size)


def automation(services: Services, tuning: WorkerTuning = WorkerTuning()) -> Automation:
    return Automation(
        services.app,
        services.pool,
        tuning.automation_batch,
        tuning.automation_tick_seconds,
    )


def workers(services: Services, tuning: WorkerTuning = WorkerTuning()) -> Workers:
    settings, app, pool = services.settings, services.app, services.pool
    client = ZaloClient(settings.zalo_api_base, settings.zalo_oauth_base, tuning.zalo_timeout)
    # One refresher and one limiter for every call to Zalo: its rate limit is per app.
    refresher = TokenRefresher(app, services.credentials, client)
    limiter = SlidingWindowLimiter(tuning.calls_per_window, tuning.window_seconds)
    zalo = ZaloParts(app, pool, client, refresher, limiter)
    return Workers(
        projector=projector(services, tuning.projector_batch),
        inactivity=InactivityTimer(app, pool, tuning.timer_batch),
        outbox=Outbox(
            zalo,
            concurrency=tuning.outbox_concurrency,
            retry_delays=tuning.retry_delays,
            sleep=tuning.sleep,
        ),
        settler=EchoSettler(app, pool, tuning.echo_grace_seconds),
        automation=automation(services, tuning),
        profiles=ProfileLookups(zalo),
    )


def run_workers(settings: Settings, database_url: str, stop: threading.Event) -> None:
    """The background processors, once the database answers and this process holds their
    lock; until ``stop``."""
    url = with_outage_limits(database_url)
    lock = processors.hold_processor_lock(url, stop)
    if lock is None:
        return
    try:
        prepare_database(
            url, settings
        )  # here, not at the command's start: it may start in an outage
        services = build(settings, url)
        running = workers(services)
        try:
            processors.run_loops(running.loops(), Heartbeats(services.pool), stop)
        finally:
            running.close()
            services.close()
    finally:
        lock.close()


def stream_parts(services: Services, pacing: Pacing = STREAM_PACING) -> tuple[Hub, Any]:
    """The stream's hub (the one follower of the log) and its ASGI app."""
    from api.stream_app import create_stream_app

    hub = Hub(LogSource(services.log, services.pool, services.views), services.url, pacing)
    return hub, create_stream_app(hub, services.tokens, services.stream_tokens)


def run_stream(settings: Settings, database_url: str, bind: str, stop: threading.Event) -> None:
    """The stream server until ``stop`` (or SIGTERM); starts while the database is away."""
    from api import stream_server

    services = build(settings, with_outage_limits(database_url), connections=STREAM_PROCESS)
    try:
        hub, app = stream_parts(services)
        stream_server.run(app, hub, bind, stop)
    finally:
        services.close()
