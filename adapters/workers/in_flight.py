"""What a worker's threads are busy with: one thread per key (a chat, a contact) at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable


class InFlight:
    def __init__(self) -> None:
        self._keys: set[Hashable] = set()
        self._lock = threading.Lock()

    def claim(self, key: Hashable) -> bool:
        """True if ``key`` was free and is now taken by the caller."""
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            return True

    def release(self, key: Hashable) -> None:
        with self._lock:
            self._keys.discard(key)

    def wait_until_idle(self) -> None:
        """Until no key is taken: every piece of work under way has finished."""
        while True:
            with self._lock:
                if not self._keys:
                    return
            time.sleep(0.01)
