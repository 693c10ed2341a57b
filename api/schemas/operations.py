"""API tokens, the audit trail and the log, and the service's own health."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel

from api.schemas.base import (
    WHOLE_NUMBER,
    Error,
    Form,
    Id,
    Query,
    Shape,
    Timestamp,
    visible_text,
)
from domain.handlers.inbound import Outcome


class NewToken(Form):
    name: Annotated[str, visible_text(200, "Whose token it is.")]
    admin: bool = False


class TokenInfo(Shape):
    id: Id
    name: str
    admin: bool
    created_at: Timestamp | None
    revoked_at: Timestamp | None


class IssuedToken(TokenInfo):
    token: str = Field(description="Shown this once; only its SHA-256 is kept.")


class TokenList(Shape):
    tokens: list[TokenInfo]


class LoggedEvent(Shape):
    position: int = Field(description="The event's place in the log.")
    aggregate_id: Id
    type: str
    actor: str | None
    actor_name: str | None = Field(description="The name of the token an agent acted with.")
    at: Timestamp | None
    data: dict[str, Any]


class Timeline(Shape):
    events: list[LoggedEvent]


class EventsQuery(Query):
    after: Annotated[int, Field(ge=0, description="The position to read after."), WHOLE_NUMBER] = 0
    limit: Annotated[int, Field(ge=1, le=1000), WHOLE_NUMBER] = 100


class EventPage(Shape):
    events: list[LoggedEvent]
    next_after: int


class Alive(Shape):
    status: Literal["alive"]


class SetAsideEvent(Shape):
    view: str
    position: int
    event_type: str
    error: str
    set_aside_at: str


class Readiness(Shape):
    status: Literal["ready", "lagging", "stalled", "events set aside"]
    lag: dict[str, int] = Field(
        description="Events each view (and the automation worker) is behind the log."
    )
    stalled_seconds: dict[str, float] = Field(
        description="Per background loop that stopped finishing rounds: for how long."
    )
    set_aside: list[SetAsideEvent] = Field(
        description="Events a view could not apply and set aside: a person must look."
    )


class Unreachable(Shape):
    status: Literal["unreachable"]


class NotReady(RootModel[Readiness | Unreachable | Error]):
    """Why the service is not ready: per view and loop, or the store is away."""


class WebhookAccepted(Shape):
    ok: bool
    outcome: Outcome
