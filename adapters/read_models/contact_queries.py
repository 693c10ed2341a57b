"""Customers: the contact list (newest first, keyset paging) and one contact with tickets."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from attrs import frozen
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from adapters.read_models.cursors import Keyset, Where
from adapters.read_models.inbox_queries import customer
from adapters.read_models.ticket_queries import TICKET_COLUMNS, ticket
from adapters.timefmt import iso

# A contact's tickets, most recently updated first: a customer of years shows the latest.
TICKETS_SHOWN = 100
LISTED = Keyset("k.created_at", "k.contact_id")


@frozen
class ContactFilter:
    account_id: UUID | None = None
    q: str | None = None  # a part of the display name (any case) or of the Zalo user id


class ContactQueries:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def page(self, where: ContactFilter, limit: int, cursor: str | None) -> dict[str, Any]:
        """Newest first. ``BadCursor`` for a cursor this service did not hand out."""
        filters = Where()
        filters.equal("k.account_id", where.account_id)
        if where.q:
            filters.add(
                "(k.display_name ILIKE %(q)s OR k.zalo_user_id LIKE %(q)s)",
                q=f"%{like_escaped(where.q)}%",
            )
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows, next_cursor = LISTED.page(cur, "SELECT * FROM contacts k", filters, limit, cursor)
        return {"contacts": [contact(row) for row in rows], "next_cursor": next_cursor}

    def detail(self, contact_id: UUID) -> dict[str, Any] | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT * FROM contacts k WHERE k.contact_id = %s", (contact_id,))
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute(
                f"""SELECT {TICKET_COLUMNS} FROM tickets t
                    JOIN contacts k ON k.contact_id = t.contact_id WHERE t.contact_id = %s
                    ORDER BY t.updated_at DESC, t.ticket_id DESC LIMIT %s""",
                (contact_id, TICKETS_SHOWN),
            )
            tickets = [ticket(t) for t in cur.fetchall()]
        return {**contact(row), "tickets": tickets}


def contact(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **customer(row),
        "account_id": str(row["account_id"]),
        "following": row["following"],
        "created_at": iso(row["created_at"]),
    }


def like_escaped(text: str) -> str:
    """``text`` matched as itself inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
