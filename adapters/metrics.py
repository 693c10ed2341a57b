"""Prometheus metrics: counters of what this process did, and figures read from the database
when scraped.

Counters are shared across the processes of one service through the multiprocess folder
(``adapters/metrics_folder.py``). prometheus_client chooses that mode when it is first
imported, so it is imported here on first use, never at import time: the process that
forks the others must not have imported it before the folder is chosen.

Every label value comes from a closed set: nothing a stranger sends can add a series.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from attrs import frozen

ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"})


@frozen
class FromDatabase:
    """What a scrape reads from the database, the same whichever process answers."""

    lag: Mapping[str, int]
    set_aside: Mapping[str, int]
    queued_replies: int


class _Counters:
    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.webhooks = Counter(
            "zalodesk_webhooks_total",
            "Webhook deliveries by event and outcome",
            ["event", "outcome"],
        )
        self.webhook_ack = Histogram(
            "zalodesk_webhook_ack_seconds",
            "Time from a webhook's arrival to our answer",
            buckets=ACK_BUCKETS,
        )
        self.requests = Counter(
            "zalodesk_http_requests_total",
            "Requests answered, by route template, method and status",
            ["route", "method", "status"],
        )
        self.request_seconds = Histogram(
            "zalodesk_http_request_seconds",
            "Time to answer a request, by route template",
            ["route"],
            buckets=ACK_BUCKETS,
        )
        self.sends = Counter(
            "zalodesk_outbox_sends_total",
            "Replies the outbox tried to send, by outcome",
            ["outcome"],
        )
        self.refreshes = Counter(
            "zalodesk_token_refreshes_total", "Access token refreshes, by outcome", ["outcome"]
        )
        self.profiles = Counter(
            "zalodesk_profile_lookups_total",
            "Customers' Zalo profile lookups, by outcome",
            ["outcome"],
        )


_made: list[_Counters] = []
_making = threading.Lock()


def _counters() -> _Counters:
    """Made once per process. Threads (the outbox's, the profile lookups') may ask first
    at the same moment: a second registration would fail with DuplicateTimeseries."""
    if not _made:
        with _making:
            if not _made:
                _made.append(_Counters())
    return _made[0]


def request(route: str | None, method: str, status: int, seconds: float) -> None:
    template = route or "unmatched"
    verb = method if method in METHODS else "other"
    _counters().requests.labels(route=template, method=verb, status=str(status)).inc()
    _counters().request_seconds.labels(route=template).observe(seconds)


def webhook(event: str, outcome: str, seconds: float) -> None:
    """``event`` must already be a known event name or "other"."""
    _counters().webhooks.labels(event=event, outcome=outcome).inc()
    _counters().webhook_ack.observe(seconds)


def reply_send(outcome: str) -> None:
    _counters().sends.labels(outcome=outcome).inc()


def token_refresh(outcome: str) -> None:
    _counters().refreshes.labels(outcome=outcome).inc()


def profile_lookup(outcome: str) -> None:
    _counters().profiles.labels(outcome=outcome).inc()


def render(figures: FromDatabase) -> bytes:
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess
    from prometheus_client.process_collector import ProcessCollector

    _counters()  # every series exists from the first scrape on
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    own = CollectorRegistry(auto_describe=False)
    own.register(_DatabaseFigures(figures))
    ProcessCollector(registry=own)  # the process that answered this scrape
    return generate_latest(registry) + generate_latest(own)


class _DatabaseFigures:
    def __init__(self, figures: FromDatabase) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        yield _per_view(
            GaugeMetricFamily,
            "zalodesk_projection_lag_events",
            "Events in the log that a view has not applied yet",
            self.figures.lag,
        )
        yield _per_view(
            CounterMetricFamily,
            "zalodesk_events_set_aside",
            "Events a view could not apply and set aside, ever",
            self.figures.set_aside,
        )
        yield GaugeMetricFamily(
            "zalodesk_outbox_queue_replies",
            "Replies queued and not yet tried by the outbox",
            value=self.figures.queued_replies,
        )


def _per_view(family: Any, name: str, help: str, figures: Mapping[str, int]) -> Any:
    """A metric family with a ``view`` label, a figure for each view."""
    metric = family(name, help, labels=["view"])
    for view, figure in figures.items():
        metric.add_metric([view], figure)
    return metric
