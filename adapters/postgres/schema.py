"""Every table zalodesk needs, created once before the workers start."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from adapters.api_tokens import TOKENS_DDL
from adapters.postgres.credentials import CREDENTIALS_DDL
from adapters.postgres.event_store import create_event_store_tables
from adapters.read_models.views.registry import all_views
from adapters.workers.heartbeats import HEARTBEATS_DDL
from adapters.workers.projector import create_tables


def prepare(url: str) -> None:
    """Safe to run from several processes starting at once: one creates, the others wait."""
    with psycopg.connect(url, autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(hashtext('zalodesk:prepare'))")
        create_event_store_tables(url)
        pool: ConnectionPool[Any] = ConnectionPool(url, min_size=1, max_size=1, open=True)
        try:
            with pool.connection() as conn:
                conn.execute(TOKENS_DDL)
                conn.execute(HEARTBEATS_DDL)
                for ddl in CREDENTIALS_DDL:
                    conn.execute(ddl)
            create_tables(pool, all_views())
        finally:
            pool.close()
