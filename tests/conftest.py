"""Fixtures: one database per test run, emptied between tests; the app wired as in production."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from adapters.postgres.schema import prepare
from tests.support.databases import fresh_database


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own data directory (the generated credentials key goes there), for the
    services it builds and the commands it runs alike."""
    folder = tmp_path / "data"
    monkeypatch.setenv("ZALODESK_DATA_DIR", str(folder))
    monkeypatch.delenv("ZALODESK_CIPHER_KEY", raising=False)
    return folder


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with fresh_database() as url:
        prepare(url)
        yield url


@pytest.fixture
def db(database_url: str) -> str:
    """The run's database, with every table emptied but the views' versions (still true)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'view_versions'"
            ).fetchall()
        ]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
    return database_url


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        tier = item.path.parent.name
        if tier in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(autouse=True)
def root_log_handlers() -> Iterator[None]:
    """A command run in-process (``cli.main``) points the log at the test's captured stderr,
    closed once the test ends; a later test's background threads must not log there."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
