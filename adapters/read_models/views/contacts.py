"""Customers as the agent sees them: which OA, which Zalo user, anonymous or not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Cursor

from adapters.read_models.views.base import View, handles


class ContactsView(View):
    name = "contacts"
    tables = ("contacts",)
    version = 1

    def ddl(self) -> Sequence[str]:
        return [
            f"""CREATE TABLE IF NOT EXISTS {self.t("contacts")} (
                contact_id uuid PRIMARY KEY,
                account_id uuid NOT NULL,
                zalo_user_id text NOT NULL,
                anonymous boolean NOT NULL,
                conversation_id text,
                following boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL
            )"""
        ]

    @handles("Contact.Registered")
    def registered(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("contacts")}
                (contact_id, account_id, zalo_user_id, anonymous, conversation_id, following,
                 created_at) VALUES (%s, %s, %s, %s, %s, false, %s)
                ON CONFLICT (contact_id) DO NOTHING""",
            (e.originator_id, e.account_id, e.zalo_user_id, e.anonymous, e.conversation_id, e.at),
        )

    @handles("Contact.ConversationIdChanged")
    def conversation_changed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"UPDATE {self.t('contacts')} SET conversation_id = %s WHERE contact_id = %s",
            (e.conversation_id, e.originator_id),
        )

    @handles("Contact.Followed", "Contact.Unfollowed")
    def follow_changed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"UPDATE {self.t('contacts')} SET following = %s WHERE contact_id = %s",
            (type(e).__name__ == "Followed", e.originator_id),
        )
