"""Keyset paging's cursors: where the last row of a page stands, as a time and an id."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID


class BadCursor(ValueError):
    """A cursor that this service did not hand out."""


# A cursor: the last row's time in microseconds since the epoch, and its id. Anything of
# this shape reads as a place in the list.
CURSOR = re.compile(r"[0-9]{1,17}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(at: datetime, ident: UUID) -> str:
    micros = (at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{ident}"


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    if not CURSOR.fullmatch(cursor):
        raise BadCursor("cursor is not one this service handed out")
    micros, ident = cursor.split(".")
    return EPOCH + timedelta(microseconds=int(micros)), UUID(ident)
