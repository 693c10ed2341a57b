"""Reading JSON request bodies: clear 400s and 422s instead of stack traces."""

from __future__ import annotations

from typing import Any

import falcon


def json_object(req: falcon.Request) -> dict[str, Any]:
    try:
        body = req.get_media()
    except falcon.MediaNotFoundError:
        body = {}
    except falcon.MediaMalformedError:
        raise falcon.HTTPBadRequest(
            title="Malformed JSON", description="The body could not be parsed as JSON."
        ) from None
    if not isinstance(body, dict):
        raise falcon.HTTPBadRequest(title="Bad body", description="The body must be a JSON object.")
    return body


def invalid(field: str, why: str) -> falcon.HTTPError:
    return falcon.HTTPUnprocessableEntity(title="Invalid input", description=f"{field}: {why}")


def text(body: dict[str, Any], field: str, *, required: bool = True, default: str = "") -> str:
    value = body.get(field)
    if value is None:
        if required:
            raise invalid(field, "is required")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(field, "must be a string")
    value = str(value).strip()
    if required and not value:
        raise invalid(field, "must not be empty")
    return value


def integer(body: dict[str, Any], field: str, default: int, *, minimum: int = 1) -> int:
    value = body.get(field, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be a whole number")
    if value < minimum:
        raise invalid(field, f"must be at least {minimum}")
    return value


def boolean(body: dict[str, Any], field: str, default: bool) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise invalid(field, "must be true or false")
    return value


def limit(req: falcon.Request, default: int = 100, maximum: int = 1000) -> int:
    value = req.get_param_as_int("limit", min_value=1, max_value=maximum)
    return default if value is None else value
