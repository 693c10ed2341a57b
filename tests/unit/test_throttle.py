"""Writes that only need to be roughly current happen at most once a second per key."""

from __future__ import annotations

from adapters.throttle import Throttle


def test_a_key_is_due_once_per_period_and_keys_do_not_share_it() -> None:
    now = [100.0]
    throttle = Throttle(every_seconds=1.0, now=lambda: now[0])
    assert [throttle.due("outbox"), throttle.due("outbox"), throttle.due("projector")] == [
        True,
        False,
        True,
    ]
    now[0] += 0.99
    assert throttle.due("outbox") is False
    now[0] += 0.01
    assert throttle.due("outbox") is True
