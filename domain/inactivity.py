"""When a quiet chat ends by itself, and when the agent is warned."""

from __future__ import annotations

from datetime import datetime, timedelta

WARNING_SECONDS = 120
POSTPONE_SECONDS = 300


def warning_window(timeout_seconds: int) -> timedelta:
    """The last two minutes, or the last fifth of a shorter timeout."""
    return timedelta(seconds=min(WARNING_SECONDS, timeout_seconds / 5))


def auto_end_at(last_activity_at: datetime, timeout_seconds: int, extra_seconds: int) -> datetime:
    return last_activity_at + timedelta(seconds=timeout_seconds + extra_seconds)


def ending_soon(now: datetime, end_at: datetime, timeout_seconds: int) -> bool:
    return end_at - warning_window(timeout_seconds) <= now
