"""``zalodesk serve`` keeps its worker process running: killed, it is restarted and logged."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Service, children_running, service_env, wait_for
from tests.support.databases import fresh_database


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with fresh_database("zalodesk_supervision") as url:
        running = Service(service_env(tmp_path / "data", url), logs=tmp_path / "logs").start()
        try:
            yield running
        finally:
            running.stop()


def worker_pid(service: Service) -> int | None:
    assert service.process is not None
    pids = children_running(service.process.pid, "api worker")
    return pids[0] if len(pids) == 1 else None


def test_a_killed_worker_is_restarted_and_the_views_move_again(service: Service) -> None:
    account = service.connect_account()
    first = wait_for(lambda: worker_pid(service), 10, "the worker process")
    os.kill(first, signal.SIGKILL)
    assert account.send(account.text("1122334455667788990", "while it was down")).status == 200

    second = wait_for(lambda: worker_pid(service) not in (None, first), 20, "a new worker")
    assert second
    wait_for(lambda: service.chats(account.id), 20, "the message in the inbox")
    assert service.stderr_path is not None
    assert "worker exited with status" in service.stderr_path.read_text()
    assert "worker restarted" in service.stderr_path.read_text()
