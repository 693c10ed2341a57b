"""Every table zalodesk needs, ready before anything serves: created, or rebuilt if changed.

A view whose tables were built by another version of its code (``View.version``), or
whose version is not recorded, is rebuilt from the log before anything reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from adapters.api_tokens import TOKENS_DDL
from adapters.log_tools.event_log import EventLog, NoProgress, Progress
from adapters.log_tools.replay import Replay, drop
from adapters.postgres.credentials import CREDENTIALS_DDL
from adapters.postgres.event_store import create_event_store_tables, open_application
from adapters.postgres.webhook_activity import ACTIVITY_DDL
from adapters.read_models.set_aside import SET_ASIDE_DDL
from adapters.read_models.view_versions import VERSIONS_DDL, outdated, record_version
from adapters.read_models.views.base import View
from adapters.read_models.views.registry import all_views
from adapters.workers.automation_store import AUTOMATION_DDL
from adapters.workers.heartbeats import HEARTBEATS_DDL
from adapters.workers.profiles import PROFILE_ATTEMPTS_DDL
from adapters.workers.projector import POSITIONS_DDL
from domain.application import Zalodesk

log = logging.getLogger("zalodesk.schema")

LOCK = "zalodesk:prepare"
EVENTS_TABLE = f"{Zalodesk.name.lower()}_events"  # as the eventsourcing library names it


def prepare(url: str, cipher_key: str | None = None, progress: Progress | None = None) -> None:
    """Safe to run from several processes starting at once: one creates (and rebuilds what
    changed, telling ``progress``), the others wait for it and find everything ready."""
    with psycopg.connect(url, autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(hashtext(%s))", (LOCK,))
        create_event_store_tables(url)
        pool: ConnectionPool[Any] = ConnectionPool(
            url, min_size=1, max_size=4, open=True, kwargs={"autocommit": True}
        )
        try:
            with pool.connection() as conn:
                for ddl in TOKENS_DDL:
                    conn.execute(ddl)
                conn.execute(HEARTBEATS_DDL)
                conn.execute(ACTIVITY_DDL)
                for ddl in (*CREDENTIALS_DDL, *AUTOMATION_DDL, *PROFILE_ATTEMPTS_DDL):
                    conn.execute(ddl)
            prepare_views(pool, url, cipher_key, progress or NoProgress())
        finally:
            pool.close()


def prepare_views(
    pool: ConnectionPool[Any], url: str, cipher_key: str | None, progress: Progress
) -> None:
    views = all_views()
    with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute(POSITIONS_DDL)
        cur.execute(VERSIONS_DDL)
        cur.execute(SET_ASIDE_DDL)
        changed = outdated(cur, views)
        for view in views:
            if view not in changed:
                for statement in view.ddl():  # an index added since, if any
                    cur.execute(statement)
    if not changed:
        return
    if log_is_empty(pool):
        create_afresh(pool, changed)
        return
    app = open_application(url, cipher_key)
    try:
        rebuild(EventLog(app, pool), pool, changed, progress)
    finally:
        app.close()


def log_is_empty(pool: ConnectionPool[Any]) -> bool:
    with pool.connection() as conn:
        row = conn.execute(f"SELECT NOT EXISTS (SELECT FROM {EVENTS_TABLE})").fetchone()
    return bool(row and row[0])


def create_afresh(pool: ConnectionPool[Any], views: Sequence[View]) -> None:
    """With nothing in the log there is nothing to rebuild: empty tables of the code's version."""
    with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        for view in views:
            drop(cur, view)
            for statement in view.ddl():
                cur.execute(statement)
            record_version(cur, view)


def rebuild(
    event_log: EventLog, pool: ConnectionPool[Any], views: Sequence[View], progress: Progress
) -> None:
    names = [view.name for view in views]
    log.warning(
        "views built by another version of their code; rebuilding them from the log",
        extra={"views": names},
    )
    # Waits for a `zalodesk replay` or `verify` under way rather than failing the start.
    position = Replay(event_log, pool, wait=True).run(
        names, progress, doing=f"rebuilding {', '.join(names)}"
    )
    log.info("views rebuilt", extra={"views": names, "position": position})
