"""An aggregate as it was: at a version, or at a time (the last version whose event came by then)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from adapters.log_tools.event_log import event_time, to_json
from adapters.timefmt import iso
from domain.errors import InvalidInput, NotFound


def aggregate_as_of(
    app: Application[Any],
    aggregate_id: UUID,
    version: int | None = None,
    at: datetime | None = None,
) -> Aggregate:
    """The aggregate at ``version``, or as it was at time ``at``, or as it is."""
    if at is not None:
        version = version_at(app, aggregate_id, at)
    if version is not None and version < 1:
        raise InvalidInput("versions start at 1")
    try:
        aggregate: Aggregate = app.repository.get(aggregate_id, version=version)
    except AggregateNotFoundError:
        raise NotFound("aggregate", aggregate_id) from None
    if version is not None and aggregate.version != version:
        raise InvalidInput(
            f"{aggregate_id} has no version {version}; its last is {aggregate.version}"
        )
    return aggregate


def version_at(app: Application[Any], aggregate_id: UUID, at: datetime) -> int:
    """The version of the last event that happened at or before ``at`` (by its ``at`` field)."""
    stored = app.recorder.select_events(aggregate_id)
    if not stored:
        raise NotFound("aggregate", aggregate_id)
    versions = [
        s.originator_version for s in stored if event_time(app.mapper.to_domain_event(s)) <= at
    ]
    if not versions:
        first = iso(event_time(app.mapper.to_domain_event(stored[0])))
        raise InvalidInput(f"{aggregate_id} did not exist yet at {iso(at)} (it began {first})")
    return versions[-1]


def describe_state(aggregate: Aggregate) -> dict[str, Any]:
    """JSON-safe: the aggregate's own attributes and its identity."""
    attributes = {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}
    return {
        "id": str(aggregate.id),
        "type": type(aggregate).__qualname__,
        "version": aggregate.version,
        "created_on": iso(aggregate.created_on),
        "modified_on": iso(aggregate.modified_on),
        "state": to_json(attributes),
    }
