"""Reading JSON request bodies: clear 400s and 422s instead of stack traces."""

from __future__ import annotations

from typing import Any

import falcon

MAX_DIGITS = 18  # longer strings of digits are beyond every bound here: not even read


def json_object(req: falcon.Request) -> dict[str, Any]:
    try:
        body = req.get_media()
    except falcon.MediaNotFoundError:
        body = {}
    except falcon.MediaMalformedError as ex:
        why = f": {ex.__cause__}" if ex.__cause__ else "."
        raise falcon.HTTPBadRequest(
            title="Malformed JSON", description=f"The body could not be parsed as JSON{why}"
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


def integer(body: dict[str, Any], field: str, default: int, allowed: range) -> int:
    """A whole number within ``allowed``: every number the API takes has its bounds."""
    value = body.get(field, default)
    if isinstance(value, str):
        digits = value.strip()
        if digits.isascii() and digits.isdigit() and len(digits) <= MAX_DIGITS:
            value = int(digits)
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise invalid(field, bounds(allowed))
    return value


def bounds(allowed: range) -> str:
    return f"must be a whole number from {allowed.start} to {allowed.stop - 1}"


def boolean(body: dict[str, Any], field: str, default: bool) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise invalid(field, "must be true or false")
    return value


def limit(req: falcon.Request, default: int = 100, maximum: int = 1000) -> int:
    value = req.get_param_as_int("limit", min_value=1, max_value=maximum)
    return default if value is None else value
