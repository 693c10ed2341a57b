"""What an admin does to an account: connect it, change it, remove it.

Credentials are written to the credential store before the event that records their
fingerprint, and every change of them holds the account's credential lock, the one
the token refresher holds: a refresh and an admin's new token pair happen one after
the other, each recorded, and a change of one token is merged with the current other.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID, uuid4

from attrs import frozen

from adapters.postgres.credentials import Credentials, CredentialStore, CredentialsUnreadable
from domain.account import EDITABLE_FIELDS, ZaloAccount
from domain.application import Zalodesk
from domain.commands import ConnectAccount, DeleteAccount, UpdateAccount
from domain.errors import Conflict, InvalidInput

log = logging.getLogger("zalodesk.accounts")


@frozen
class NewAccount:
    name: str
    app_id: str
    oa_id: str
    credentials: Credentials
    access_token_expires_in: int
    chat_inactivity_seconds: int
    allow_postpone: bool
    verification_code: str | None


@frozen
class CredentialChanges:
    """The secrets and tokens an admin sent anew; None for those left as they are."""

    app_secret: str | None = None
    oa_secret_key: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None

    @property
    def secrets(self) -> bool:
        return self.app_secret is not None or self.oa_secret_key is not None

    @property
    def tokens(self) -> bool:
        return self.access_token is not None or self.refresh_token is not None

    def applied_to(self, current: Credentials | None) -> Credentials:
        if current is None:
            given = [self.app_secret, self.oa_secret_key, self.access_token, self.refresh_token]
            if any(value is None for value in given):
                raise Conflict(
                    "this account has no usable credentials stored: send app_secret, "
                    "oa_secret_key, access_token and refresh_token together to reconnect it"
                )
            current = Credentials("", "", "", "")
        return Credentials(
            app_secret=_either(self.app_secret, current.app_secret),
            oa_secret_key=_either(self.oa_secret_key, current.oa_secret_key),
            access_token=_either(self.access_token, current.access_token),
            refresh_token=_either(self.refresh_token, current.refresh_token),
        )


def _either(given: str | None, current: str) -> str:
    return current if given is None else given


class AccountAdmin:
    def __init__(self, app: Zalodesk, credentials: CredentialStore) -> None:
        self.app = app
        self.credentials = credentials

    def connect(self, form: NewAccount, actor: str) -> ZaloAccount:
        account_id = uuid4()
        self.credentials.put(account_id, form.credentials)
        try:
            return self._connect(account_id, form, actor)
        except Conflict:
            self.credentials.remove(account_id)  # nothing was connected: keep no secret
            raise

    def _connect(self, account_id: UUID, form: NewAccount, actor: str) -> ZaloAccount:
        return self.app.connect_account(
            ConnectAccount(
                account_id=account_id,
                name=form.name,
                app_id=form.app_id,
                oa_id=form.oa_id,
                secrets_fingerprint=form.credentials.secrets_fingerprint,
                tokens_fingerprint=form.credentials.tokens_fingerprint,
                access_token_expires_in=form.access_token_expires_in,
                chat_inactivity_seconds=form.chat_inactivity_seconds,
                allow_postpone=form.allow_postpone,
                verification_code=form.verification_code,
                actor=actor,
            )
        )

    def change(
        self,
        account_id: UUID,
        actor: str,
        changes: dict[str, Any],
        credentials: CredentialChanges,
        access_token_expires_in: int | None = None,
    ) -> ZaloAccount:
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
        if not (credentials.secrets or credentials.tokens):
            return self.app.update_account(UpdateAccount(account_id, actor, changes))
        with self.credentials.exclusive(account_id):
            self.app.account(account_id)  # unknown or removed: nothing is written
            stored = self._stored(account_id)
            renewed = credentials.applied_to(stored)
            if renewed != stored:
                self.credentials.put(account_id, renewed)
            return self.app.update_account(
                UpdateAccount(
                    account_id,
                    actor,
                    changes,
                    secrets_fingerprint=renewed.secrets_fingerprint
                    if credentials.secrets
                    else None,
                    tokens_fingerprint=renewed.tokens_fingerprint if credentials.tokens else None,
                    access_token_expires_in=access_token_expires_in,
                )
            )

    def remove(self, account_id: UUID, actor: str) -> None:
        with self.credentials.exclusive(account_id):
            self.app.delete_account(DeleteAccount(account_id, actor))
            self.credentials.remove(account_id)

    def _stored(self, account_id: UUID) -> Credentials | None:
        try:
            return self.credentials.get(account_id)
        except CredentialsUnreadable as ex:
            log.error(str(ex), extra={"account_id": str(account_id)})
            return None
