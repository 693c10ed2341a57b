"""Access tokens for sending, refreshed before they expire, one refresh at a time per account.

Refresh tokens are single use: two processes refreshing at once would burn the account.
So every refresh holds the account's credential lock (an admin's new token pair waits
for it too), re-reads the stored pair inside it (another process may have refreshed, or
an admin pasted a new pair), and writes the pair Zalo issues to the credential store
before recording TokensRotated: a crash between the two keeps the new pair, and only
the event (the expiry the accounts list shows) waits for the next refresh.
"""

from __future__ import annotations

import logging
from uuid import UUID

from adapters import metrics
from adapters.postgres.credentials import Credentials, CredentialStore, CredentialsUnreadable
from adapters.zalo.client import ZaloClient, ZaloError, human_reason
from domain import actors
from domain.application import Zalodesk

log = logging.getLogger("zalodesk.tokens")

NO_CREDENTIALS = "no credentials are stored for this account (imported without its secrets?)"


class ReconnectNeeded(Exception):
    """The account's tokens cannot be refreshed; an admin must reconnect it."""


class TokenRefresher:
    def __init__(
        self,
        app: Zalodesk,
        credentials: CredentialStore,
        client: ZaloClient,
        margin_seconds: int = 300,
    ):
        self.app = app
        self.credentials = credentials
        self.client = client
        self.margin = margin_seconds

    def token(self, account_id: UUID) -> str:
        """A usable access token, refreshed first if it expires within the margin."""
        account = self.app.account(account_id)
        if account.needs_reconnect:
            raise ReconnectNeeded(account.needs_reconnect)
        stored = self._stored(account_id)
        if account.token_due(self.app.clock(), self.margin):
            return self.refresh(account_id, stored.access_token)
        return stored.access_token

    def refresh(self, account_id: UUID, stale_token: str) -> str:
        """Replace ``stale_token``, unless another process or an admin already has."""
        with self.credentials.exclusive(account_id):
            account = self.app.account(account_id)
            stored = self._stored(account_id)
            if stored.access_token != stale_token:
                return stored.access_token
            if account.needs_reconnect:
                raise ReconnectNeeded(account.needs_reconnect)
            try:
                pair = self.client.refresh(account.app_id, stored.app_secret, stored.refresh_token)
            except ZaloError as ex:
                reason = f"refreshing the access token failed: {human_reason(ex.code, ex.message)}"
                self._reconnect(account_id, reason)
                metrics.token_refresh("refused")
                log.warning(
                    "token refresh failed", extra={"account_id": str(account_id), "code": ex.code}
                )
                raise ReconnectNeeded(reason) from None
            rotated = stored.with_tokens(pair.access_token, pair.refresh_token)
            self.credentials.put(account_id, rotated)  # first: Zalo has spent the old pair
            self.app.rotate_tokens(
                account_id, rotated.tokens_fingerprint, pair.expires_in, actors.OUTBOX
            )
            metrics.token_refresh("rotated")
            log.info("tokens rotated", extra={"account_id": str(account_id)})
            return pair.access_token

    def _stored(self, account_id: UUID) -> Credentials:
        try:
            stored = self.credentials.get(account_id)
        except CredentialsUnreadable as ex:
            self._reconnect(account_id, str(ex))
            raise ReconnectNeeded(str(ex)) from None
        if stored is None:
            self._reconnect(account_id, NO_CREDENTIALS)
            raise ReconnectNeeded(NO_CREDENTIALS)
        return stored

    def _reconnect(self, account_id: UUID, reason: str) -> None:
        self.app.require_reconnect(account_id, reason, actors.OUTBOX)
