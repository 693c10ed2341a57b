"""The stream server's HTTP app (Falcon ASGI): ``GET /api/stream`` as Server-Sent Events,
and its own ``/healthz`` and ``/metrics`` (connected clients, position, database).

CORS is open (``Access-Control-Allow-Origin: *``): the stream is opened with a token,
never with cookies, and a browser's EventSource follows the API's redirect here.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import falcon
import falcon.asgi

from adapters.api_tokens import Principal, StreamTokens, TokenStore
from adapters.stream.hub import Hub
from adapters.stream.source import DATABASE_AWAY
from api.errors import UNAVAILABLE

STREAM = "/api/stream"
RECEIVE = "zalodesk.receive"
ABORT = "zalodesk.abort"
QUERY = frozenset({"token", "last_event_id"})
PREFLIGHT_HEADERS = "Authorization, Last-Event-ID, Cache-Control"


def unauthorized() -> falcon.HTTPError:
    return falcon.HTTPUnauthorized(
        title="Unauthorized",
        description="Send Authorization: Bearer <token> with a valid API token, or "
        "?token=<stream token> from POST /api/stream/tokens (valid 5 minutes).",
        challenges=["Bearer"],
    )


def bad_request(description: str) -> falcon.HTTPError:
    return falcon.HTTPBadRequest(title="Bad query", description=description)


def position(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 18:
        raise bad_request(f"{name}: must be a log position (a whole number of at least 0)")
    return int(text)


class Stream:
    def __init__(self, hub: Hub, tokens: TokenStore, stream_tokens: StreamTokens) -> None:
        self.hub = hub
        self.tokens = tokens
        self.stream_tokens = stream_tokens

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        params = req.params
        unknown = sorted(set(params) - QUERY)
        if unknown:
            raise bad_request(
                f"{', '.join(unknown)}: not a query parameter of this call "
                "(it takes token, last_event_id)"
            )
        if any(isinstance(value, list) for value in params.values()):
            raise bad_request("a query parameter is given more than once")
        after = position(req.get_header("Last-Event-ID"), "Last-Event-ID")
        if after is None:
            after = position(req.get_param("last_event_id"), "last_event_id")
        await self._principal(req)
        resp.content_type = "text/event-stream; charset=utf-8"
        resp.cache_control = ["no-cache"]
        resp.set_header("X-Accel-Buffering", "no")  # proxies: pass each frame on at once
        resp.stream = self.hub.serve(after, _left(req.scope), req.scope[ABORT])

    async def _principal(self, req: falcon.asgi.Request) -> Principal:
        scheme, _, bearer = (req.get_header("Authorization") or "").strip().partition(" ")
        query_token = req.params.get("token")
        try:
            if scheme.lower() == "bearer" and bearer.strip():
                found = await asyncio.to_thread(self.tokens.authenticate, bearer.strip())
            elif isinstance(query_token, str) and query_token:
                found = await asyncio.to_thread(self.stream_tokens.authenticate, query_token)
            else:
                found = None
        except (*UNAVAILABLE, *DATABASE_AWAY):
            raise falcon.HTTPServiceUnavailable(
                title="Store unavailable",
                description="The database cannot be reached to check the token; try again shortly.",
                retry_after=5,
            ) from None
        if found is None:
            raise unauthorized()
        return found


async def _left(scope: MutableMapping[str, Any]) -> None:
    """Returns once the client has gone (Falcon's streams do not watch for it)."""
    receive = scope[RECEIVE]
    while (await receive())["type"] != "http.disconnect":
        pass


class Health:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"status": "alive", **self.hub.figures()}


class Metrics:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        figures = self.hub.figures()
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8"
        resp.text = (
            "# HELP zalodesk_stream_clients Live stream clients connected now.\n"
            "# TYPE zalodesk_stream_clients gauge\n"
            f"zalodesk_stream_clients {figures['clients']}\n"
            "# HELP zalodesk_stream_position The log position sent to clients so far.\n"
            "# TYPE zalodesk_stream_position gauge\n"
            f"zalodesk_stream_position {figures['position']}\n"
            "# HELP zalodesk_stream_database_up 1 while the stream reaches the database.\n"
            "# TYPE zalodesk_stream_database_up gauge\n"
            f"zalodesk_stream_database_up {int(figures['database_connected'])}\n"
            "# HELP zalodesk_stream_dropped_total Clients closed for falling too far behind.\n"
            "# TYPE zalodesk_stream_dropped_total counter\n"
            f"zalodesk_stream_dropped_total {figures['dropped']}\n"
            "# HELP zalodesk_stream_opened_total Streams opened.\n"
            "# TYPE zalodesk_stream_opened_total counter\n"
            f"zalodesk_stream_opened_total {figures['served']}\n"
        )


def _serialize(req: Any, resp: Any, ex: falcon.HTTPError) -> None:
    resp.content_type = falcon.MEDIA_JSON
    resp.media = {"title": ex.title or ex.status, "description": ex.description or f"{ex.status}."}


class AnyOrigin:
    """Every answer, errors too, readable from any page (tokens, never cookies, open streams).
    A browser's EventSource that reconnects sends Last-Event-ID, which is not a simple
    header across origins: it asks first (a preflight), and is told it may."""

    async def process_response(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: Any, ok: bool
    ) -> None:
        resp.set_header("Access-Control-Allow-Origin", "*")
        if req.method == "OPTIONS" and req.get_header("Access-Control-Request-Method"):
            resp.set_header("Access-Control-Allow-Methods", "GET")
            resp.set_header("Access-Control-Allow-Headers", PREFLIGHT_HEADERS)
            resp.set_header("Access-Control-Max-Age", "600")


class WithReceive:
    """ASGI: hands each request's ``receive`` to the app in its scope, so a stream notices
    its client leaving (after a disconnect, ASGI's ``send`` does nothing and raises nothing),
    and a way to cut the connection of a client that reads nothing (a write to it blocks
    for ever): the request is cancelled, and the server closes the connection."""

    def __init__(self, app: falcon.asgi.App[Any, Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        task = asyncio.current_task()
        cut = False

        def abort() -> None:
            nonlocal cut
            cut = True
            if task is not None:
                task.cancel()

        scope[RECEIVE] = receive
        scope[ABORT] = abort
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            if not cut or task is None:
                raise
            task.uncancel()


def create_stream_app(hub: Hub, tokens: TokenStore, stream_tokens: StreamTokens) -> WithReceive:
    app: falcon.asgi.App[Any, Any] = falcon.asgi.App(middleware=[AnyOrigin()])
    app.req_options.keep_blank_qs_values = True
    app.set_error_serializer(_serialize)
    app.add_route(STREAM, Stream(hub, tokens, stream_tokens))
    app.add_route("/healthz", Health(hub))
    app.add_route("/metrics", Metrics(hub))
    return WithReceive(app)
