"""What the resources that read views share: a page by cursor, one record by id; and
the fields a request may leave out, read as None."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import falcon
from pydantic import MISSING, BaseModel

from adapters.read_models.cursors import BadCursor
from api.contract import Answer, Operation, refusal

T = TypeVar("T")


def given(value: T | MISSING) -> T | None:
    """A field of a query or a body, None where the caller left it out."""
    return None if value is MISSING else value


def listing(summary: str, answer: str, shape: type[BaseModel]) -> Operation:
    """A GET of one page of a list; its responder takes the Query of its filters, its size
    and the cursor."""
    return Operation(
        summary,
        {
            200: Answer(answer, shape),
            400: refusal("A cursor this service did not hand out (or another bad query)"),
        },
    )


def page(read: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A page of a list; 400 for a cursor this service did not hand out."""
    try:
        return read()
    except BadCursor as ex:
        raise falcon.HTTPBadRequest(title="Bad cursor", description=f"cursor: {ex}") from None


def projected(found: dict[str, Any] | None, exists: Callable[[], object]) -> dict[str, Any]:
    """A record the views show; when they do not (yet), ``exists`` raises NotFound (404) for
    one that does not exist at all, and a record the views have not caught up with is 503."""
    if found is None:
        exists()
        raise falcon.HTTPServiceUnavailable(
            title="Not projected yet", description="Try again in a moment.", retry_after=1
        )
    return found
