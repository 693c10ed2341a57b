"""``zalodesk serve`` keeps its worker process running: killed, it is restarted and logged."""

from __future__ import annotations

import os
import signal

from tests.e2e.server import Service, children_running, wait_for


def worker_pid(service: Service) -> int | None:
    assert service.process is not None
    pids = children_running(service.process.pid, "api worker")
    return pids[0] if len(pids) == 1 else None


def test_a_killed_worker_is_restarted_and_the_views_move_again(own_service: Service) -> None:
    account = own_service.connect_account()
    first = wait_for(lambda: worker_pid(own_service), 10, "the worker process")
    os.kill(first, signal.SIGKILL)
    assert account.send(account.text("1122334455667788990", "while it was down")).status == 200

    second = wait_for(lambda: worker_pid(own_service) not in (None, first), 20, "a new worker")
    assert second
    wait_for(lambda: own_service.chats(account.id), 20, "the message in the inbox")
    assert own_service.stderr_path is not None
    assert "worker exited with status" in own_service.stderr_path.read_text()
    assert "worker restarted" in own_service.stderr_path.read_text()
