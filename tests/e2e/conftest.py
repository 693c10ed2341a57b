"""One ``zalodesk serve`` on a fresh database for the tier; tests that need more start their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Service, service_env
from tests.support.databases import fresh_database


@pytest.fixture(scope="session")
def live_database() -> Iterator[str]:
    with fresh_database("zalodesk_e2e") as url:
        yield url


@pytest.fixture(scope="session")
def live(live_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service on a fresh database (the local server, or an embedded one)."""
    data_dir: Path = tmp_path_factory.mktemp("live")
    service = Service(service_env(data_dir, live_database), logs=data_dir / "logs")
    service.start()
    try:
        yield service
    finally:
        service.stop()
    service.assert_no_tracebacks()


@pytest.fixture
def own_service(tmp_path: Path) -> Iterator[Service]:
    """A service of the test's own, on a fresh database, for tests that hurt it."""
    with fresh_database("zalodesk_own") as url:
        running = Service(service_env(tmp_path / "data", url), logs=tmp_path / "logs").start()
        try:
            yield running
        finally:
            running.stop()
