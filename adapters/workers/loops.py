"""One way every background loop runs: round after round, a failure logged, never fatal."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from attrs import frozen

from adapters.workers.heartbeats import Heartbeats

log = logging.getLogger("zalodesk.worker")

FAILURE_PAUSE_SECONDS = 1.0


@frozen
class Loop:
    """``round`` does one round of work and says how much; ``again`` says whether more waits."""

    name: str
    round: Callable[[], int]
    interval: float
    again: Callable[[int], bool] = lambda done: False
    before: Callable[[], object] | None = None
    after: Callable[[], object] | None = None


def run_loop(loop: Loop, stop: threading.Event, heartbeats: Heartbeats) -> None:
    """Until ``stop``: ``before`` once (retried until it succeeds), the rounds, then ``after``."""
    while loop.before is not None and not stop.is_set():
        try:
            loop.before()
            break
        except Exception:
            log.exception("%s could not start; retrying", loop.name, extra={"worker": loop.name})
            stop.wait(FAILURE_PAUSE_SECONDS)
    while not stop.is_set():
        started = time.monotonic()
        try:
            done = loop.round()
            heartbeats.beat(loop.name)
        except Exception:
            log.exception("%s failed; retrying", loop.name, extra={"worker": loop.name})
            stop.wait(FAILURE_PAUSE_SECONDS)
            continue
        if done:
            log.debug(
                "%s round",
                loop.name,
                extra={"worker": loop.name, "done": done, "latency_ms": _ms_since(started)},
            )
        if not loop.again(done):
            stop.wait(max(0.0, loop.interval - (time.monotonic() - started)))
    if loop.after is not None:
        loop.after()


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 2)
