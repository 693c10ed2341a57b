"""The ticket list with keyset paging, and one ticket with its whole transcript."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from attrs import frozen
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from adapters.read_models.cursors import Keyset, Where
from adapters.read_models.inbox_queries import CUSTOMER_COLUMNS, customer, message
from adapters.timefmt import iso


@frozen
class TicketFilter:
    status: str | None = None
    account_id: UUID | None = None
    customer_id: UUID | None = None
    kind: str | None = None


TICKET_COLUMNS = f"t.*, {CUSTOMER_COLUMNS}"
TICKET_FROM = "tickets t LEFT JOIN contacts k ON k.contact_id = t.contact_id"
LISTED = Keyset("t.updated_at", "t.ticket_id")


class TicketQueries:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def page(self, where: TicketFilter, limit: int, cursor: str | None) -> dict[str, Any]:
        """Most recently updated first. Keyset paging: a ticket updated while someone pages
        moves to the top, so it is never shown twice, and no unchanged ticket is skipped."""
        filters = Where(["t.active_chat_id IS NULL"])
        filters.equal("t.status", where.status)
        filters.equal("t.account_id", where.account_id)
        filters.equal("t.contact_id", where.customer_id)
        filters.equal("t.kind", where.kind)
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows, next_cursor = LISTED.page(
                cur, f"SELECT {TICKET_COLUMNS} FROM {TICKET_FROM}", filters, limit, cursor
            )
        return {"tickets": [ticket(row) for row in rows], "next_cursor": next_cursor}

    def detail(self, ticket_id: UUID) -> dict[str, Any] | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE t.ticket_id = %s",
                (ticket_id,),
            )
            row = cur.fetchone()
            if row is None:
                return None
            result = ticket(row)
            result["chats"] = self._sessions(cur, ticket_id)
            result["status_history"] = self._history(cur, ticket_id)
        return result

    def _sessions(self, cur: Any, ticket_id: UUID) -> list[dict[str, Any]]:
        cur.execute(
            """SELECT * FROM chat_sessions WHERE ticket_id = %s ORDER BY started_at""",
            (ticket_id,),
        )
        sessions = [
            {
                "id": str(s["chat_id"]),
                "started_at": iso(s["started_at"]),
                "ended_at": iso(s["ended_at"]),
                "end_reason": s["end_reason"],
                "ended_by": s["ended_by"],
                "reactivation": s["reactivation"],
                "messages": [],
            }
            for s in cur.fetchall()
        ]
        by_id = {s["id"]: s for s in sessions}
        cur.execute(
            "SELECT * FROM chat_messages WHERE ticket_id = %s ORDER BY sent_at, position",
            (ticket_id,),
        )
        loose: list[dict[str, Any]] = []
        for row in cur.fetchall():
            session = by_id.get(str(row["chat_id"]))
            (session["messages"] if session else loose).append(message(row))
        if loose:
            sessions.insert(0, {"id": None, "messages": loose})
        return sessions

    def _history(self, cur: Any, ticket_id: UUID) -> list[dict[str, Any]]:
        cur.execute(
            """SELECT status, at, actor, reason FROM ticket_status_history
               WHERE ticket_id = %s ORDER BY position""",
            (ticket_id,),
        )
        return [{**h, "at": iso(h["at"])} for h in cur.fetchall()]


def ticket(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["ticket_id"]),
        "kind": row["kind"],
        "status": row["status"],
        "subject": row["subject"],
        "account_id": str(row["account_id"]) if row["account_id"] else None,
        "customer": ticket_customer(row),
        "assignee": row["assignee"],
        "tags": list(row["tags"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "last_message": row["last_message"],
        "chat_count": row["chat_count"],
        "active_chat_id": str(row["active_chat_id"]) if row["active_chat_id"] else None,
    }


def ticket_customer(row: dict[str, Any]) -> dict[str, Any] | None:
    """The ticket's contact, named by their Zalo profile or else by the name the ticket's
    opener gave; a customer given only by name has no contact (id and Zalo id null)."""
    if row["contact_id"]:
        found = customer(row)
        found["display_name"] = found["display_name"] or row["customer_name"]
        return found
    if row["customer_name"]:
        return {
            "id": None,
            "zalo_user_id": None,
            "anonymous": False,
            "display_name": row["customer_name"],
            "avatar": None,
        }
    return None
