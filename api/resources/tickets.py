"""The ticket list, one ticket, and the agent's actions on it."""

from __future__ import annotations

from uuid import UUID

import falcon
from attrs import frozen
from pydantic import MISSING

from adapters.read_models.ticket_queries import TicketFilter, TicketQueries
from api.contract import Answer, Operation, refusal
from api.resources.chats import REPLY_REFUSED, agent_name, reply_accepted
from api.resources.reading import given, listing, page, projected
from api.schemas.conversations import (
    NewReply,
    NewTicket,
    NoteAdded,
    ReplyQueued,
    TicketChanged,
    TicketChanges,
    TicketDetail,
    TicketOpened,
    TicketPage,
    TicketQuery,
    ZaloCustomer,
)
from domain.application import Zalodesk
from domain.commands import ChangeTicket, OpenTicket, PostReply
from domain.values import TicketKind


@frozen
class Tickets:
    app: Zalodesk
    queries: TicketQueries

    @listing(
        "The ticket list: asynchronous tickets and ended chats, most recently updated first",
        "One page of tickets",
        TicketPage,
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, asked: TicketQuery) -> None:
        where = TicketFilter(
            status=None if asked.status is MISSING else asked.status.value,
            account_id=given(asked.account_id),
            customer_id=given(asked.customer_id),
            kind=None if asked.kind is MISSING else asked.kind.value,
        )
        resp.media = page(lambda: self.queries.page(where, asked.limit, given(asked.cursor)))

    @Operation(
        "Open an asynchronous ticket",
        {
            201: Answer("Opened", TicketOpened),
            404: refusal("The customer's account does not exist"),
        },
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, form: NewTicket) -> None:
        who = form.customer
        ticket = self.app.open_ticket(
            OpenTicket(
                subject=form.subject,
                text=form.text,
                actor=req.context.principal.actor,
                account_id=None if who is None or who.account_id is MISSING else who.account_id,
                zalo_user_id=who.zalo_user_id if isinstance(who, ZaloCustomer) else None,
                customer_name=None if who is None or who.name is MISSING else who.name,
            )
        )
        resp.status = falcon.HTTP_201
        resp.location = f"/api/tickets/{ticket.id}"
        resp.media = {
            "id": str(ticket.id),
            "kind": ticket.kind.value,
            "status": ticket.status.value,
        }


@frozen
class Ticket:
    app: Zalodesk
    queries: TicketQueries

    @Operation(
        "One ticket with its transcript (every chat session and message) and status history",
        {200: Answer("The ticket", TicketDetail)},
    )
    def on_get(self, req: falcon.Request, resp: falcon.Response, ticket_id: UUID) -> None:
        resp.media = projected(self.queries.detail(ticket_id), lambda: self.app.ticket(ticket_id))

    @Operation(
        "Change status, assignee, tags",
        {200: Answer("Changed", TicketChanged)},
    )
    def on_patch(
        self, req: falcon.Request, resp: falcon.Response, ticket_id: UUID, form: TicketChanges
    ) -> None:
        me = req.context.principal.name
        ticket = self.app.change_ticket(
            ChangeTicket(
                ticket_id,
                actor=req.context.principal.actor,
                status=None if form.status is MISSING else form.status.value,
                assignee=agent_name(form.assignee, me) if isinstance(form.assignee, str) else None,
                change_assignee=form.assignee is not MISSING,
                tags=None if form.tags is MISSING else tuple(form.tags),
                reason=form.reason,
            )
        )
        resp.media = {
            "id": str(ticket.id),
            "status": ticket.status.value,
            "assignee": ticket.assignee,
            "tags": list(ticket.tags),
        }


@frozen
class TicketMessages:
    """For a chat ticket, the reply reactivates the chat; for an async ticket it is recorded."""

    app: Zalodesk

    @Operation(
        "Write on a ticket: to the customer on a chat ticket (its chat is reactivated), "
        "recorded on an asynchronous one",
        {
            201: Answer("Recorded on the asynchronous ticket", NoteAdded),
            202: Answer("Queued to the customer", ReplyQueued),
            409: REPLY_REFUSED,
        },
    )
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, ticket_id: UUID, form: NewReply
    ) -> None:
        command = PostReply(
            actor=req.context.principal.actor,
            text=form.text,
            ticket_id=ticket_id,
            client_message_id=form.client_message_id,
        )
        if self.app.ticket(ticket_id).kind == TicketKind.ASYNC:
            message_id = self.app.add_ticket_note(command)
            resp.status = falcon.HTTP_201
            resp.media = {"message_id": str(message_id), "ticket_id": str(ticket_id)}
            return
        resp.status = falcon.HTTP_202
        resp.media = reply_accepted(self.app.post_reply(command))
