"""What agents read: queries over the views, shaped as the API's JSON."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from attrs import frozen
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from adapters.read_models.cursors import Keyset, Where
from adapters.timefmt import iso
from domain import inactivity
from domain.values import Direction, ReplyStatus

REPLY_WINDOW = timedelta(days=7)
INBOX_COLUMNS = """
    c.chat_id, c.ticket_id, c.account_id, c.contact_id, k.zalo_user_id, k.anonymous,
    k.display_name, k.avatar,
    c.started_at, c.last_activity_at, c.last_message, c.unread_count, c.waiting_since,
    c.extra_seconds, c.is_new, c.last_customer_at, c.assignee, c.status,
    COALESCE(a.chat_inactivity_seconds, %(default_timeout)s) AS timeout
"""
# What ``customer()`` reads, from the contacts view as ``k``.
CUSTOMER_COLUMNS = "k.zalo_user_id, k.anonymous, k.display_name, k.avatar"
INBOX_FROM = """
    inbox_chats c JOIN contacts k ON k.contact_id = c.contact_id
    LEFT JOIN accounts a ON a.account_id = c.account_id
"""
LISTED = Keyset("c.last_activity_at", "c.chat_id")


@frozen
class InboxFilter:
    """``assignee``: a name, or NOBODY; ``me`` has been read as the caller's name already."""

    account_id: UUID | None = None
    assignee: str | None = None


NOBODY = ""  # the assignee filter for chats whose ticket is assigned to no one


class InboxQueries:
    def __init__(self, pool: ConnectionPool[Any], default_timeout: int) -> None:
        self.pool = pool
        self.default_timeout = default_timeout

    def queued_replies(self) -> int:
        """The outbox's queue: replies not yet tried (a partial index keeps this cheap)."""
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM chat_messages WHERE status = %s AND direction = %s",
                (ReplyStatus.QUEUED.value, Direction.OUT.value),
            ).fetchone()
        return int(row[0]) if row else 0

    def inbox(
        self, now: datetime, limit: int, where: InboxFilter, me: str, cursor: str | None = None
    ) -> dict[str, Any]:
        """Most recent activity first, with keyset paging as the ticket list has: a chat
        active while someone pages moves to the top, never shown twice, none skipped."""
        filters = Where(params={"default_timeout": self.default_timeout})
        filters.equal("c.account_id", where.account_id)
        counted = filters.sql()
        if where.assignee == NOBODY:
            filters.add("c.assignee IS NULL")
        else:
            filters.equal("c.assignee", where.assignee)
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows, next_cursor = LISTED.page(
                cur, f"SELECT {INBOX_COLUMNS} FROM {INBOX_FROM}", filters, limit, cursor
            )
            cur.execute(
                f"""SELECT count(*) FILTER (WHERE c.is_new) AS new_chats,
                          count(*) FILTER (WHERE c.unread_count > 0) AS unread_chats,
                          count(*) AS all, count(*) FILTER (WHERE c.assignee = %(me)s) AS me,
                          count(*) FILTER (WHERE c.assignee IS NULL) AS none
                   FROM inbox_chats c WHERE {counted}""",
                {**filters.params, "me": me},
            )
            counts = cur.fetchone() or {}
        return {
            "indicator": {k: counts.get(k, 0) for k in ("new_chats", "unread_chats")},
            "chats": [self._chat(row, now) for row in rows],
            "has_more": next_cursor is not None,
            "next_cursor": next_cursor,
            "counts": {k: counts.get(k, 0) for k in ("all", "me", "none")},
        }

    def item(self, chat_id: UUID, now: datetime) -> dict[str, Any] | None:
        """One chat as the inbox lists it; None when it is not (or no longer) there."""
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return self._item(cur, chat_id, now)

    def _item(self, cur: Any, chat_id: UUID, now: datetime) -> dict[str, Any] | None:
        cur.execute(
            f"SELECT {INBOX_COLUMNS} FROM {INBOX_FROM} WHERE c.chat_id = %(chat_id)s",
            {"default_timeout": self.default_timeout, "chat_id": chat_id},
        )
        row = cur.fetchone()
        return self._chat(row, now) if row else None

    def chat(self, chat_id: UUID, now: datetime) -> dict[str, Any] | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            chat = self._item(cur, chat_id, now) or self._ended_chat(cur, chat_id)
            if chat is None:
                return None
            cur.execute(
                """SELECT * FROM chat_messages WHERE chat_id = %s
                   ORDER BY sent_at, position""",
                (chat_id,),
            )
            chat["messages"] = [message(m) for m in cur.fetchall()]
        return chat

    def _ended_chat(self, cur: Any, chat_id: UUID) -> dict[str, Any] | None:
        cur.execute(
            f"""SELECT s.*, {CUSTOMER_COLUMNS} FROM chat_sessions s
               JOIN contacts k ON k.contact_id = s.contact_id WHERE s.chat_id = %s""",
            (chat_id,),
        )
        row = cur.fetchone()
        if row is None:
            return None
        return {
            **chat_identity(row),
            "ended_at": iso(row["ended_at"]),
            "end_reason": row["end_reason"],
            "active": row["ended_at"] is None,
        }

    def _chat(self, row: dict[str, Any], now: datetime) -> dict[str, Any]:
        end_at = inactivity.auto_end_at(
            row["last_activity_at"], row["timeout"], row["extra_seconds"]
        )
        return {
            **chat_identity(row),
            "last_activity_at": iso(row["last_activity_at"]),
            "last_message": row["last_message"],
            "unread_count": row["unread_count"],
            "waiting_since": iso(row["waiting_since"]),
            "auto_end_at": iso(end_at),
            "reply_window_closes_at": iso(reply_window_closes_at(row["last_customer_at"])),
            "ending_soon": inactivity.ending_soon(now, end_at, row["timeout"]),
            "new": row["is_new"],
            "active": True,
            "assignee": row["assignee"],
            "status": row["status"],
        }


def chat_identity(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["chat_id"]),
        "ticket_id": str(row["ticket_id"]),
        "account_id": str(row["account_id"]),
        "customer": customer(row),
        "started_at": iso(row["started_at"]),
    }


def customer(row: dict[str, Any]) -> dict[str, Any]:
    """The customer as every answer shows them; display name and avatar are null until
    their Zalo profile is fetched (and stay null for anonymous visitors)."""
    return {
        "id": str(row["contact_id"]),
        "zalo_user_id": row["zalo_user_id"],
        "anonymous": row["anonymous"],
        "display_name": row["display_name"],
        "avatar": row["avatar"],
    }


def message(row: dict[str, Any]) -> dict[str, Any]:
    result = {
        "id": str(row["message_id"]),
        "zalo_msg_id": row["zalo_msg_id"],
        "direction": row["direction"],
        "author": row["author"],
        "kind": row["kind"],
        "text": row["text"],
        "attachments": row["attachments"],
        "quote_msg_id": row["quote_msg_id"],
        "sent_at": iso(row["sent_at"]),
        "status": row["status"],
    }
    if row["error"]:
        result["error"] = row["error"]
    if row["direction"] == Direction.OUT.value:
        result["attempts"] = row["attempts"]
    return result


def reply_window_closes_at(last_customer_at: datetime | None) -> datetime | None:
    """Zalo: replies need the customer to have written within the last 7 days."""
    return last_customer_at + REPLY_WINDOW if last_customer_at else None


class AccountQueries:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def accounts(self) -> list[dict[str, Any]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT * FROM accounts ORDER BY created_at, account_id")
            return list(cur.fetchall())
