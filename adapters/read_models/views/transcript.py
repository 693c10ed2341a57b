"""The chat transcript: every message of every chat, in the platform's time order."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from adapters.read_models.views.base import Index, Table, Updates, View, event_type, handles

MESSAGE_COLUMNS = (
    "message_id, chat_id, ticket_id, zalo_msg_id, direction, author, kind, text, attachments, "
    "quote_msg_id, sent_at, recorded_at, status, error, position, attempts"
)

# What each of a reply's events sets on its message.
REPLY_CHANGES: Updates = {
    "Reply.Sent": lambda e: {"status": "sent", "zalo_msg_id": e.zalo_msg_id},
    "Reply.SendAttempted": lambda e: {"attempts": e.attempt},
    "Reply.Failed": lambda e: {"status": "failed", "error": Jsonb(reply_error(e))},
    "Reply.RetryRequested": lambda e: {"status": "queued", "error": None},
    "Reply.Progressed": lambda e: {"status": e.status},
}


class TranscriptView(View):
    name = "transcript"
    version = 2
    schema = (
        Table(
            "chat_sessions",
            """
            chat_id uuid PRIMARY KEY,
            ticket_id uuid NOT NULL,
            account_id uuid NOT NULL,
            contact_id uuid NOT NULL,
            reactivation boolean NOT NULL,
            started_at timestamptz NOT NULL,
            ended_at timestamptz,
            end_reason text,
            ended_by text
            """,
            indexes=(Index("by_ticket", "ticket_id, started_at"),),
        ),
        Table(
            "chat_messages",
            """
            message_id uuid PRIMARY KEY,
            chat_id uuid,
            ticket_id uuid,
            zalo_msg_id text,
            direction text NOT NULL,
            author text NOT NULL,
            kind text NOT NULL,
            text text NOT NULL,
            attachments jsonb NOT NULL,
            quote_msg_id text,
            sent_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            status text NOT NULL,
            error jsonb,
            position bigint NOT NULL,
            attempts integer NOT NULL DEFAULT 0
            """,
            indexes=(
                Index("by_chat", "chat_id, sent_at, position"),
                Index("by_ticket", "ticket_id"),
                Index("queued", "position", where="status = 'queued'"),
            ),
        ),
    )

    @handles("Chat.Started")
    def started(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("chat_sessions")}
                (chat_id, ticket_id, account_id, contact_id, reactivation, started_at)
                VALUES (%s, %s, %s, %s, %s, %s)
                ON CONFLICT (chat_id) DO NOTHING""",
            (e.originator_id, e.ticket_id, e.account_id, e.contact_id, e.reactivation, e.at),
        )

    @handles("Chat.Ended")
    def ended(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""UPDATE {self.t("chat_sessions")} SET ended_at = %s, end_reason = %s, ended_by = %s
                WHERE chat_id = %s""",
            (e.at, e.reason, e.actor, e.originator_id),
        )

    @handles("Chat.CustomerMessageReceived")
    def customer_message(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._zalo_message(cur, e, position, "in", "received", e.quote_msg_id)

    @handles("Chat.OAManagerMessageRecorded")
    def oa_manager_message(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._zalo_message(cur, e, position, "out", "sent", None)

    def _zalo_message(
        self, cur: Cursor[Any], e: Any, position: int, direction: str, status: str, quote: Any
    ) -> None:
        """A message that came through Zalo, filed under its chat's ticket."""
        cur.execute(
            f"""INSERT INTO {self.t("chat_messages")} ({MESSAGE_COLUMNS})
                SELECT %s, %s, ticket_id, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, 0
                FROM {self.t("chat_sessions")} WHERE chat_id = %s
                ON CONFLICT (message_id) DO NOTHING""",
            (
                e.message_id,
                e.originator_id,
                e.zalo_msg_id,
                direction,
                e.actor,
                e.kind,
                e.text,
                Jsonb(e.attachments),
                quote,
                e.platform_at or e.at,
                e.at,
                status,
                position,
                e.originator_id,
            ),
        )

    @handles("Reply.Queued")
    def reply_queued(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("chat_messages")} ({MESSAGE_COLUMNS}) VALUES
                (%s, %s, %s, NULL, 'out', %s, 'text', %s, '[]', NULL, %s, %s, 'queued', NULL, %s, 0)
                ON CONFLICT (message_id) DO NOTHING""",
            (e.originator_id, e.chat_id, e.ticket_id, e.actor, e.text, e.at, e.at, position),
        )

    @handles(*REPLY_CHANGES)
    def reply_changed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        """A reply's status, attempts or error, on its message's row. One queued again
        (``Reply.RetryRequested``) is found by the outbox by its status, in its place."""
        columns = REPLY_CHANGES[event_type(e)](e)
        assignments = ", ".join(f"{column} = %s" for column in columns)
        cur.execute(
            f"UPDATE {self.t('chat_messages')} SET {assignments} WHERE message_id = %s",
            (*columns.values(), e.originator_id),
        )

    @handles("Ticket.MessageAdded")
    def ticket_message(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("chat_messages")} ({MESSAGE_COLUMNS}) VALUES
                (%s, NULL, %s, NULL, %s, %s, 'text', %s, '[]', NULL, %s, %s, 'received', NULL, %s, 0)
                ON CONFLICT (message_id) DO NOTHING""",
            (e.message_id, e.originator_id, e.direction, e.actor, e.text, e.at, e.at, position),
        )


def reply_error(e: Any) -> dict[str, Any]:
    """Why a reply failed, from its ``Reply.Failed``: Zalo's code (None for a network
    error or a refusal of ours) and the reason in words."""
    return {"code": e.code, "reason": e.reason}
