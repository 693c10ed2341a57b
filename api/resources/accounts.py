"""Channel accounts (admin): connect, list, change and remove Official Accounts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import falcon

from adapters.account_admin import AccountAdmin, CredentialChanges, NewAccount
from adapters.account_cache import AccountCache
from adapters.postgres.credentials import Credentials
from adapters.postgres.webhook_activity import Activity, WebhookActivity
from adapters.read_models.inbox_queries import AccountQueries
from adapters.settings import Settings
from adapters.timefmt import iso
from api import bodies
from domain.account import (
    CHAT_INACTIVITY_SECONDS,
    DEFAULT_TOKEN_SECONDS,
    EDITABLE_FIELDS,
    TOKEN_SECONDS,
    ZaloAccount,
)
from domain.application import Zalodesk


class AccountPresenter:
    """The account as the API shows it: never a secret or a token."""

    def __init__(self, settings: Settings, activity: WebhookActivity) -> None:
        self.public_url = settings.public_url
        self.activity = activity

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


class Accounts:
    admin_only = True

    def __init__(
        self,
        admin: AccountAdmin,
        queries: AccountQueries,
        presenter: AccountPresenter,
        settings: Settings,
    ) -> None:
        self.admin = admin
        self.queries = queries
        self.presenter = presenter
        self.settings = settings

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"accounts": self.presenter.from_rows(self.queries.accounts())}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = bodies.json_object(req)
        form = NewAccount(
            name=bodies.text(body, "name"),
            app_id=bodies.text(body, "app_id"),
            oa_id=bodies.text(body, "oa_id"),
            credentials=Credentials(
                app_secret=bodies.text(body, "app_secret"),
                oa_secret_key=bodies.text(body, "oa_secret_key"),
                access_token=bodies.text(body, "access_token"),
                refresh_token=bodies.text(body, "refresh_token"),
            ),
            access_token_expires_in=bodies.integer(
                body, "access_token_expires_in", DEFAULT_TOKEN_SECONDS, TOKEN_SECONDS
            ),
            chat_inactivity_seconds=bodies.integer(
                body,
                "chat_inactivity_seconds",
                self.settings.chat_inactivity_seconds,
                CHAT_INACTIVITY_SECONDS,
            ),
            allow_postpone=bodies.boolean(body, "allow_postpone", True),
            verification_code=bodies.text(body, "verification_code", required=False) or None,
        )
        account = self.admin.connect(form, actor=req.context.principal.actor)
        resp.status = falcon.HTTP_201
        resp.location = f"/api/accounts/{account.id}"
        resp.media = self.presenter.from_aggregate(account)


class Account:
    admin_only = True

    def __init__(
        self,
        app: Zalodesk,
        admin: AccountAdmin,
        presenter: AccountPresenter,
        signing_keys: AccountCache,
    ) -> None:
        self.app = app
        self.admin = admin
        self.presenter = presenter
        self.signing_keys = signing_keys

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: UUID) -> None:
        resp.media = self.presenter.from_aggregate(self.app.account(account_id))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, account_id: UUID) -> None:
        body = bodies.json_object(req)
        account = self.admin.change(
            account_id,
            actor=req.context.principal.actor,
            changes=parse_changes(body),
            credentials=parse_credentials(body),
            access_token_expires_in=bodies.integer(
                body, "access_token_expires_in", DEFAULT_TOKEN_SECONDS, TOKEN_SECONDS
            ),
        )
        self.signing_keys.forget(account_id)
        resp.media = self.presenter.from_aggregate(account)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, account_id: UUID) -> None:
        self.admin.remove(account_id, actor=req.context.principal.actor)
        self.signing_keys.forget(account_id)
        resp.status = falcon.HTTP_204


CREDENTIAL_FIELDS = frozenset({"app_secret", "oa_secret_key", "access_token", "refresh_token"})
FORM_FIELDS = EDITABLE_FIELDS | CREDENTIAL_FIELDS | {"access_token_expires_in"}


def parse_changes(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - FORM_FIELDS)
    if unknown:
        raise bodies.invalid(", ".join(unknown), "cannot be changed")
    changes: dict[str, Any] = {}
    for field in sorted(set(body) & EDITABLE_FIELDS):
        if field == "chat_inactivity_seconds":
            changes[field] = bodies.integer(body, field, 0, CHAT_INACTIVITY_SECONDS)
        elif field == "allow_postpone":
            changes[field] = bodies.boolean(body, field, True)
        elif field == "verification_code":
            changes[field] = bodies.text(body, field, required=False) or None
        else:
            changes[field] = bodies.text(body, field)
    return changes


def parse_credentials(body: dict[str, Any]) -> CredentialChanges:
    """The secrets and tokens sent anew (each, when sent, must not be empty)."""
    return CredentialChanges(**{f: bodies.text(body, f) for f in set(body) & CREDENTIAL_FIELDS})
