"""The live stream over real HTTP: the stream server (uvicorn, in a thread) on the run's
database, webhooks through the API app, the views brought up to date as the projector does."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from attrs import evolve
from falcon import testing

from adapters.settings import Settings
from adapters.stream.frames import aggregate_of
from adapters.stream.hub import Hub, Pacing
from adapters.stream.source import Batch
from api import bootstrap, stream_server
from api.services import Services
from tests.e2e.server import free_port, request, wait_for
from tests.integration.conftest import ZaloPlatform
from tests.support.proxy import CuttableProxy
from tests.support.sse import EventStream, Frame

ADMIN = {"Authorization": "Bearer admin-token"}
QUICK = Pacing(keep_alive_seconds=0.5, poll_seconds=0.2)


@dataclass
class StreamServer:
    port: int
    hub: Hub

    def open(self, path: str = "/api/stream", **headers: str) -> EventStream:
        return EventStream(self.port, path, headers)

    def admin(self, path: str = "/api/stream", **headers: str) -> EventStream:
        return self.open(path, **ADMIN, **headers)


@contextlib.contextmanager
def running(services: Services, pacing: Pacing = QUICK) -> Iterator[StreamServer]:
    hub, app = bootstrap.stream_parts(services, pacing)
    port, stop = free_port(), threading.Event()
    thread = threading.Thread(
        target=stream_server.run, args=(app, hub, f"127.0.0.1:{port}", stop), daemon=True
    )
    thread.start()
    try:
        wait_for(lambda: hub.ready.is_set(), 10, "the stream's hub")
        wait_for(lambda: _answers(port), 10, "the stream server")
        yield StreamServer(port, hub)
    finally:
        stop.set()
        thread.join(10)


def _answers(port: int) -> bool:
    try:
        return request(port, "GET", "/healthz", timeout=1).status == 200
    except OSError:
        return False


@pytest.fixture
def stream(services: Services) -> Iterator[StreamServer]:
    with running(services) as server:
        yield server


def customer(n: int) -> str:
    return f"{8800000000000000000 + n}"


def visible_after(services: Services, after: int) -> list[int]:
    """The positions of the events an agent sees, after ``after``, from the log itself."""
    return [
        n.id
        for n in services.log.notifications(after, 100_000)
        if aggregate_of(n.topic) is not None
    ]


def test_a_webhooks_event_reaches_a_client_as_a_frame(
    stream: StreamServer, platform: ZaloPlatform, project: Callable[[], int], account: Any
) -> None:
    with stream.admin() as client:
        assert client.status == 200
        assert client.headers["content-type"].startswith("text/event-stream")
        assert client.headers["access-control-allow-origin"] == "*"
        assert platform.text(customer(1), "Xin chào").status_code == 200
        project()
        frames = client.events(1)
        while not any(f.json()["type"] == "Chat.CustomerMessageReceived" for f in frames):
            frames += client.events(1)
    message = next(f for f in frames if f.json()["type"] == "Chat.CustomerMessageReceived")
    data = message.json()
    assert message.event == "chat"
    assert data["position"] == message.id
    assert data["account_id"] == account["id"]
    assert all(data[k] for k in ("chat_id", "ticket_id", "contact_id", "at"))
    assert data["reply_id"] is None
    ids = [f.id or 0 for f in frames]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {f.event for f in frames} <= {"chat", "ticket", "reply", "contact"}


def test_a_client_away_while_100_events_happen_gets_exactly_those_on_resuming(
    services: Services,
    stream: StreamServer,
    platform: ZaloPlatform,
    project: Callable[[], int],
) -> None:
    with stream.admin() as client:
        assert platform.text(customer(1), "first").status_code == 200
        project()
        last = client.events(1)[-1].id
    assert last is not None
    # Away: a hundred agent-visible events (and others beside them), the views kept up.
    n = 0
    while len(visible_after(services, last)) < 100:
        n += 1
        assert platform.text(customer(n % 7), f"message {n}").status_code == 200
        if n % 10 == 0:
            project()
    project()
    wanted = visible_after(services, last)
    wait_for(lambda: stream.hub.position >= services.log.head(), 10, "the hub to move on")

    with stream.admin(**{"Last-Event-ID": str(last)}) as resumed:
        got = resumed.events(len(wanted))
        assert [f.id for f in got] == wanted
        assert [f.json()["position"] for f in got] == wanted
        # Then live, from exactly there: the next event, nothing before it again.
        assert platform.text(customer(1), "after resuming").status_code == 200
        project()
        after = resumed.events(1)[0]
        assert after.id == visible_after(services, wanted[-1])[0]
    assert len(wanted) >= 100


def test_resuming_by_query_and_from_beyond_the_hubs_place(
    services: Services, stream: StreamServer, platform: ZaloPlatform, project: Callable[[], int]
) -> None:
    assert platform.text(customer(2), "one").status_code == 200
    project()
    wanted = visible_after(services, 0)
    wait_for(lambda: stream.hub.position >= wanted[-1], 10, "the hub")
    with stream.admin("/api/stream?last_event_id=0") as client:
        assert [f.id for f in client.events(len(wanted))] == wanted
    with stream.admin(**{"Last-Event-ID": str(wanted[-1])}) as client:
        assert platform.text(customer(2), "two").status_code == 200
        project()
        assert client.events(1)[0].id == visible_after(services, wanted[-1])[0]


def test_keep_alives_arrive_while_nothing_happens(stream: StreamServer) -> None:
    with stream.admin() as client:
        started = time.monotonic()
        frames = [client.next() for _ in range(3)]
    assert any(": keep-alive" in f": {c}" for f in frames for c in f.comments), frames
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic admin-token"}],
)
def test_no_valid_token_is_401_as_json(stream: StreamServer, headers: dict[str, str]) -> None:
    answer = request(stream.port, "GET", "/api/stream", headers=headers)
    assert answer.status == 401
    assert answer.headers["content-type"].startswith("application/json")
    assert set(answer.json()) == {"title", "description"}


@pytest.mark.parametrize(
    "path", ["//api/stream", "/api/stream/", "/API/stream", "/api/%73tream", "/api/./stream"]
)
def test_no_spelling_of_the_path_opens_a_stream_without_a_token(
    stream: StreamServer, path: str
) -> None:
    answer = request(stream.port, "GET", path)
    assert answer.status in (401, 404), (path, answer.status)
    assert set(answer.json()) == {"title", "description"}


def test_the_bearer_scheme_is_read_in_any_case(stream: StreamServer) -> None:
    token = ADMIN["Authorization"].partition(" ")[2]
    with stream.open(Authorization=f"bEARER {token}") as client:
        assert client.status == 200
        assert client.next() is not None


def test_a_browser_may_resume_across_origins(stream: StreamServer) -> None:
    """EventSource reconnects with Last-Event-ID, which a browser asks about first."""
    headers = {
        "Origin": "http://127.0.0.1:8000",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "last-event-id",
    }
    answer = request(stream.port, "OPTIONS", "/api/stream", headers=headers)
    assert answer.status in (200, 204)
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "GET" in answer.headers["access-control-allow-methods"]
    assert "last-event-id" in answer.headers["access-control-allow-headers"].lower()


def test_a_bad_position_or_query_is_400(stream: StreamServer) -> None:
    for path, headers in (
        ("/api/stream", {**ADMIN, "Last-Event-ID": "abc"}),
        ("/api/stream?last_event_id=-1", ADMIN),
        ("/api/stream?since=3", ADMIN),
    ):
        answer = request(stream.port, "GET", path, headers=headers)
        assert answer.status == 400, path
        assert set(answer.json()) == {"title", "description"}


def issue(client: testing.TestClient, bearer: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else ADMIN
    answer = client.simulate_post("/api/stream/tokens", headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json)


def test_a_stream_token_opens_a_stream_until_it_expires(
    stream: StreamServer, client: testing.TestClient, db: str
) -> None:
    issued = issue(client)
    assert set(issued) == {"token", "expires_at"}
    with stream.open(f"/api/stream?token={issued['token']}") as opened:
        assert opened.status == 200
        assert opened.next().comments == [] and opened.next().comments  # retry, keep-alive
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("UPDATE stream_tokens SET expires_at = now() - interval '1 second'")
    answer = request(stream.port, "GET", f"/api/stream?token={issued['token']}")
    assert answer.status == 401
    assert request(stream.port, "GET", "/api/stream?token=zds_made_up").status == 401


def test_a_stream_token_dies_with_the_api_token_it_was_issued_to(
    stream: StreamServer, client: testing.TestClient
) -> None:
    agent = client.simulate_post("/api/tokens", json={"name": "lan"}).json
    issued = issue(client, agent["token"])
    with stream.open(f"/api/stream?token={issued['token']}") as opened:
        assert opened.status == 200
    assert client.simulate_delete(f"/api/tokens/{agent['id']}").status_code == 204
    assert request(stream.port, "GET", f"/api/stream?token={issued['token']}").status == 401
    # Nobody but a holder of an API token gets one.
    assert testing.TestClient(client.app).simulate_post("/api/stream/tokens").status_code == 401


def test_the_api_redirects_to_the_stream_server(
    client: testing.TestClient, settings: Settings, services: Services
) -> None:
    answer = client.simulate_get("/api/stream", query_string="token=abc&last_event_id=7")
    assert answer.status_code == 307
    assert answer.headers["location"] == (
        f"http://falconframework.org:{settings.stream_port}/api/stream?token=abc&last_event_id=7"
    )
    assert client.simulate_get("/api/stream", query_string="since=1").status_code == 400
    assert client.simulate_get("/api/stream", query_string="last_event_id=x").status_code == 400
    paths = client.simulate_get("/openapi.json").json["paths"]
    assert "307" in paths["/api/stream"]["get"]["responses"]
    assert {p["name"] for p in paths["/api/stream"]["get"]["parameters"]} == {
        "token",
        "last_event_id",
    }
    assert "201" in paths["/api/stream/tokens"]["post"]["responses"]
    services.settings = evolve(settings, stream_url="https://desk.example")
    proxied = testing.TestClient(bootstrap.http_app(services), headers=ADMIN)
    answer = proxied.simulate_get("/api/stream", headers={})
    assert answer.status_code == 307
    assert answer.headers["location"] == "https://desk.example/api/stream"


def test_the_stream_rides_out_a_database_outage(
    settings: Settings,
    services: Services,
    platform: ZaloPlatform,
    project: Callable[[], int],
    clock: Any,
) -> None:
    proxy = CuttableProxy(str(settings.database_url))
    behind = bootstrap.build(settings, proxy.url, clock)
    try:
        with running(behind) as server, server.admin() as client:
            proxy.cut()
            wait_for(lambda: not server.hub.connected, 10, "the hub to notice")
            assert platform.text(customer(3), "while the stream was away").status_code == 200
            project()
            assert any(client.next().comments for _ in range(3))  # still open: keep-alives
            proxy.restore()
            frames = client.events(1)
            while not any(f.json()["type"] == "Chat.CustomerMessageReceived" for f in frames):
                frames += client.events(1)
            assert server.hub.connected
    finally:
        behind.close()
        proxy.cut()


def test_the_hub_encodes_each_frame_once_for_every_client(
    stream: StreamServer, platform: ZaloPlatform, project: Callable[[], int]
) -> None:
    clients = [stream.admin() for _ in range(5)]
    try:
        wait_for(lambda: len(stream.hub.clients) == 5, 10, "five clients")
        assert platform.text(customer(4), "to all").status_code == 200
        project()
        seen: list[list[Frame]] = [c.events(3) for c in clients]
    finally:
        for c in clients:
            c.close()
    first = [[(f.id, json.loads(f.data)) for f in frames] for frames in seen]
    assert all(frames == first[0] for frames in first)
    assert uuid.UUID(first[0][0][1]["contact_id"] or first[0][0][1]["chat_id"])


def test_a_client_that_stops_reading_is_closed_and_cut_off(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    pacing = Pacing(
        keep_alive_seconds=0.5, poll_seconds=0.2, buffer_bytes=256 * 1024, stuck_seconds=0.5
    )
    with running(services, pacing) as server:
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", server.port))
        stuck.sendall(
            b"GET /api/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n\r\n"
        )
        hub = server.hub
        wait_for(lambda: len(hub.clients) == 1, 10, "the client to join")
        assert hub.loop is not None
        big = b"data: " + b"x" * 100_000 + b"\n\n"
        start = hub.position
        for n in range(1, 200):  # 20 MB that nobody reads
            batch = Batch(start + n, [(start + n, big)])
            hub.loop.call_soon_threadsafe(hub.broadcast, batch)
            if hub.dropped:
                break
            time.sleep(0.005)
        wait_for(lambda: hub.dropped == 1 and not hub.clients, 10, "the client to be dropped")
        time.sleep(1.5)
        assert "its connection is cut" in caplog.text
        # What was sent drains, then the connection ends.
        stuck.settimeout(10)
        while stuck.recv(1 << 20):
            pass
        stuck.close()
