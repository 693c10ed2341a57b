"""The projection: exactly once, restart-safe, rebuildable from position zero."""

from __future__ import annotations

from typing import Any

from falcon import testing

from adapters.workers.heartbeats import Heartbeats
from api import bootstrap
from api.services import Services
from tests.integration.conftest import ZaloPlatform

CUSTOMER = "2512523625412515"


def inbox_and_transcript(client: testing.TestClient) -> tuple[Any, Any]:
    inbox = client.simulate_get("/api/chats").json
    [chat] = inbox["chats"]
    return inbox, client.simulate_get(f"/api/chats/{chat['id']}").json


def test_a_restarted_projector_resumes_without_applying_twice(
    platform: ZaloPlatform, client: testing.TestClient, services: Services
) -> None:
    for n in range(10):
        platform.text(CUSTOMER, f"m{n}")
    # A first worker applies one small batch, then "crashes".
    assert bootstrap.projector(services, batch_size=7).step() == 7
    # A new worker picks up where the committed position says.
    bootstrap.projector(services).catch_up()

    inbox, chat = inbox_and_transcript(client)
    assert inbox["chats"][0]["unread_count"] == 10
    assert [m["text"] for m in chat["messages"]] == [f"m{n}" for n in range(10)]


def test_views_rebuilt_from_position_zero_are_the_same(
    platform: ZaloPlatform, client: testing.TestClient, services: Services, project: Any
) -> None:
    for n in range(5):
        platform.text(CUSTOMER, f"m{n}")
    project()
    before = inbox_and_transcript(client)
    with services.pool.connection() as conn:
        tables = [t for view in services.views for t in view.tables]
        conn.execute(f"TRUNCATE {', '.join(tables)}")
        conn.execute("UPDATE view_positions SET position = 0")
    project()
    assert inbox_and_transcript(client) == before


def test_readiness_names_a_background_loop_that_stopped_finishing_rounds(
    client: testing.TestClient, services: Services
) -> None:
    Heartbeats(services.pool).beat("projector")
    Heartbeats(services.pool).beat("outbox")
    assert client.simulate_get("/readyz").status_code == 200

    with services.pool.connection() as conn:
        conn.execute(
            "UPDATE worker_heartbeats SET beat_at = now() - interval '12 seconds' "
            "WHERE worker = 'outbox'"
        )
    answer = client.simulate_get("/readyz")
    assert answer.status_code == 503
    assert answer.json["status"] == "stalled"
    assert set(answer.json["stalled_seconds"]) == {"outbox"}
    assert answer.json["stalled_seconds"]["outbox"] >= 12
