"""The accounts directory: every connected Official Account, without its secrets."""

from __future__ import annotations

from typing import Any, ClassVar

from psycopg import Cursor

from adapters.read_models.views.base import RowsView, Updates, handles


class AccountsView(RowsView):
    name = "accounts"
    table = "accounts"
    version = 1
    key = "account_id"
    columns = """
        name text NOT NULL,
        app_id text NOT NULL,
        oa_id text NOT NULL,
        chat_inactivity_seconds integer NOT NULL,
        allow_postpone boolean NOT NULL,
        has_verification_code boolean NOT NULL,
        access_token_expires_at timestamptz,
        needs_reconnect boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    """

    updates: ClassVar[Updates] = {
        "ZaloAccount.Renamed": lambda e: {"name": e.name},
        "ZaloAccount.AppChanged": lambda e: {"app_id": e.app_id, "oa_id": e.oa_id},
        "ZaloAccount.ChatSettingsChanged": lambda e: {
            "chat_inactivity_seconds": e.chat_inactivity_seconds,
            "allow_postpone": e.allow_postpone,
        },
        "ZaloAccount.VerificationCodeSet": lambda e: {
            "has_verification_code": bool(e.verification_code)
        },
        "ZaloAccount.SigningSecretsReplaced": lambda e: {},
        "ZaloAccount.TokensRotated": lambda e: {
            "access_token_expires_at": e.access_token_expires_at,
            "needs_reconnect": False,
        },
        "ZaloAccount.ReconnectNeeded": lambda e: {"needs_reconnect": True},
    }
    deleted_by = ("ZaloAccount.Deleted",)

    @handles("ZaloAccount.Connected")
    def connected(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._insert(
            cur,
            e,
            name=e.name,
            app_id=e.app_id,
            oa_id=e.oa_id,
            chat_inactivity_seconds=e.chat_inactivity_seconds,
            allow_postpone=e.allow_postpone,
            has_verification_code=bool(e.verification_code),
            access_token_expires_at=e.access_token_expires_at,
            needs_reconnect=False,
            created_at=e.at,
            updated_at=e.at,
        )
