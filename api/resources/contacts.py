"""Customers with their Zalo profile, and one customer with their tickets."""

from __future__ import annotations

from uuid import UUID

import falcon
from attrs import frozen

from adapters.read_models.contact_queries import ContactFilter, ContactQueries
from api.contract import Answer, Operation
from api.resources.reading import given, listing, page, projected
from api.schemas.contacts import ContactDetail, ContactPage, ContactQuery
from domain.application import Zalodesk


@frozen
class Contacts:
    queries: ContactQueries

    @listing(
        "Customers, newest first: by account, by a part of their name or Zalo id",
        "One page of contacts",
        ContactPage,
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, asked: ContactQuery) -> None:
        where = ContactFilter(account_id=given(asked.account_id), q=given(asked.q))
        resp.media = page(lambda: self.queries.page(where, asked.limit, given(asked.cursor)))


@frozen
class Contact:
    app: Zalodesk
    queries: ContactQueries

    @Operation(
        "One customer with their tickets",
        {200: Answer("The contact", ContactDetail)},
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, contact_id: UUID) -> None:
        found = self.queries.detail(contact_id)
        resp.media = projected(found, lambda: self.app.contact(contact_id))
