"""Zalo's per-app call limit (4,000 a minute), kept by the one process that runs the outbox."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

MAX_WAIT = 0.05  # look again this often while the oldest call is still under way


class SlidingWindowLimiter:
    def __init__(
        self,
        per_window: int = 4000,
        window_seconds: float = 60.0,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_window = per_window
        self.window = window_seconds
        self.now = now
        self.sleep = sleep
        self._calls: dict[str, deque[list[float]]] = defaultdict(deque)
        self._paused_until: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Wait until one more call for ``key`` fits in the window, and hold it for the call.

        A call counts as under way until it ends, and then from when it ended: Zalo sees it
        somewhere in between, so this keeps Zalo's own count within the limit.
        """
        while True:
            with self._lock:
                wait, entry = self._reserve(key)
            if entry is not None:
                break
            self.sleep(wait)
        try:
            yield
        finally:
            entry[0] = self.now()

    def pause(self, key: str, seconds: float) -> None:
        """Zalo said -32 (rate limit): no calls for ``key`` for a while."""
        with self._lock:
            self._paused_until[key] = max(self._paused_until.get(key, 0.0), self.now() + seconds)

    def _reserve(self, key: str) -> tuple[float, list[float] | None]:
        now = self.now()
        paused = self._paused_until.get(key, 0.0) - now
        if paused > 0:
            return paused, None
        calls = self._calls[key]
        while calls and calls[0][0] <= now - self.window:
            calls.popleft()
        if len(calls) < self.per_window:
            entry = [math.inf]  # under way
            calls.append(entry)
            return 0.0, entry
        return min(max(calls[0][0] + self.window - now, 0.001), MAX_WAIT), None
