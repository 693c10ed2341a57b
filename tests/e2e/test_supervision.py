"""``zalodesk serve`` keeps its worker process running: killed, it is restarted and logged."""

from __future__ import annotations

import os
import signal

from tests.e2e.server import ADMIN_TOKEN, Service, children_running, wait_for
from tests.support.sse import EventStream

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def child_pid(service: Service, command: str = "api worker") -> int | None:
    assert service.process is not None
    pids = children_running(service.process.pid, command)
    return pids[0] if len(pids) == 1 else None


def test_a_killed_worker_is_restarted_and_the_views_move_again(own_service: Service) -> None:
    account = own_service.connect_account()
    first = wait_for(lambda: child_pid(own_service), 10, "the worker process")
    os.kill(first, signal.SIGKILL)
    assert account.send(account.text("1122334455667788990", "while it was down")).status == 200

    second = wait_for(lambda: child_pid(own_service) not in (None, first), 20, "a new worker")
    assert second
    wait_for(lambda: own_service.chats(account.id), 20, "the message in the inbox")
    assert own_service.stderr_path is not None
    assert "worker exited with status" in own_service.stderr_path.read_text()
    assert "worker restarted" in own_service.stderr_path.read_text()


def test_a_killed_stream_process_is_restarted_and_streams_again(own_service: Service) -> None:
    account = own_service.connect_account()
    first = wait_for(lambda: child_pid(own_service, "api stream"), 10, "the stream process")
    wait_for(lambda: own_service.stream_answers(), 20, "the stream server")
    os.kill(first, signal.SIGKILL)
    second = wait_for(
        lambda: child_pid(own_service, "api stream") not in (None, first), 20, "a new stream"
    )
    assert second
    wait_for(lambda: own_service.stream_answers(), 20, "the new stream server")
    with EventStream(own_service.stream_port, "/api/stream", ADMIN) as client:
        assert client.status == 200
        assert account.send(account.text("1122334455667788991", "after the restart")).status == 200
        types = [f.json()["type"] for f in client.events(1)]
        while "Chat.CustomerMessageReceived" not in types:
            types += [f.json()["type"] for f in client.events(1)]
    logged = own_service.stderr_path.read_text() if own_service.stderr_path else ""
    assert "stream exited with status" in logged
    assert "stream restarted" in logged
