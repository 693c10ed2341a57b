"""Prometheus metrics, shared across gunicorn workers when a multiprocess folder is set."""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

WEBHOOKS = Counter(
    "zalodesk_webhooks_total", "Webhook deliveries by event name and outcome", ["event", "outcome"]
)
WEBHOOK_ACK_SECONDS = Histogram(
    "zalodesk_webhook_ack_seconds",
    "Time from a webhook's arrival to our answer",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
)
PROJECTION_LAG = Gauge(
    "zalodesk_projection_lag_events",
    "Events in the log that a view has not applied yet",
    ["view"],
    multiprocess_mode="livemax",
)


def render(lag: dict[str, int]) -> bytes:
    for view, behind in lag.items():
        PROJECTION_LAG.labels(view=view).set(behind)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
