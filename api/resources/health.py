"""Operations: liveness, readiness, metrics."""

from __future__ import annotations

import falcon

from adapters import metrics
from adapters.workers import projector
from api.services import Services

READY_LAG_EVENTS = 1000


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "alive"}


class Ready:
    """Ready when the store answers and every view is within a bound of the log."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        lag = projector.lag(self.services.pool, self.services.app, self.services.views)
        behind = {view: n for view, n in lag.items() if n > READY_LAG_EVENTS}
        resp.media = {"status": "lagging" if behind else "ready", "lag": lag}
        if behind:
            resp.status = falcon.HTTP_503


class Metrics:
    def __init__(self, services: Services) -> None:
        self.services = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        lag = projector.lag(self.services.pool, self.services.app, self.services.views)
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8"
        resp.data = metrics.render(lag)
