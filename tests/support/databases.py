"""A database of its own for every test run: on the local server, or an embedded one."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from adapters.postgres.connection import ensure_database, with_database
from adapters.postgres.embedded import EmbeddedPostgres

LOCAL_SERVER = "postgresql://root@127.0.0.1:5432/postgres"


def server_url() -> tuple[str, EmbeddedPostgres | None]:
    """ZALODESK_TEST_SERVER_URL, else the local server if it answers, else an embedded one."""
    configured = os.environ.get("ZALODESK_TEST_SERVER_URL")
    if configured:
        return configured, None
    if os.environ.get("ZALODESK_TEST_EMBEDDED") != "1" and _answers(LOCAL_SERVER):
        return LOCAL_SERVER, None
    embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="zalodesk-test-")))
    return embedded.url, embedded


@contextmanager
def fresh_database(prefix: str = "zalodesk_test") -> Iterator[str]:
    """A new, empty database, dropped afterwards."""
    server, embedded = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = with_database(server, name)
    ensure_database(url)
    try:
        yield url
    finally:
        with psycopg.connect(with_database(server, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if embedded is not None:
            embedded.stop()
            shutil.rmtree(embedded.pgdata.parent, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False
