"""Domain and infrastructure errors mapped to HTTP once, for every resource."""

from __future__ import annotations

import logging
from typing import Any

import falcon
import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from psycopg_pool import PoolTimeout

from domain.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger("api")

UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError, PoolTimeout)


def register(app: falcon.App[Any, Any]) -> None:
    app.set_error_serializer(_serialize)
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.HTTPRouteNotFound, _no_route)
    app.add_error_handler(falcon.HTTPMethodNotAllowed, _wrong_method)
    app.add_error_handler(NotFound, _status(falcon.HTTP_404, "Not found"))
    app.add_error_handler(InvalidInput, _status(falcon.HTTP_422, "Invalid input"))
    app.add_error_handler(Conflict, _status(falcon.HTTP_409, "Conflict"))
    for error in UNAVAILABLE:
        app.add_error_handler(error, _unavailable)


def _status(status: str, title: str) -> Any:
    def handle(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
        raise falcon.HTTPError(status, title=title, description=str(ex))

    return handle


def _serialize(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError) -> None:
    """Every error as JSON {title, description}, whatever the request accepts."""
    resp.content_type = falcon.MEDIA_JSON
    resp.media = {
        "title": ex.title or ex.status,
        "description": ex.description or f"{ex.status}.",
    }


def _no_route(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    raise falcon.HTTPNotFound(
        title="Not found",
        description=f"No such path: {req.path} (/openapi.json lists every path; ids are UUIDs).",
    )


def _wrong_method(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    allowed = (getattr(ex, "headers", None) or {}).get("Allow", "")
    raise falcon.HTTPMethodNotAllowed(
        [m.strip() for m in allowed.split(",") if m.strip()],
        title="Method not allowed",
        description=f"{req.method} is not allowed on {req.path}; allowed: {allowed}.",
    )


def _unavailable(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    log.warning("store unavailable", extra={"path": req.path, "error": type(ex).__name__})
    raise falcon.HTTPServiceUnavailable(
        title="Store unavailable",
        description="The event store cannot be reached; try again shortly.",
        retry_after=5,
    )


def _unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    log.error("unhandled error", exc_info=ex, extra={"path": req.path})
    raise falcon.HTTPInternalServerError(
        title="Internal error", description="Something went wrong on our side; it was logged."
    )
