"""The live stream on the API: where it is served, and its short-lived tokens.

The stream itself is served by the stream process (``zalodesk stream``, an asyncio
server), so a long-lived connection never holds one of gunicorn's sync workers.
"""

from __future__ import annotations

import falcon
from attrs import frozen

from adapters.api_tokens import StreamTokens
from adapters.settings import Settings
from adapters.timefmt import iso
from api.contract import Answer, Operation
from api.schemas.stream import StreamQuery, StreamToken

STREAM_DESCRIPTION = """Server-Sent Events (text/event-stream), served by the stream server:
this API answers 307 to the same path and query there. Authorization: Bearer <API token>,
or ?token=<stream token>; without either, the stream server answers 401. Each frame is
`id: <log position>`, `event: chat|ticket|reply|contact`, `data: {"position", "type", "at",
"chat_id", "ticket_id", "contact_id", "reply_id", "account_id"}`, sent once every view has
applied the event. Resume with Last-Event-ID (or ?last_event_id=): the events after it, in
log order, none twice. A `: keep-alive` comment every 15 s while idle."""


@frozen
class StreamRedirect:
    settings: Settings

    @Operation(
        "The live stream of changes (Server-Sent Events), on the stream server",
        {307: Answer("To the stream server: the same path and query")},
        query=StreamQuery,
        uses_store=False,
        description=STREAM_DESCRIPTION,
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        base = self.settings.stream_url or f"{req.scheme}://{req.host}:{self.settings.stream_port}"
        query = f"?{req.query_string}" if req.query_string else ""
        resp.status = falcon.HTTP_307
        resp.location = f"{base}{req.path}{query}"


@frozen
class StreamTokensResource:
    tokens: StreamTokens

    @Operation(
        "A short-lived token that opens live streams (?token=), for browsers",
        {201: Answer("Issued: valid for 5 minutes for opening streams", StreamToken)},
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        issued = self.tokens.issue(req.context.principal)
        resp.status = falcon.HTTP_201
        resp.media = {"token": issued.token, "expires_at": iso(issued.expires_at)}
