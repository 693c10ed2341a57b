"""What the workers that call Zalo from their own threads share (the outbox, the profile
lookups): the parts they call Zalo with, and one thread per key (a chat, a contact)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from attrs import frozen
from psycopg_pool import ConnectionPool

from adapters.workers.in_flight import InFlight
from adapters.workers.token_refresher import TokenRefresher
from adapters.zalo.client import ZaloClient
from adapters.zalo.rate_limit import SlidingWindowLimiter
from domain.application import Zalodesk

# Zalo's answers for an access token that expired or was revoked: refresh it, try again.
TOKEN_CODES = frozenset({-216, -220})
RATE_LIMITED = -32


@frozen
class ZaloParts:
    """What a worker calls Zalo with; one refresher and one limiter for every call to
    Zalo, since its rate limit is per app."""

    app: Zalodesk
    pool: ConnectionPool[Any]
    client: ZaloClient
    refresher: TokenRefresher
    limiter: SlidingWindowLimiter


class ZaloWorker:
    def __init__(self, parts: ZaloParts, concurrency: int, thread_name: str) -> None:
        self.parts = parts
        self.app, self.pool, self.client = parts.app, parts.pool, parts.client
        self.refresher, self.limiter = parts.refresher, parts.limiter
        self.executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=thread_name)
        self._busy = InFlight()

    def _start(self, key: Hashable, work: Callable[..., None], *args: Any) -> bool:
        """``work(key, *args)`` on a thread, unless a thread has ``key`` already; the
        work releases the key when it ends."""
        if not self._busy.claim(key):
            return False
        self.executor.submit(work, key, *args)
        return True

    def wait_until_idle(self) -> None:
        """Until no key is taken: every piece of work under way has its outcome recorded."""
        self._busy.wait_until_idle()

    def close(self) -> None:
        self.executor.shutdown(wait=True)
