"""Channel accounts (admin): connect, list, change and remove Official Accounts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import falcon
from attrs import frozen
from pydantic import MISSING

from adapters.account_admin import AccountAdmin, CredentialChanges, NewAccount
from adapters.account_cache import AccountCache
from adapters.postgres.credentials import Credentials
from adapters.postgres.webhook_activity import Activity, WebhookActivity
from adapters.read_models.inbox_queries import AccountQueries
from adapters.settings import Settings
from adapters.timefmt import iso
from api.contract import Answer, Operation, refusal
from api.resources.reading import given
from api.schemas.accounts import AccountChanges, AccountDetail, AccountList
from api.schemas.accounts import NewAccount as NewAccountForm
from domain.account import EDITABLE_FIELDS, ZaloAccount
from domain.application import Zalodesk

ALREADY_CONNECTED = refusal("This oa_id is connected already, as another account")


@frozen
class AccountPresenter:
    """The account as the API shows it: never a secret or a token."""

    public_url: str
    activity: WebhookActivity

    def webhook_url(self, account_id: object) -> str:
        return f"{self.public_url}/webhooks/zalo/{account_id}"

    def from_aggregate(self, account: ZaloAccount) -> dict[str, Any]:
        """As the list shows it, and why the account needs reconnecting, if it does."""
        row = {
            "account_id": account.id,
            "name": account.name,
            "app_id": account.app_id,
            "oa_id": account.oa_id,
            "chat_inactivity_seconds": account.chat_inactivity_seconds,
            "allow_postpone": account.allow_postpone,
            "has_verification_code": bool(account.verification_code),
            "access_token_expires_at": account.access_token_expires_at,
            "needs_reconnect": account.needs_reconnect is not None,
            "created_at": account.created_on,
        }
        return {**self.from_rows([row])[0], "reconnect_reason": account.needs_reconnect}

    def from_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """With when each account's webhook last delivered, and last failed its signature."""
        activity = self.activity.of([row["account_id"] for row in rows])
        return [self._shown(row, activity.get(row["account_id"], Activity())) for row in rows]

    def _shown(self, row: dict[str, Any], activity: Activity) -> dict[str, Any]:
        return {
            "id": str(row["account_id"]),
            "name": row["name"],
            "app_id": row["app_id"],
            "oa_id": row["oa_id"],
            "webhook_url": self.webhook_url(row["account_id"]),
            "chat_inactivity_seconds": row["chat_inactivity_seconds"],
            "allow_postpone": row["allow_postpone"],
            "has_verification_code": row["has_verification_code"],
            "access_token_expires_at": iso(row["access_token_expires_at"]),
            "needs_reconnect": row["needs_reconnect"],
            "created_at": iso(row["created_at"]),
            "last_webhook_at": iso(activity.last_webhook_at),
            "last_signature_failure_at": iso(activity.last_signature_failure_at),
            "last_signature_failure": activity.last_signature_failure,
        }


@frozen
class Accounts:
    admin: AccountAdmin
    queries: AccountQueries
    presenter: AccountPresenter
    settings: Settings

    @Operation("List accounts", {200: Answer("The accounts", AccountList)}, admin=True)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"accounts": self.presenter.from_rows(self.queries.accounts())}

    @Operation(
        "Connect an Official Account",
        {201: Answer("Connected", AccountDetail), 409: ALREADY_CONNECTED},
        admin=True,
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, form: NewAccountForm) -> None:
        inactivity = form.chat_inactivity_seconds
        new = NewAccount(
            name=form.name,
            app_id=form.app_id,
            oa_id=form.oa_id,
            credentials=Credentials(
                app_secret=form.app_secret.strip(),
                oa_secret_key=form.oa_secret_key.strip(),
                access_token=form.access_token.strip(),
                refresh_token=form.refresh_token.strip(),
            ),
            access_token_expires_in=form.access_token_expires_in,
            chat_inactivity_seconds=self.settings.chat_inactivity_seconds
            if inactivity is MISSING
            else inactivity,
            allow_postpone=form.allow_postpone,
            verification_code=form.verification_code,
        )
        account = self.admin.connect(new, actor=req.context.principal.actor)
        resp.status = falcon.HTTP_201
        resp.location = f"/api/accounts/{account.id}"
        resp.media = self.presenter.from_aggregate(account)


@frozen
class Account:
    app: Zalodesk
    admin: AccountAdmin
    presenter: AccountPresenter
    signing_keys: AccountCache

    @Operation("One account", {200: Answer("The account", AccountDetail)}, admin=True)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: UUID) -> None:
        resp.media = self.presenter.from_aggregate(self.app.account(account_id))

    @Operation(
        "Change an account",
        {
            200: Answer("Changed", AccountDetail),
            409: refusal(
                "The oa_id is connected as another account, or the account has no "
                "usable credentials and needs all four secrets and tokens together"
            ),
        },
        admin=True,
    )
    def on_patch(
        self, req: falcon.Request, resp: falcon.Response, account_id: UUID, form: AccountChanges
    ) -> None:
        sent = form.model_dump(exclude_unset=True)
        expires_in = form.access_token_expires_in
        account = self.admin.change(
            account_id,
            actor=req.context.principal.actor,
            changes={k: v for k, v in sent.items() if k in EDITABLE_FIELDS},
            credentials=CredentialChanges(
                **{k: v.strip() for k, v in sent.items() if k in CREDENTIAL_FIELDS}
            ),
            access_token_expires_in=given(expires_in),
        )
        self.signing_keys.forget(account_id)
        resp.media = self.presenter.from_aggregate(account)

    @Operation("Remove an account", {204: Answer("Removed")}, admin=True)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, account_id: UUID) -> None:
        self.admin.remove(account_id, actor=req.context.principal.actor)
        self.signing_keys.forget(account_id)
        resp.status = falcon.HTTP_204


CREDENTIAL_FIELDS = frozenset({"app_secret", "oa_secret_key", "access_token", "refresh_token"})
