"""The agent console: a page and its script and style, shipped in the package (api/web/)
and served as they are. Everything it shows it fetches from the API with the agent's token.

Each file goes out with a strong ETag and ``Cache-Control: no-cache``: a browser keeps its
copy and asks each time whether it is still current (304), so an upgrade is seen at once.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import ClassVar

import falcon
from attrs import frozen

from api.contract import Answer, Operation, Operations, Route

PAGE = "index.html"
# The stream server is another origin (port + 1, or ZALODESK_STREAM_URL), reached by a
# redirect: connections may go to any http(s) origin; scripts and styles only to ours.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src http: https: data:; "
    "connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
UNCHANGED = Answer("Unchanged since the ETag given in If-None-Match")


@frozen
class WebFile:
    body: bytes
    etag: str


def web_files(suffix: str) -> dict[str, WebFile]:
    """The package's console files ending in ``suffix``, by name without it."""
    folder = resources.files("api").joinpath("web")
    return {
        item.name.removesuffix(suffix): WebFile(
            item.read_bytes(), hashlib.sha256(item.read_bytes()).hexdigest()[:32]
        )
        for item in folder.iterdir()
        if item.name.endswith(suffix)
    }


def send(req: falcon.Request, resp: falcon.Response, file: WebFile, media_type: str) -> None:
    resp.etag = file.etag
    resp.cache_control = ["no-cache"]
    resp.set_header("X-Content-Type-Options", "nosniff")
    if any(tag in ("*", file.etag) for tag in req.if_none_match or []):
        resp.status = falcon.HTTP_304
        return
    resp.content_type = media_type
    resp.data = file.body


class ConsolePage:
    """``GET /``: the console's page; it signs in with a token the agent pastes."""

    operations: ClassVar[Operations] = {
        "GET": Operation(
            "The agent console: the chat inbox, transcripts and the ticket list, live",
            {
                200: Answer("The page", media_type=falcon.MEDIA_HTML, schema={"type": "string"}),
                304: UNCHANGED,
            },
            uses_store=False,
        )
    }

    def __init__(self) -> None:
        self.page = web_files(".html")[PAGE.removesuffix(".html")]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.set_header("Content-Security-Policy", POLICY)
        resp.set_header("Referrer-Policy", "no-referrer")
        send(req, resp, self.page, falcon.MEDIA_HTML)


class ConsoleFiles:
    """``GET /web/{name}.js`` or ``.css``: the page's script or style, by name."""

    def __init__(self, suffix: str, media_type: str, what: str) -> None:
        self.files = web_files(suffix)
        self.media_type = media_type
        self.operations: Operations = {
            "GET": Operation(
                f"The console's {what} ({', '.join(sorted(self.files))})",
                {
                    200: Answer(what, media_type=media_type, schema={"type": "string"}),
                    304: UNCHANGED,
                },
                uses_store=False,
            )
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        file = self.files.get(name)
        if file is None:
            raise falcon.HTTPNotFound(
                title="Not found", description=f"the console has no file named {req.path}"
            )
        send(req, resp, file, self.media_type)


def console_routes() -> list[Route]:
    """The console's routes, all public like /docs: the page asks for a token itself."""
    script = ConsoleFiles(".js", "text/javascript; charset=utf-8", "script")
    style = ConsoleFiles(".css", "text/css; charset=utf-8", "style sheet")
    return [
        Route("/", ConsolePage(), secured=False),
        Route("/web/{name}.js", script, secured=False),
        Route("/web/{name}.css", style, secured=False),
    ]
