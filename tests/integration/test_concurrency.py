"""Exactly once under races: concurrent first messages and concurrent writers to one chat."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from falcon import testing

from adapters.postgres.connection import Connections, web_worker
from tests.integration.conftest import ZaloPlatform, only_chat
from tests.support import zalo

CUSTOMER = "2687558107438251665"
SENDERS = 40


@pytest.fixture
def connections() -> Connections:
    """One process answering 40 requests at once holds what a gunicorn worker of 40 threads
    is given (a request holds one of the store's connections)."""
    return web_worker(threads=SENDERS)


def test_forty_concurrent_first_messages_make_one_contact_ticket_and_chat(
    platform: ZaloPlatform, client: testing.TestClient, project: Any
) -> None:
    bodies = [zalo.user_text(CUSTOMER, f"message {n}") for n in range(SENDERS)]
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        statuses = list(pool.map(lambda body: platform.send(body).status_code, bodies))
    assert statuses == [200] * SENDERS

    project()
    inbox = client.simulate_get("/api/chats").json
    [chat] = inbox["chats"]
    assert chat["unread_count"] == 40
    messages = client.simulate_get(f"/api/chats/{chat['id']}").json["messages"]
    assert sorted(m["text"] for m in messages) == sorted(f"message {n}" for n in range(40))
    tickets_of_customer = client.simulate_get(
        "/api/tickets", params={"customer_id": chat["customer"]["id"]}
    ).json
    assert tickets_of_customer["tickets"] == []  # the one ticket is an active chat, in the inbox


def test_concurrent_retries_of_one_delivery_record_it_once(
    platform: ZaloPlatform, client: testing.TestClient, project: Any
) -> None:
    body = zalo.user_text(CUSTOMER, "only once")
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda _: platform.send(body).json["outcome"], range(10)))
    assert outcomes.count("recorded") == 1
    assert outcomes.count("duplicate") == 9
    chat = only_chat(client, project)
    assert chat["unread_count"] == 1
