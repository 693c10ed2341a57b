"""Starting `zalodesk api` and `zalodesk worker` together on an empty database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg

from adapters.postgres.schema import prepare
from tests.support.databases import fresh_database


def test_processes_preparing_one_empty_database_at_once_all_succeed() -> None:
    with fresh_database() as url:
        with ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = list(pool.map(lambda _: prepare(url), range(4)))
        assert outcomes == [None] * 4
        with psycopg.connect(url) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables").fetchall()}
        assert {"zalodesk_events", "inbox_chats", "tickets", "api_tokens"} <= tables
