"""One JSON log line and the metrics for every request."""

from __future__ import annotations

import logging
import time
from typing import Any

import falcon

from adapters import metrics
from adapters.zalo.translate import event_label

log = logging.getLogger("zalodesk.http")


class RequestLog:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        started: float = req.context.get("started") or time.perf_counter()
        seconds = time.perf_counter() - started
        event = req.context.get("event_name")
        fields: dict[str, Any] = {
            "method": req.method,
            "route": req.uri_template,
            "status": resp.status_code,
            "latency_ms": round(seconds * 1000, 2),
        }
        if event is not None:
            outcome = req.context.get("outcome") or f"http_{resp.status_code}"
            fields.update(
                event_name=event[:64], account_id=req.context.get("account_id"), outcome=outcome
            )
            metrics.webhook(event_label(event), outcome, seconds)
        metrics.request(req.uri_template, req.method, resp.status_code, seconds)
        log.info("request", extra=fields)
