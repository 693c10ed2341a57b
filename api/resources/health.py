"""Operations: liveness, readiness, metrics."""

from __future__ import annotations

from collections.abc import Callable

import falcon

from adapters import metrics

Lag = Callable[[], dict[str, int]]

READY_LAG_EVENTS = 1000


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "alive"}


class Ready:
    """Ready when the store answers and every view is within a bound of the log."""

    def __init__(self, lag: Lag) -> None:
        self.lag = lag

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        lag = self.lag()
        behind = {view: n for view, n in lag.items() if n > READY_LAG_EVENTS}
        resp.media = {"status": "lagging" if behind else "ready", "lag": lag}
        if behind:
            resp.status = falcon.HTTP_503


class Metrics:
    def __init__(self, lag: Lag) -> None:
        self.lag = lag

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        lag = self.lag()
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8"
        resp.data = metrics.render(lag)
