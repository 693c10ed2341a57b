"""The agent console: a page and its script and style, shipped in the package (api/web/)
and served as they are. Everything it shows it fetches from the API with the agent's token.

Each file goes out with a strong ETag and ``Cache-Control: no-cache``: a browser keeps its
copy and asks each time whether it is still current (304), so an upgrade is seen at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib import resources

import falcon
from attrs import frozen

from api.contract import Answer, Operation, Route

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


@frozen
class ConsolePage:
    """``GET /``: the console's page; it signs in with a token the agent pastes."""

    page: WebFile

    @Operation(
        "The agent console: the chat inbox, transcripts and the ticket list, live",
        {
            200: Answer("The page", media_type=falcon.MEDIA_HTML, schema={"type": "string"}),
            304: UNCHANGED,
        },
        uses_store=False,
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.set_header("Content-Security-Policy", POLICY)
        resp.set_header("Referrer-Policy", "no-referrer")
        send(req, resp, self.page, falcon.MEDIA_HTML)


@frozen
class ConsoleFiles:
    """``GET /web/{name}.js`` or ``.css``: the page's script or style, by name."""

    files: Mapping[str, WebFile]
    media_type: str

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        file = self.files.get(name)
        if file is None:
            raise falcon.HTTPNotFound(
                title="Not found", description=f"the console has no file named {req.path}"
            )
        send(req, resp, file, self.media_type)


def console_routes() -> list[Route]:
    """The console's routes, all public like /docs: the page asks for a token itself."""
    return [
        Route("/", ConsolePage(web_files(".html")[PAGE.removesuffix(".html")]), secured=False),
        files_route("/web/{name}.js", ".js", "text/javascript; charset=utf-8", "script"),
        files_route("/web/{name}.css", ".css", "text/css; charset=utf-8", "style sheet"),
    ]


def files_route(template: str, suffix: str, media_type: str, what: str) -> Route:
    """The route of the console's files ending in ``suffix``: its operation names them."""
    files = web_files(suffix)
    operation = Operation(
        f"The console's {what} ({', '.join(sorted(files))})",
        {200: Answer(what, media_type=media_type, schema={"type": "string"}), 304: UNCHANGED},
        uses_store=False,
    )
    resource = ConsoleFiles(files, media_type)
    return Route(template, resource, secured=False, declared={"GET": operation})
