"""Zalo's per-app call limit (4,000 a minute), kept by the one process that runs the outbox."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable


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
        self._calls: dict[str, deque[float]] = defaultdict(deque)
        self._paused_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> None:
        """Wait until one more call for ``key`` fits in the window, then count it."""
        while (wait := self._try(key)) > 0:
            self.sleep(wait)

    def pause(self, key: str, seconds: float) -> None:
        """Zalo said -32 (rate limit): no calls for ``key`` for a while."""
        with self._lock:
            self._paused_until[key] = max(self._paused_until.get(key, 0.0), self.now() + seconds)

    def _try(self, key: str) -> float:
        with self._lock:
            now = self.now()
            paused = self._paused_until.get(key, 0.0) - now
            if paused > 0:
                return paused
            calls = self._calls[key]
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            if len(calls) < self.per_window:
                calls.append(now)
                return 0.0
            return calls[0] + self.window - now
