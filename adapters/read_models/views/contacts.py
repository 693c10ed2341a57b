"""Customers as the agent sees them: which OA, which Zalo user, anonymous or not, and
their Zalo profile once it is fetched (``profile_pending`` while a lookup is wanted)."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

from adapters.read_models.views.base import Index, Table, View, handles


class ContactsView(View):
    name = "contacts"
    version = 2
    schema = (
        Table(
            "contacts",
            """
            contact_id uuid PRIMARY KEY,
            account_id uuid NOT NULL,
            zalo_user_id text NOT NULL,
            anonymous boolean NOT NULL,
            conversation_id text,
            following boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL,
            display_name text,
            avatar text,
            profile_pending boolean NOT NULL DEFAULT false
            """,
            indexes=(
                Index("listed", "created_at DESC, contact_id DESC"),
                Index("by_account", "account_id, created_at DESC, contact_id DESC"),
                Index("profile_pending", "created_at", where="profile_pending"),
            ),
        ),
    )

    @handles("Contact.Registered")
    def registered(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("contacts")}
                (contact_id, account_id, zalo_user_id, anonymous, conversation_id, following,
                 created_at, profile_pending) VALUES (%s, %s, %s, %s, %s, false, %s, %s)
                ON CONFLICT (contact_id) DO NOTHING""",
            (
                e.originator_id,
                e.account_id,
                e.zalo_user_id,
                e.anonymous,
                e.conversation_id,
                e.at,
                not e.anonymous,
            ),
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
        if type(e).__name__ == "Followed":  # a follower's profile can be read now
            cur.execute(
                f"""UPDATE {self.t("contacts")} SET profile_pending = true
                    WHERE contact_id = %s AND display_name IS NULL AND NOT anonymous""",
                (e.originator_id,),
            )

    @handles("Contact.ProfileFetched")
    def profile_fetched(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""UPDATE {self.t("contacts")}
                SET display_name = %s, avatar = %s, profile_pending = false WHERE contact_id = %s""",
            (e.display_name, e.avatar, e.originator_id),
        )

    @handles("Contact.ProfileUnavailable")
    def profile_unavailable(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"UPDATE {self.t('contacts')} SET profile_pending = false WHERE contact_id = %s",
            (e.originator_id,),
        )
