"""Operations: liveness, readiness, metrics."""

from __future__ import annotations

from collections.abc import Callable

import falcon
from attrs import frozen

from adapters import metrics
from adapters.read_models.set_aside import SetAside
from api.contract import Answer, Operation
from api.errors import UNAVAILABLE
from api.schemas.operations import Alive, NotReady, Readiness

Lag = Callable[[], dict[str, int]]
Stalled = Callable[[], dict[str, float]]
StillSetAside = Callable[[], list[SetAside]]

READY_LAG_EVENTS = 1000


@frozen
class Health:
    @Operation("Process alive", {200: Answer("Alive", Alive)}, uses_store=False)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "alive"}


@frozen
class Ready:
    """Ready when the store answers, every view is within a bound of the log, every
    background loop has finished a round in the last few seconds, and no view has set
    an event aside (a person must look at those)."""

    lag: Lag
    stalled: Stalled
    set_aside: StillSetAside

    @Operation(
        "Store reachable, views caught up, background loops running",
        {
            200: Answer("Ready", Readiness),
            503: Answer("Not ready: why, per view and loop (or the store is away)", NotReady),
        },
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            lag, stalled, set_aside = self.lag(), self.stalled(), self.set_aside()
        except UNAVAILABLE:
            resp.media = {"status": "unreachable"}
            resp.status = falcon.HTTP_503
            return
        behind = {view: n for view, n in lag.items() if n > READY_LAG_EVENTS}
        resp.media = {
            "status": _status(bool(stalled), bool(behind), bool(set_aside)),
            "lag": lag,
            "stalled_seconds": stalled,
            "set_aside": [event.as_json() for event in set_aside],
        }
        if stalled or behind or set_aside:
            resp.status = falcon.HTTP_503


def _status(stalled: bool, behind: bool, set_aside: bool) -> str:
    if stalled:
        return "stalled"
    if behind:
        return "lagging"
    return "events set aside" if set_aside else "ready"


@frozen
class Metrics:
    figures: Callable[[], metrics.FromDatabase]

    @Operation(
        "Prometheus metrics",
        {
            200: Answer(
                "Prometheus text exposition format",
                media_type="text/plain",
                schema={"type": "string"},
            )
        },
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8"
        resp.data = metrics.render(self.figures())
