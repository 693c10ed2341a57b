"""Connecting Official Accounts, changing them, and rotating their tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.account import DEFAULT_TOKEN_SECONDS, ZaloAccount
from domain.commands import ConnectAccount, DeleteAccount, UpdateAccount
from domain.handlers.base import DeskBase


class AccountHandlers(DeskBase):
    def connect_account(self, cmd: ConnectAccount) -> ZaloAccount:
        now = self.clock()
        account = ZaloAccount(
            name=cmd.name,
            app_id=cmd.app_id,
            oa_id=cmd.oa_id,
            app_secret=cmd.app_secret,
            oa_secret_key=cmd.oa_secret_key,
            access_token=cmd.access_token,
            refresh_token=cmd.refresh_token,
            access_token_expires_at=now + timedelta(seconds=cmd.access_token_expires_in),
            chat_inactivity_seconds=cmd.chat_inactivity_seconds,
            allow_postpone=cmd.allow_postpone,
            verification_code=cmd.verification_code,
            actor=cmd.actor,
            at=now,
        )
        self.save(account)
        return account

    def update_account(self, cmd: UpdateAccount) -> ZaloAccount:
        def change() -> Sequence[Aggregate]:
            account = self.account(cmd.account_id)
            now = self.clock()
            account.update(cmd.changes, actor=cmd.actor, at=now)
            if cmd.access_token or cmd.refresh_token:
                account.rotate_tokens(
                    access_token=cmd.access_token or account.access_token,
                    refresh_token=cmd.refresh_token or account.refresh_token,
                    expires_in=cmd.access_token_expires_in or DEFAULT_TOKEN_SECONDS,
                    actor=cmd.actor,
                    at=now,
                )
            return [account]

        return self._retrying(change)[0]  # type: ignore[return-value]

    def delete_account(self, cmd: DeleteAccount) -> None:
        account = self.account(cmd.account_id)
        account.delete(actor=cmd.actor, at=self.clock())
        self.save(account)

    def rotate_tokens(
        self,
        account_id: UUID,
        access_token: str,
        refresh_token: str,
        expires_in: int,
        actor: str,
    ) -> ZaloAccount:
        """Record a new token pair before anyone uses it: the old refresh token is spent."""
        account = self.account(account_id)
        account.rotate_tokens(access_token, refresh_token, expires_in, actor=actor, at=self.clock())
        self.save(account)
        return account

    def require_reconnect(self, account_id: UUID, reason: str, actor: str) -> None:
        def change() -> Sequence[Aggregate]:
            account = self.account(account_id)
            account.require_reconnect(reason, actor=actor, at=self.clock())
            return [account]

        self._retrying(change)
