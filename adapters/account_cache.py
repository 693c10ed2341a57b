"""Accounts as the webhook needs them, kept a few seconds per process.

Every webhook needs its account's signing key; reading the account from the log for
each one costs a query. A changed key or a deleted account takes effect within the
time to live: meanwhile Zalo's deliveries are answered as before, or retried by Zalo.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

from domain.account import ZaloAccount
from domain.application import Zalodesk


class AccountCache:
    def __init__(
        self, app: Zalodesk, ttl_seconds: float = 5.0, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.ttl = ttl_seconds
        self.now = now
        self._entries: dict[UUID, tuple[float, ZaloAccount]] = {}

    def get(self, account_id: UUID) -> ZaloAccount:
        """The account, or NotFound as ``Zalodesk.account`` raises it."""
        entry = self._entries.get(account_id)
        if entry is not None and entry[0] > self.now():
            return entry[1]
        account = self.app.account(account_id)
        self._entries[account_id] = (self.now() + self.ttl, account)
        return account
