"""Keyset paging's cursors: where the last row of a page stands, as a time and an id."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from attrs import Factory, define, frozen
from psycopg import Cursor


class BadCursor(ValueError):
    """A cursor that this service did not hand out."""


# A cursor: the last row's time in microseconds since the epoch, and its id. Anything of
# this shape reads as a place in the list.
CURSOR = re.compile(r"[0-9]{1,17}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(at: datetime, ident: UUID) -> str:
    micros = (at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{ident}"


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    if not CURSOR.fullmatch(cursor):
        raise BadCursor("cursor is not one this service handed out")
    micros, ident = cursor.split(".")
    return EPOCH + timedelta(microseconds=int(micros)), UUID(ident)


@frozen
class Keyset:
    """A list shown newest first by a time column, ties broken by an id column (both
    named with their table's alias, as ``t.updated_at``), one page at a time."""

    at: str
    ident: str

    def page(
        self, cur: Cursor[dict[str, Any]], select: str, where: Where, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The rows of ``select`` (``SELECT ... FROM ...``) that match ``where`` and stand
        after ``cursor``, at most ``limit``, and the next page's cursor if there is one.
        ``BadCursor`` for a cursor this service did not hand out."""
        clauses, params = list(where.clauses), {**where.params, "limit": limit + 1}
        if cursor:
            params["c_at"], params["c_id"] = decode_cursor(cursor)
            clauses.append(f"({self.at}, {self.ident}) < (%(c_at)s, %(c_id)s)")
        cur.execute(
            f"""{select} WHERE {" AND ".join(clauses)}
                ORDER BY {self.at} DESC, {self.ident} DESC LIMIT %(limit)s""",
            params,
        )
        rows = cur.fetchall()
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        return rows[:limit], encode_cursor(last[column(self.at)], last[column(self.ident)])


@define
class Where:
    """A query's conditions, joined by AND, and the parameters they name."""

    clauses: list[str] = Factory(lambda: ["TRUE"])
    params: dict[str, Any] = Factory(dict)

    def add(self, clause: str, **params: Any) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def equal(self, column_name: str, value: Any) -> None:
        """``column_name = value``, unless ``value`` is None (no filter)."""
        if value is not None:
            self.add(f"{column_name} = %({column(column_name)})s", **{column(column_name): value})

    def sql(self) -> str:
        return " AND ".join(self.clauses)


def column(qualified: str) -> str:
    """``t.updated_at`` -> ``updated_at``: the name a row of the result has it under."""
    return qualified.rpartition(".")[2]
