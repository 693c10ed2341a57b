"""The per-app limit, on a clock the test moves: calls count while under way and after."""

from __future__ import annotations

import pytest

from adapters.zalo.rate_limit import SlidingWindowLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_window_holds_and_opens_again() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(per_window=3, window_seconds=60, now=clock, sleep=clock.sleep)
    for _ in range(3):
        with limiter.slot("app"):
            clock.now += 1
    with limiter.slot("app"):
        started = clock.now
    assert started >= 61  # the fourth call waited until the first left the window
    with limiter.slot("other-app"):
        assert clock.now == started  # another app has its own window


class MustWait(Exception):
    pass


def refuse_to_wait(seconds: float) -> None:
    raise MustWait


def test_a_call_still_under_way_keeps_its_place_in_the_window() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(per_window=1, window_seconds=10, now=clock, sleep=refuse_to_wait)
    with limiter.slot("app"):
        clock.now += 30  # longer than the window, and still waiting for Zalo's answer
        with pytest.raises(MustWait), limiter.slot("app"):
            pass
    clock.now += 10  # ten seconds after the slow call ended, the window has room again
    with limiter.slot("app"):
        pass


def test_a_rate_limit_answer_pauses_the_app() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(now=clock, sleep=clock.sleep)
    limiter.pause("app", 5)
    with limiter.slot("app"):
        assert clock.now >= 5
