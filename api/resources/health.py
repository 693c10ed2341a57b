"""Operations: liveness, readiness, metrics."""

from __future__ import annotations

from collections.abc import Callable

import falcon

from adapters import metrics
from api.errors import UNAVAILABLE

Lag = Callable[[], dict[str, int]]
Stalled = Callable[[], dict[str, float]]

READY_LAG_EVENTS = 1000


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "alive"}


class Ready:
    """Ready when the store answers, every view is within a bound of the log, and every
    background loop has finished a round in the last few seconds."""

    def __init__(self, lag: Lag, stalled: Stalled) -> None:
        self.lag = lag
        self.stalled = stalled

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            lag, stalled = self.lag(), self.stalled()
        except UNAVAILABLE:
            resp.media = {"status": "unreachable"}
            resp.status = falcon.HTTP_503
            return
        behind = {view: n for view, n in lag.items() if n > READY_LAG_EVENTS}
        status = "stalled" if stalled else "lagging" if behind else "ready"
        resp.media = {"status": status, "lag": lag, "stalled_seconds": stalled}
        if stalled or behind:
            resp.status = falcon.HTTP_503


class Metrics:
    def __init__(self, lag: Lag) -> None:
        self.lag = lag

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        lag = self.lag()
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8"
        resp.data = metrics.render(lag)
