"""At most one go per key in a given time: for writes that only need to be roughly current."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class Throttle:
    def __init__(self, every_seconds: float, now: Callable[[], float] = time.monotonic) -> None:
        self.every = every_seconds
        self.now = now
        self._last: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def due(self, key: Hashable) -> bool:
        """True at most once per ``every_seconds`` for each key; then it counts as done."""
        with self._lock:
            now = self.now()
            if now - self._last.get(key, float("-inf")) < self.every:
                return False
            self._last[key] = now
            return True
