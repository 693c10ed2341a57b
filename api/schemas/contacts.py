"""Customers: the contact list and one contact with their tickets."""

from __future__ import annotations

from typing import Annotated

from pydantic import MISSING, Field

from api.schemas.base import WHOLE_NUMBER, Id, Query, Shape, Timestamp, Uuid, visible_text
from api.schemas.conversations import Customer, PageCursor, TicketSummary


class ContactQuery(Query):
    account_id: Uuid | MISSING = MISSING
    q: (
        Annotated[
            str,
            visible_text(200, "A part of the display name (any case) or of the Zalo user id."),
        ]
        | MISSING
    ) = MISSING
    limit: Annotated[int, Field(ge=1, le=200), WHOLE_NUMBER] = 50
    cursor: PageCursor | MISSING = MISSING


class Contact(Customer):
    account_id: Id
    following: bool = Field(description="Whether they follow the Official Account.")
    created_at: Timestamp | None = Field(description="When the desk first saw them.")


class ContactPage(Shape):
    contacts: list[Contact]
    next_cursor: str | None


class ContactDetail(Contact):
    tickets: list[TicketSummary] = Field(
        description="Their tickets, most recently updated first (at most 100), "
        "those with an active chat included."
    )
