"""Prometheus metrics, shared across gunicorn workers when a multiprocess folder is set."""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

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


class EventsSetAside(Collector):
    """Read from the database when scraped: every process shows the same count, whichever
    process set the events aside, and a restart does not reset it."""

    def __init__(self, totals: dict[str, int]) -> None:
        self.totals = totals

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "zalodesk_events_set_aside",
            "Events a view could not apply and set aside, ever",
            labels=["view"],
        )
        for view, total in self.totals.items():
            family.add_metric([view], total)
        yield family


def render(lag: dict[str, int], set_aside: dict[str, int]) -> bytes:
    for view, behind in lag.items():
        PROJECTION_LAG.labels(view=view).set(behind)
    from_database = CollectorRegistry(auto_describe=False)
    from_database.register(EventsSetAside(set_aside))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry) + generate_latest(from_database)
    return generate_latest() + generate_latest(from_database)
