"""The default a user gets: no database URL, an embedded PostgreSQL in the data dir, kept across restarts."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Service, postmasters, run_cli, service_env, wait_for

BIG_ID = "7605173638941758527"  # 19 digits, beyond 2**53: must come back as this exact string
TEXT = "Xin chào, shop còn hàng không?"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def embedded(data_dir: Path, tmp_path: Path) -> Iterator[Service]:
    service = Service(service_env(data_dir, database_url=None), logs=tmp_path / "logs")
    try:
        yield service
    finally:
        service.stop()
        # Only after a failure: stop a postgres our child left behind (fast shutdown).
        for pid in postmasters(data_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
    service.assert_no_tracebacks()


def assert_postgres_stopped(data_dir: Path) -> None:
    """No ``postgres`` process is left whose command line names the data dir."""
    deadline = time.monotonic() + 10
    while postmasters(data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not postmasters(data_dir), (
        f"postgres left running on {data_dir}: {postmasters(data_dir)}"
    )


def test_the_embedded_database_keeps_chats_across_a_restart(
    embedded: Service, data_dir: Path
) -> None:
    embedded.start()
    assert postmasters(data_dir), "the embedded postgres should run from the data dir"
    account = embedded.connect_account()
    answer = account.send(account.text(BIG_ID, TEXT))
    assert answer.status == 200, answer.text
    assert answer.json()["outcome"] == "recorded"

    [chat] = wait_for(lambda: embedded.chats(account.id), 15, "the chat in the inbox")
    assert chat["last_message"]["text"] == TEXT
    assert chat["last_message"]["direction"] == "in"
    assert chat["customer"]["zalo_user_id"] == BIG_ID  # a str, so exact

    # The command line shares the running embedded server, and leaves it running:
    issued = run_cli(embedded.env, "token", "create", "Lan")
    assert issued.returncode == 0, issued.stderr
    agent = issued.stdout.strip()
    assert embedded.get("/api/chats", token=agent).status == 200
    assert postmasters(data_dir)

    started = time.monotonic()
    assert embedded.terminate() == 0, embedded.stderr()
    assert time.monotonic() - started < 20
    assert_postgres_stopped(data_dir)

    embedded.start()
    [again] = wait_for(lambda: embedded.chats(account.id), 15, "the chat after a restart")
    assert again["id"] == chat["id"]
    assert again["customer"]["zalo_user_id"] == BIG_ID
    assert again["last_message"]["text"] == TEXT
    transcript: dict[str, Any] = embedded.admin_get(f"/api/chats/{chat['id']}")
    assert [m["text"] for m in transcript["messages"]] == [TEXT]
    assert embedded.get("/api/chats", token=agent).status == 200  # tokens are kept too

    assert embedded.terminate() == 0, embedded.stderr()
    assert_postgres_stopped(data_dir)


def test_ctrl_c_stops_everything_quickly(embedded: Service, data_dir: Path) -> None:
    """Ctrl-C in a terminal signals the whole process group at once."""
    embedded.start()
    assert embedded.process is not None
    process = embedded.process
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=8) == 0  # gunicorn's own graceful limit is 10 s
    embedded.process = None
    assert_postgres_stopped(data_dir)
    assert "SIGKILL" not in embedded.stderr()


def test_after_a_kill_9_the_next_clean_stop_leaves_no_postgres_running(
    embedded: Service, data_dir: Path
) -> None:
    embedded.start()
    account = embedded.connect_account()
    assert account.send(account.text(BIG_ID, TEXT)).status == 200
    embedded.kill()  # SIGKILL to the whole process group: postgres itself lives on
    embedded.process = None
    assert postmasters(data_dir), "the killed service left its postgres running"

    embedded.start()  # adopts the server left behind
    wait_for(lambda: embedded.chats(account.id), 20, "the chat kept across the kill")
    assert embedded.terminate() == 0, embedded.stderr()
    assert_postgres_stopped(data_dir)
    assert "this one takes it over and stops it when it stops" in embedded.stderr()


def test_if_the_embedded_server_dies_the_service_stops_with_a_non_zero_status(
    embedded: Service, data_dir: Path
) -> None:
    embedded.start()
    [postmaster] = [pid for pid in postmasters(data_dir) if is_postmaster(pid, data_dir)]
    embedded.tracebacks_expected = True  # every connection breaks, and says so
    os.kill(postmaster, signal.SIGKILL)
    assert embedded.process is not None
    status = embedded.process.wait(timeout=30)
    embedded.process = None
    assert status != 0
    assert "the embedded PostgreSQL server died under it" in embedded.stderr()
    assert "NoSuchProcess" not in embedded.stderr()


def is_postmaster(pid: int, data_dir: Path) -> bool:
    """The server itself (its pid is the first line of postmaster.pid), not a backend."""
    pid_file = data_dir.resolve() / "pgdata" / "postmaster.pid"
    return pid_file.read_text().splitlines()[0].strip() == str(pid)


def test_as_root_the_folders_above_the_data_are_made_passable_not_listable(
    embedded: Service, data_dir: Path, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the embedded server runs as a user of its own only when started by root")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    inner = closed / "data"
    embedded.env["ZALODESK_DATA_DIR"] = str(inner)
    embedded.start()
    mode = closed.stat().st_mode
    assert mode & 0o011 == 0o011, oct(mode)  # others may pass through
    assert mode & 0o044 == 0, oct(mode)  # but not list what is inside
    assert embedded.terminate() == 0
    assert_postgres_stopped(inner)
