"""The default a user gets: no database URL, an embedded PostgreSQL in the data dir, kept across restarts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Service, postmasters, service_env, wait_for

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


def test_the_embedded_database_keeps_chats_across_a_restart(
    embedded: Service, data_dir: Path
) -> None:
    embedded.start()
    account = embedded.connect_account()
    answer = account.send(account.text(BIG_ID, TEXT))
    assert answer.status == 200, answer.text
    assert answer.json() == {"ok": True, "outcome": "recorded"}

    [chat] = wait_for(lambda: embedded.chats(account.id) or None, 15, "the chat in the inbox")
    assert chat["last_message"]["text"] == TEXT
    assert chat["last_message"]["direction"] == "in"
    assert chat["customer"]["zalo_user_id"] == BIG_ID  # a str, so exact

    started = time.monotonic()
    assert embedded.terminate() == 0, embedded.stderr()
    assert time.monotonic() - started < 20
    assert wait_for(lambda: not postmasters(data_dir) or None, 10, "postgres to stop"), (
        f"postgres left running on {data_dir}: {postmasters(data_dir)}"
    )

    embedded.start()
    [again] = wait_for(lambda: embedded.chats(account.id) or None, 15, "the chat after a restart")
    assert again["id"] == chat["id"]
    assert again["customer"]["zalo_user_id"] == BIG_ID
    assert again["last_message"]["text"] == TEXT
    transcript: dict[str, Any] = embedded.admin_get(f"/api/chats/{chat['id']}")
    assert [m["text"] for m in transcript["messages"]] == [TEXT]

    assert embedded.terminate() == 0, embedded.stderr()
    assert wait_for(lambda: not postmasters(data_dir) or None, 10, "postgres to stop")
