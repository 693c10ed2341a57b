"""The accounts directory: every connected Official Account, without its secrets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Cursor

from adapters.read_models.views.base import View, handles

PUBLIC_FIELDS = ("name", "app_id", "oa_id", "chat_inactivity_seconds", "allow_postpone")


class AccountsView(View):
    name = "accounts"
    tables = ("accounts",)
    version = 1

    def ddl(self) -> Sequence[str]:
        return [
            f"""CREATE TABLE IF NOT EXISTS {self.t("accounts")} (
                account_id uuid PRIMARY KEY,
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
            )"""
        ]

    @handles("ZaloAccount.Connected")
    def connected(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("accounts")}
                (account_id, name, app_id, oa_id, chat_inactivity_seconds, allow_postpone,
                 has_verification_code, access_token_expires_at, needs_reconnect, created_at,
                 updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, false, %s, %s)
                ON CONFLICT (account_id) DO NOTHING""",
            (
                e.originator_id,
                e.name,
                e.app_id,
                e.oa_id,
                e.chat_inactivity_seconds,
                e.allow_postpone,
                bool(e.verification_code),
                e.access_token_expires_at,
                e.at,
                e.at,
            ),
        )

    @handles("ZaloAccount.Updated")
    def updated(self, cur: Cursor[Any], e: Any, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in PUBLIC_FIELDS}
        if "verification_code" in e.changes:
            changes["has_verification_code"] = bool(e.changes["verification_code"])
        assignments = "".join(f", {column} = %s" for column in changes)
        cur.execute(
            f"UPDATE {self.t('accounts')} SET updated_at = %s{assignments} WHERE account_id = %s",
            (e.at, *changes.values(), e.originator_id),
        )

    @handles("ZaloAccount.TokensRotated")
    def tokens_rotated(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""UPDATE {self.t("accounts")} SET access_token_expires_at = %s,
                needs_reconnect = false, updated_at = %s WHERE account_id = %s""",
            (e.access_token_expires_at, e.at, e.originator_id),
        )

    @handles("ZaloAccount.ReconnectNeeded")
    def reconnect_needed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""UPDATE {self.t("accounts")} SET needs_reconnect = true, updated_at = %s
                WHERE account_id = %s""",
            (e.at, e.originator_id),
        )

    @handles("ZaloAccount.Deleted")
    def deleted(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(f"DELETE FROM {self.t('accounts')} WHERE account_id = %s", (e.originator_id,))
