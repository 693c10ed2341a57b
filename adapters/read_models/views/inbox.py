"""The chat inbox: active chats, most recent activity first, with what needs attention.

Beside the chats, ``inbox_tickets`` follows every ticket's assignee and status, so that a
chat started on a ticket shows them from its first row.
"""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from adapters.read_models.views.base import Index, Table, View, handles
from adapters.read_models.views.transcript import reply_error
from adapters.timefmt import iso

REPLY_STATUS = {"Reply.Sent": "sent", "Reply.Failed": "failed", "Reply.RetryRequested": "queued"}


class InboxView(View):
    name = "inbox"
    version = 2
    schema = (
        Table(
            "inbox_chats",
            """
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
            reactivation boolean NOT NULL DEFAULT false,
            assignee text,
            status text,
            last_reply_id uuid
            """,
            indexes=(
                Index("by_activity", "last_activity_at DESC, chat_id DESC"),
                Index("by_account", "account_id, last_activity_at DESC, chat_id DESC"),
                Index("by_assignee", "assignee, last_activity_at DESC, chat_id DESC"),
                Index("by_ticket", "ticket_id"),
                Index("by_last_reply", "last_reply_id", where="last_reply_id IS NOT NULL"),
            ),
        ),
        Table(
            "inbox_tickets",
            """
            ticket_id uuid PRIMARY KEY,
            assignee text,
            status text NOT NULL
            """,
        ),
    )

    @handles("Ticket.Opened")
    def ticket_opened(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("inbox_tickets")} (ticket_id, assignee, status)
                VALUES (%s, NULL, 'new') ON CONFLICT (ticket_id) DO NOTHING""",
            (e.originator_id,),
        )
        self._ticket_changed(cur, e.originator_id, "status", "new")

    @handles("Ticket.StatusChanged")
    def ticket_status(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._ticket_changed(cur, e.originator_id, "status", e.status)

    @handles("Ticket.Assigned")
    def ticket_assigned(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._ticket_changed(cur, e.originator_id, "assignee", e.assignee)

    def _ticket_changed(self, cur: Cursor[Any], ticket_id: Any, column: str, value: Any) -> None:
        for table in ("inbox_tickets", "inbox_chats"):
            cur.execute(
                f"UPDATE {self.t(table)} SET {column} = %s WHERE ticket_id = %s",
                (value, ticket_id),
            )

    @handles("Chat.Started")
    def started(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("inbox_chats")}
                (chat_id, ticket_id, account_id, contact_id, started_at, last_activity_at,
                 reactivation, assignee, status)
                SELECT %s, %s, %s, %s, %s, %s, %s, t.assignee, t.status
                FROM (VALUES (1)) AS one
                LEFT JOIN {self.t("inbox_tickets")} t ON t.ticket_id = %s
                ON CONFLICT (chat_id) DO NOTHING""",
            (
                e.originator_id,
                e.ticket_id,
                e.account_id,
                e.contact_id,
                e.at,
                e.at,
                e.reactivation,
                e.ticket_id,
            ),
        )

    @handles("Chat.CustomerMessageReceived")
    def customer_message(self, cur: Cursor[Any], e: Any, position: int) -> None:
        last = {"text": e.text, "kind": e.kind, "direction": "in", "at": iso(e.platform_at or e.at)}
        cur.execute(
            f"""UPDATE {self.t("inbox_chats")} SET
                last_message = %s, last_reply_id = NULL,
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
        last = {
            "text": e.text,
            "kind": "text",
            "direction": "out",
            "at": iso(e.at),
            "status": "queued",
        }
        cur.execute(
            f"""UPDATE {self.t("inbox_chats")} SET last_message = %s, last_reply_id = %s
                WHERE chat_id = %s""",
            (Jsonb(last), e.originator_id, e.chat_id),
        )

    @handles("Reply.Sent", "Reply.Progressed", "Reply.Failed", "Reply.RetryRequested")
    def reply_changed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        """The state of the chat's last message, when it is this reply."""
        status = getattr(e, "status", None) or REPLY_STATUS[type(e).__qualname__]
        shown: dict[str, Any] = {"status": str(status)}
        if status == "failed":
            shown["error"] = reply_error(e)
        cur.execute(
            f"""UPDATE {self.t("inbox_chats")} SET last_message = (last_message - 'error') || %s
                WHERE last_reply_id = %s""",
            (Jsonb(shown), e.originator_id),
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
        if e.activity:  # stored before replies counted once Zalo took them
            self.reply_sent(cur, e, position)

    @handles("Chat.ReplySent")
    def reply_sent(self, cur: Cursor[Any], e: Any, position: int) -> None:
        """Zalo took the agent's reply: the customer is answered, the clock restarts."""
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
