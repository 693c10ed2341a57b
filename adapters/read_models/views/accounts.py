"""The accounts directory: every connected Official Account, without its secrets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Cursor

from adapters.read_models.views.base import View, handles


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

    @handles("ZaloAccount.Renamed")
    def renamed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._set(cur, e, name=e.name)

    @handles("ZaloAccount.AppChanged")
    def app_changed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._set(cur, e, app_id=e.app_id, oa_id=e.oa_id)

    @handles("ZaloAccount.ChatSettingsChanged")
    def chat_settings_changed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._set(
            cur,
            e,
            chat_inactivity_seconds=e.chat_inactivity_seconds,
            allow_postpone=e.allow_postpone,
        )

    @handles("ZaloAccount.VerificationCodeSet")
    def verification_code_set(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._set(cur, e, has_verification_code=bool(e.verification_code))

    @handles("ZaloAccount.SigningSecretsReplaced")
    def signing_secrets_replaced(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._set(cur, e)

    def _set(self, cur: Cursor[Any], e: Any, **columns: Any) -> None:
        """The account's row changed at ``e.at``: these columns (named here, never by data)."""
        assignments = "".join(f", {column} = %s" for column in columns)
        cur.execute(
            f"UPDATE {self.t('accounts')} SET updated_at = %s{assignments} WHERE account_id = %s",
            (e.at, *columns.values(), e.originator_id),
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
