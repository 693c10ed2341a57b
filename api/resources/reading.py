"""What the resources that read views share: a page by cursor, one record by id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon

from adapters.read_models.cursors import BadCursor


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
