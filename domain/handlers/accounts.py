"""Connecting Official Accounts, changing them, and recording their token rotations."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from domain.account import (
    CHAT_INACTIVITY_SECONDS,
    DEFAULT_TOKEN_SECONDS,
    TOKEN_SECONDS,
    ZaloAccount,
    within,
)
from domain.commands import ConnectAccount, DeleteAccount, UpdateAccount
from domain.handlers.base import Decision, DeskBase
from domain.oa_claim import OfficialAccountClaim


class AccountHandlers(DeskBase):
    def connect_account(self, cmd: ConnectAccount) -> ZaloAccount:
        within("access_token_expires_in", cmd.access_token_expires_in, TOKEN_SECONDS)
        within("chat_inactivity_seconds", cmd.chat_inactivity_seconds, CHAT_INACTIVITY_SECONDS)

        def decide() -> Decision[ZaloAccount]:
            now = self.clock()
            account = ZaloAccount(
                id=cmd.account_id,
                name=cmd.name,
                app_id=cmd.app_id,
                oa_id=cmd.oa_id,
                secrets_fingerprint=cmd.secrets_fingerprint,
                tokens_fingerprint=cmd.tokens_fingerprint,
                access_token_expires_at=now + timedelta(seconds=cmd.access_token_expires_in),
                chat_inactivity_seconds=cmd.chat_inactivity_seconds,
                allow_postpone=cmd.allow_postpone,
                verification_code=cmd.verification_code,
                actor=cmd.actor,
                at=now,
            )
            claim = self._claim(cmd.oa_id, cmd.account_id, cmd.actor, now)
            return account, [account, claim]

        return self._change(decide)

    def update_account(self, cmd: UpdateAccount) -> ZaloAccount:
        def decide() -> Decision[ZaloAccount]:
            account = self.account(cmd.account_id)
            now = self.clock()
            claims: list[OfficialAccountClaim] = []
            oa_id = cmd.changes.get("oa_id", account.oa_id)
            if oa_id != account.oa_id:
                claims.append(self._claim(oa_id, account.id, cmd.actor, now))
                claims += self._release(account.oa_id, account.id, cmd.actor, now)
            account.update(cmd.changes, actor=cmd.actor, at=now)
            if cmd.secrets_fingerprint is not None:
                account.replace_signing_secrets(cmd.secrets_fingerprint, actor=cmd.actor, at=now)
            if cmd.tokens_fingerprint is not None:
                account.rotate_tokens(
                    cmd.tokens_fingerprint,
                    expires_in=cmd.access_token_expires_in or DEFAULT_TOKEN_SECONDS,
                    actor=cmd.actor,
                    at=now,
                )
            return account, [account, *claims]

        return self._change(decide)

    def delete_account(self, cmd: DeleteAccount) -> None:
        def decide() -> Decision[None]:
            account = self.account(cmd.account_id)
            now = self.clock()
            account.delete(actor=cmd.actor, at=now)
            return None, [account, *self._release(account.oa_id, account.id, cmd.actor, now)]

        self._change(decide)

    def rotate_tokens(
        self, account_id: UUID, tokens_fingerprint: str, expires_in: int, actor: str
    ) -> ZaloAccount:
        """Record that a new token pair, already stored, replaced the old one."""
        return self._update(
            lambda: self.account(account_id),
            lambda account, now: account.rotate_tokens(tokens_fingerprint, expires_in, actor, now),
        )

    def require_reconnect(self, account_id: UUID, reason: str, actor: str) -> None:
        self._update(
            lambda: self.account(account_id),
            lambda account, now: account.require_reconnect(reason, actor, now),
        )

    def _claim(
        self, oa_id: str, account_id: UUID, actor: str, now: datetime
    ) -> OfficialAccountClaim:
        """The OA claimed for ``account_id``: a Conflict while another account holds it."""
        claim = self._find(OfficialAccountClaim, OfficialAccountClaim.create_id(oa_id))
        if claim is None:
            return OfficialAccountClaim(oa_id=oa_id, account_id=account_id, actor=actor, at=now)
        holder = claim.account_id
        held = holder is not None and self._live(holder)
        claim.claim(account_id, held=held, actor=actor, at=now)
        return claim

    def _release(
        self, oa_id: str, account_id: UUID, actor: str, now: datetime
    ) -> list[OfficialAccountClaim]:
        claim = self._find(OfficialAccountClaim, OfficialAccountClaim.create_id(oa_id))
        if claim is None or claim.account_id != account_id:
            return []
        claim.release(account_id, actor=actor, at=now)
        return [claim]

    def _live(self, account_id: UUID) -> bool:
        account = self._find(ZaloAccount, account_id)
        return account is not None and not account.deleted
