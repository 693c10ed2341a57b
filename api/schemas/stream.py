"""The live stream's query and its short-lived tokens."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from api.schemas.base import WHOLE_NUMBER, Query, Shape, Timestamp

StreamTokenText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="A stream token from POST /api/stream/tokens, for clients that cannot "
        "send Authorization (a browser's EventSource).",
    ),
]
Position = Annotated[
    int,
    Field(ge=0, description="Resume after this log position (as the Last-Event-ID header does)."),
    WHOLE_NUMBER,
]


class StreamQuery(Query):
    token: StreamTokenText | None = None
    last_event_id: Position | None = None


class StreamToken(Shape):
    token: str = Field(description="Opens streams (?token=) until it expires.")
    expires_at: Timestamp
