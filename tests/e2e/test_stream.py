"""The live stream as a browser reaches it through ``zalodesk serve``: the API's 307 to the
stream server, a stream token in the query, and a webhook's event arriving as a frame."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.server import ADMIN_TOKEN, Service, request, wait_for
from tests.support.sse import EventStream


def test_a_browser_follows_the_redirect_and_gets_a_webhooks_event(live: Service) -> None:
    account = live.connect_account()
    issued = live.post("/api/stream/tokens", token=ADMIN_TOKEN)
    assert issued.status == 201, issued.text
    token = issued.json()["token"]

    pointed = live.get(f"/api/stream?token={token}")
    assert pointed.status == 307
    target = urlsplit(pointed.headers["location"])
    assert (target.port, target.path, target.query) == (
        live.stream_port,
        "/api/stream",
        f"token={token}",
    )
    with EventStream(live.stream_port, f"{target.path}?{target.query}") as client:
        assert client.status == 200
        assert client.headers["access-control-allow-origin"] == "*"
        sent = time.monotonic()
        assert account.send(account.text("1231231231231231231", "Xin chào")).status == 200
        frames = client.events(1)
        while not any(f.json()["type"] == "Chat.CustomerMessageReceived" for f in frames):
            frames += client.events(1)
        waited = time.monotonic() - sent
    message = next(f for f in frames if f.json()["type"] == "Chat.CustomerMessageReceived")
    assert message.json()["account_id"] == account.id
    assert waited < 5, f"the frame came {waited:.1f} s after the webhook"


def test_the_stream_server_shows_its_clients(live: Service) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with EventStream(live.stream_port, "/api/stream", headers) as client:
        client.next()
        figures = wait_for(lambda: joined(live), 10, "the client to join")
        text = request(live.stream_port, "GET", "/metrics").text
    assert figures["database_connected"] is True
    assert "zalodesk_stream_clients " in text


def joined(live: Service) -> dict[str, Any] | None:
    figures: dict[str, Any] = request(live.stream_port, "GET", "/healthz").json()
    return figures if figures["clients"] >= 1 else None
