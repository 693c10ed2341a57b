"""Every background loop runs the same way: a failing round is logged and retried, never fatal,
and only a round that succeeded counts as a sign of life."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from adapters.workers.heartbeats import Heartbeats
from adapters.workers.loops import Loop, run_loop


class RecordedHeartbeats(Heartbeats):
    def __init__(self) -> None:
        self.beats: list[str] = []

    def beat(self, worker: str) -> None:
        self.beats.append(worker)


class Script:
    """Rounds that fail or succeed in a given order, then stop the loop."""

    def __init__(self, outcomes: list[Any], stop: threading.Event) -> None:
        self.outcomes = outcomes
        self.stop = stop

    def round(self) -> int:
        outcome = self.outcomes.pop(0)
        if not self.outcomes:
            self.stop.set()
        if isinstance(outcome, Exception):
            raise outcome
        return int(outcome)


def test_a_failing_round_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("adapters.workers.loops.FAILURE_PAUSE_SECONDS", 0.0)
    stop = threading.Event()
    script = Script([RuntimeError("database went away"), 3, RuntimeError("again"), 0], stop)
    heartbeats = RecordedHeartbeats()
    caplog.set_level(logging.ERROR, "zalodesk.worker")

    run_loop(Loop("projector", script.round, 0.0), stop, heartbeats)

    assert heartbeats.beats == ["projector", "projector"]  # the two rounds that succeeded
    failures = [r for r in caplog.records if r.getMessage() == "projector failed; retrying"]
    assert len(failures) == 2
    assert "database went away" in (caplog.text)


def test_the_start_is_retried_until_it_succeeds_and_the_end_runs_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("adapters.workers.loops.FAILURE_PAUSE_SECONDS", 0.0)
    stop = threading.Event()
    starts: list[str] = []
    ends: list[str] = []

    def before() -> None:
        starts.append("try")
        if len(starts) < 3:
            raise OSError("not yet")

    script = Script([1], stop)
    loop = Loop("outbox", script.round, 0.0, before=before, after=lambda: ends.append("end"))
    run_loop(loop, stop, RecordedHeartbeats())
    assert starts == ["try", "try", "try"]
    assert ends == ["end"]
