"""The chat inbox: active chats, most recent activity first, with what needs attention."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from adapters.read_models.views.base import View, handles
from adapters.timefmt import iso


class InboxView(View):
    name = "inbox"
    tables = ("inbox_chats",)
    version = 1

    def ddl(self) -> Sequence[str]:
        chats = self.t("inbox_chats")
        return [
            f"""CREATE TABLE IF NOT EXISTS {chats} (
                chat_id uuid PRIMARY KEY,
                ticket_id uuid NOT NULL,
                account_id uuid NOT NULL,
                contact_id uuid NOT NULL,
                started_at timestamptz NOT NULL,
                last_activity_at timestamptz NOT NULL,
                last_message jsonb,
                unread_count integer NOT NULL DEFAULT 0,
                waiting_since timestamptz,
                last_customer_at timestamptz,
                extra_seconds integer NOT NULL DEFAULT 0,
                is_new boolean NOT NULL DEFAULT true,
                reactivation boolean NOT NULL DEFAULT false
            )""",
            f"""CREATE INDEX IF NOT EXISTS {chats}_by_activity
                ON {chats} (last_activity_at DESC, chat_id DESC)""",
        ]

    @handles("Chat.Started")
    def started(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("inbox_chats")}
                (chat_id, ticket_id, account_id, contact_id, started_at, last_activity_at,
                 reactivation) VALUES (%s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (chat_id) DO NOTHING""",
            (e.originator_id, e.ticket_id, e.account_id, e.contact_id, e.at, e.at, e.reactivation),
        )

    @handles("Chat.CustomerMessageReceived")
    def customer_message(self, cur: Cursor[Any], e: Any, position: int) -> None:
        last = {"text": e.text, "kind": e.kind, "direction": "in", "at": iso(e.platform_at or e.at)}
        cur.execute(
            f"""UPDATE {self.t("inbox_chats")} SET
                last_message = %s,
                last_activity_at = GREATEST(last_activity_at, %s),
                unread_count = unread_count + 1,
                waiting_since = COALESCE(waiting_since, %s),
                last_customer_at = GREATEST(last_customer_at, %s),
                extra_seconds = 0
                WHERE chat_id = %s""",
            (Jsonb(last), e.at, e.at, e.platform_at or e.at, e.originator_id),
        )

    @handles("Reply.Queued")
    def reply_queued(self, cur: Cursor[Any], e: Any, position: int) -> None:
        last = {"text": e.text, "kind": "text", "direction": "out", "at": iso(e.at)}
        cur.execute(
            f"UPDATE {self.t('inbox_chats')} SET last_message = %s WHERE chat_id = %s",
            (Jsonb(last), e.chat_id),
        )

    @handles("Chat.OAManagerMessageRecorded")
    def oa_manager_message(self, cur: Cursor[Any], e: Any, position: int) -> None:
        last = {
            "text": e.text,
            "kind": e.kind,
            "direction": "out",
            "at": iso(e.platform_at or e.at),
        }
        cur.execute(
            f"""UPDATE {self.t("inbox_chats")} SET last_message = %s,
                last_activity_at = GREATEST(last_activity_at, %s),
                waiting_since = NULL, extra_seconds = 0
                WHERE chat_id = %s""",
            (Jsonb(last), e.at, e.originator_id),
        )

    @handles("Chat.AgentReplied")
    def agent_replied(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""UPDATE {self.t("inbox_chats")} SET
                last_activity_at = GREATEST(last_activity_at, %s),
                waiting_since = NULL, extra_seconds = 0
                WHERE chat_id = %s""",
            (e.at, e.originator_id),
        )

    @handles("Chat.Postponed")
    def postponed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""UPDATE {self.t("inbox_chats")} SET extra_seconds = extra_seconds + %s
                WHERE chat_id = %s""",
            (e.seconds, e.originator_id),
        )

    @handles("Chat.ReadMarked")
    def read_marked(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""UPDATE {self.t("inbox_chats")} SET unread_count = 0, is_new = false
                WHERE chat_id = %s""",
            (e.originator_id,),
        )

    @handles("Chat.Ended")
    def ended(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(f"DELETE FROM {self.t('inbox_chats')} WHERE chat_id = %s", (e.originator_id,))
