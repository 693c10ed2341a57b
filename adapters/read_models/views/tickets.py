"""The ticket list: asynchronous tickets and ended chats, and each ticket's status history."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from adapters.read_models.views.base import Index, Table, View, handles
from adapters.timefmt import iso

# The tickets the list shows: those with no chat going on.
LISTED = "active_chat_id IS NULL"


class TicketsView(View):
    name = "tickets"
    version = 2
    schema = (
        Table(
            "tickets",
            """
            ticket_id uuid PRIMARY KEY,
            kind text NOT NULL,
            status text NOT NULL,
            subject text NOT NULL,
            channel text NOT NULL,
            account_id uuid,
            contact_id uuid,
            assignee text,
            tags text[] NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            last_message jsonb,
            chat_count integer NOT NULL DEFAULT 0,
            active_chat_id uuid,
            customer_name text
            """,
            indexes=(
                Index("listed", "updated_at DESC, ticket_id DESC", where=LISTED),
                Index("by_status", "status, updated_at DESC, ticket_id DESC", where=LISTED),
                Index("by_account", "account_id, updated_at DESC, ticket_id DESC", where=LISTED),
                Index("by_contact", "contact_id, updated_at DESC, ticket_id DESC"),
            ),
        ),
        Table(
            "ticket_chats",
            """
            chat_id uuid PRIMARY KEY,
            ticket_id uuid NOT NULL
            """,
        ),
        Table(
            "ticket_status_history",
            """
            ticket_id uuid NOT NULL,
            position bigint NOT NULL,
            status text NOT NULL,
            at timestamptz NOT NULL,
            actor text NOT NULL,
            reason text NOT NULL,
            PRIMARY KEY (ticket_id, position)
            """,
        ),
    )

    @handles("Ticket.Opened")
    def opened(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("tickets")}
                (ticket_id, kind, status, subject, channel, account_id, contact_id,
                 created_at, updated_at) VALUES (%s, %s, 'new', %s, %s, %s, %s, %s, %s)
                ON CONFLICT (ticket_id) DO NOTHING""",
            (e.originator_id, e.kind, e.subject, e.channel, e.account_id, e.contact_id, e.at, e.at),
        )
        self._history(cur, e, position, "new", "opened")

    @handles("Ticket.StatusChanged")
    def status_changed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._touch(cur, e.originator_id, e.at, "status = %s", e.status)
        self._history(cur, e, position, e.status, e.reason)

    @handles("Ticket.ChatAttached")
    def chat_attached(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("ticket_chats")} (chat_id, ticket_id) VALUES (%s, %s)
                ON CONFLICT DO NOTHING""",
            (e.chat_id, e.originator_id),
        )
        self._touch(
            cur,
            e.originator_id,
            e.at,
            "active_chat_id = %s, chat_count = chat_count + 1",
            e.chat_id,
        )

    @handles("Ticket.ChatDetached")
    def chat_detached(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._touch(cur, e.originator_id, e.at, "active_chat_id = NULL")

    @handles("Ticket.Assigned")
    def assigned(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._touch(cur, e.originator_id, e.at, "assignee = %s", e.assignee)

    @handles("Ticket.CustomerNamed")
    def customer_named(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._touch(cur, e.originator_id, e.at, "customer_name = %s", e.name)

    @handles("Ticket.TagsSet")
    def tags_set(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._touch(cur, e.originator_id, e.at, "tags = %s", list(e.tags))

    @handles("Ticket.MessageAdded")
    def message_added(self, cur: Cursor[Any], e: Any, position: int) -> None:
        last = {"text": e.text, "kind": "text", "direction": e.direction, "at": iso(e.at)}
        self._touch(cur, e.originator_id, e.at, "last_message = %s", Jsonb(last))

    @handles("Chat.CustomerMessageReceived")
    def customer_message(self, cur: Cursor[Any], e: Any, position: int) -> None:
        last = {"text": e.text, "kind": e.kind, "direction": "in", "at": iso(e.platform_at or e.at)}
        cur.execute(
            f"""UPDATE {self.t("tickets")} SET last_message = %s,
                updated_at = GREATEST(updated_at, %s)
                WHERE ticket_id = (SELECT ticket_id FROM {self.t("ticket_chats")} WHERE chat_id = %s)""",
            (Jsonb(last), e.at, e.originator_id),
        )

    @handles("Reply.Queued")
    def reply_queued(self, cur: Cursor[Any], e: Any, position: int) -> None:
        last = {"text": e.text, "kind": "text", "direction": "out", "at": iso(e.at)}
        self._touch(cur, e.ticket_id, e.at, "last_message = %s", Jsonb(last))

    def _touch(self, cur: Cursor[Any], ticket_id: Any, at: Any, sets: str, *values: Any) -> None:
        cur.execute(
            f"""UPDATE {self.t("tickets")} SET {sets}, updated_at = GREATEST(updated_at, %s)
                WHERE ticket_id = %s""",
            (*values, at, ticket_id),
        )

    def _history(self, cur: Cursor[Any], e: Any, position: int, status: str, reason: str) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("ticket_status_history")}
                (ticket_id, position, status, at, actor, reason) VALUES (%s, %s, %s, %s, %s, %s)
                ON CONFLICT DO NOTHING""",
            (e.originator_id, position, status, e.at, e.actor, reason),
        )
