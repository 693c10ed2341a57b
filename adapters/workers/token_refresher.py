"""Access tokens for sending, refreshed before they expire, one refresh at a time per account.

Refresh tokens are single use: two processes refreshing at once would burn the account.
So every refresh holds a PostgreSQL advisory lock for the account, re-reads the account
inside it (another process may have refreshed already), and records the new pair as an
event before anything uses it.
"""

from __future__ import annotations

import logging
from uuid import UUID

import psycopg

from adapters.zalo.client import ZaloClient, ZaloError, human_reason
from domain import actors
from domain.application import Zalodesk

log = logging.getLogger("zalodesk.tokens")


class ReconnectNeeded(Exception):
    """The account's tokens cannot be refreshed; an admin must reconnect it."""


class TokenRefresher:
    def __init__(self, app: Zalodesk, url: str, client: ZaloClient, margin_seconds: int = 300):
        self.app = app
        self.url = url
        self.client = client
        self.margin = margin_seconds

    def token(self, account_id: UUID) -> str:
        """A usable access token, refreshed first if it expires within the margin."""
        account = self.app.account(account_id)
        if account.needs_reconnect:
            raise ReconnectNeeded(account.needs_reconnect)
        if account.token_due(self.app.clock(), self.margin):
            return self.refresh(account_id, account.access_token)
        return account.access_token

    def refresh(self, account_id: UUID, stale_token: str) -> str:
        """Replace ``stale_token``, unless another process already has."""
        with psycopg.connect(self.url, autocommit=True) as lock:
            lock.execute(
                "SELECT pg_advisory_lock(hashtext(%s))", (f"zalodesk:refresh:{account_id}",)
            )
            account = self.app.account(account_id)
            if account.access_token != stale_token:
                return account.access_token
            if account.needs_reconnect:
                raise ReconnectNeeded(account.needs_reconnect)
            try:
                pair = self.client.refresh(
                    account.app_id, account.app_secret, account.refresh_token
                )
            except ZaloError as ex:
                reason = f"refreshing the access token failed: {human_reason(ex.code, ex.message)}"
                self.app.require_reconnect(account_id, reason, actors.OUTBOX)
                log.warning(
                    "token refresh failed", extra={"account_id": str(account_id), "code": ex.code}
                )
                raise ReconnectNeeded(reason) from None
            self.app.rotate_tokens(
                account_id, pair.access_token, pair.refresh_token, pair.expires_in, actors.OUTBOX
            )
            log.info("tokens rotated", extra={"account_id": str(account_id)})
            return pair.access_token
