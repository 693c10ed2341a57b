"""The signing key each webhook needs, kept a few seconds per process.

Every webhook needs its account's signing key; reading the account from the log and its
credentials from their table for each one costs queries. A key replaced or an account
removed in another process takes effect within the time to live (in this process, at
once: ``forget``): meanwhile Zalo's deliveries are answered as before, or retried by Zalo.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from uuid import UUID

from attrs import define, field

from adapters.postgres.credentials import CredentialStore, CredentialsUnreadable
from domain.application import Zalodesk

log = logging.getLogger("zalodesk.webhook")


@define(eq=False)
class AccountCache:
    app: Zalodesk
    credentials: CredentialStore
    ttl_seconds: float = 5.0
    now: Callable[[], float] = time.monotonic
    _entries: dict[UUID, tuple[float, str | None]] = field(factory=dict, init=False)

    def signing_key(self, account_id: UUID) -> str | None:
        """The key Zalo signs this account's webhooks with, None if none is stored, or
        NotFound as ``Zalodesk.account`` raises it."""
        entry = self._entries.get(account_id)
        if entry is not None and entry[0] > self.now():
            return entry[1]
        self.app.account(account_id)
        key = self._stored_key(account_id)
        self._entries[account_id] = (self.now() + self.ttl_seconds, key)
        return key

    def forget(self, account_id: UUID) -> None:
        self._entries.pop(account_id, None)

    def _stored_key(self, account_id: UUID) -> str | None:
        try:
            stored = self.credentials.get(account_id)
        except CredentialsUnreadable as ex:
            log.error(str(ex), extra={"account_id": str(account_id)})
            return None
        if stored is None:
            log.warning("no credentials stored", extra={"account_id": str(account_id)})
            return None
        return stored.signing_key
