"""The background processors, each in exactly one process at a time (an advisory lock)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from adapters.postgres.credentials import open_credentials
from adapters.postgres.event_store import open_application
from adapters.read_models.views.registry import all_views
from adapters.settings import Settings
from adapters.workers.echo_settler import EchoSettler
from adapters.workers.inactivity_timer import InactivityTimer
from adapters.workers.outbox import Outbox
from adapters.workers.projector import Projector
from adapters.workers.token_refresher import TokenRefresher
from adapters.zalo.client import ZaloClient
from adapters.zalo.rate_limit import SlidingWindowLimiter

log = logging.getLogger("zalodesk.worker")

PROCESSORS_LOCK = "zalodesk:processors"


def hold_processor_lock(url: str, stop: threading.Event) -> psycopg.Connection[Any] | None:
    """Wait until this process may run the processors; the lock lives as long as the connection."""
    conn = psycopg.connect(url, autocommit=True)
    waiting_logged = False
    while not stop.is_set():
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s))", (PROCESSORS_LOCK,)
        ).fetchone()
        if row and row[0]:
            return conn
        if not waiting_logged:
            log.info("another process runs the processors; standing by")
            waiting_logged = True
        stop.wait(2.0)
    conn.close()
    return None


def run_processors(url: str, settings: Settings, stop: threading.Event) -> None:
    lock = hold_processor_lock(url, stop)
    if lock is None:
        return
    app = open_application(
        url, settings.cipher_key, default_timeout=settings.chat_inactivity_seconds
    )
    pool: ConnectionPool[Any] = ConnectionPool(url, min_size=2, max_size=8, open=True)
    try:
        client = ZaloClient(settings.zalo_api_base, settings.zalo_oauth_base)
        refresher = TokenRefresher(app, open_credentials(url, pool, settings), client)
        outbox = Outbox(app, pool, client, refresher, SlidingWindowLimiter())
        threads = [
            _thread("projector", Projector(app, pool, all_views()).run, stop),
            _thread("inactivity", InactivityTimer(app, pool).run, stop),
            _thread("outbox", outbox.run, stop),
            _thread("settler", EchoSettler(app, pool).run, stop),
        ]
        log.info("processors started", extra={"processors": [t.name for t in threads]})
        for thread in threads:
            thread.join()
    finally:
        pool.close()
        app.close()
        lock.close()
        log.info("processors stopped")


def _thread(name: str, target: Callable[[threading.Event], None], stop: threading.Event) -> Any:
    thread = threading.Thread(target=target, args=(stop,), name=name, daemon=True)
    thread.start()
    return thread
