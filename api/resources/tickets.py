"""The ticket list, one ticket, and the agent's actions on it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import falcon

from adapters.read_models.ticket_queries import BadCursor, TicketFilter, TicketQueries
from api import bodies
from api.resources.chats import reply_accepted
from domain.application import Zalodesk
from domain.commands import ChangeTicket, OpenTicket, PostReply
from domain.values import TicketKind, TicketStatus


class Tickets:
    def __init__(self, app: Zalodesk, queries: TicketQueries) -> None:
        self.app = app
        self.queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        where = TicketFilter(
            status=choice(req, "status", [s.value for s in TicketStatus]),
            account_id=req.get_param_as_uuid("account_id"),
            customer_id=req.get_param_as_uuid("customer_id"),
            kind=choice(req, "kind", [k.value for k in TicketKind]),
        )
        try:
            resp.media = self.queries.page(
                where, bodies.limit(req, 50, 200), req.get_param("cursor")
            )
        except BadCursor as ex:
            raise falcon.HTTPBadRequest(title="Bad cursor", description=str(ex)) from None

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = bodies.json_object(req)
        who = body.get("customer") or {}
        if not isinstance(who, dict):
            raise bodies.invalid("customer", "must be an object")
        account_id = who.get("account_id")
        ticket = self.app.open_ticket(
            OpenTicket(
                subject=bodies.text(body, "subject", required=False),
                text=bodies.text(body, "text"),
                actor=req.context.principal.actor,
                account_id=parse_uuid("customer.account_id", account_id) if account_id else None,
                zalo_user_id=bodies.text(who, "zalo_user_id", required=False) or None,
                customer_name=bodies.text(who, "name", required=False) or None,
            )
        )
        resp.status = falcon.HTTP_201
        resp.location = f"/api/tickets/{ticket.id}"
        resp.media = {
            "id": str(ticket.id),
            "kind": ticket.kind.value,
            "status": ticket.status.value,
        }


class Ticket:
    def __init__(self, app: Zalodesk, queries: TicketQueries) -> None:
        self.app = app
        self.queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response, ticket_id: UUID) -> None:
        found = self.queries.detail(ticket_id)
        if found is None:
            self.app.ticket(ticket_id)  # 404 if it does not exist at all
            raise falcon.HTTPServiceUnavailable(
                title="Not projected yet", description="Try again in a moment.", retry_after=1
            )
        resp.media = found

    def on_patch(self, req: falcon.Request, resp: falcon.Response, ticket_id: UUID) -> None:
        body = bodies.json_object(req)
        tags = body.get("tags")
        if tags is not None and not (
            isinstance(tags, list) and all(isinstance(t, str) for t in tags)
        ):
            raise bodies.invalid("tags", "must be a list of strings")
        assignee = body.get("assignee")
        if assignee is not None and not isinstance(assignee, str):
            raise bodies.invalid("assignee", "must be a string or null")
        ticket = self.app.change_ticket(
            ChangeTicket(
                ticket_id,
                actor=req.context.principal.actor,
                status=bodies.text(body, "status", required=False) or None,
                assignee=assignee or None,
                change_assignee="assignee" in body,
                tags=tuple(tags) if tags is not None else None,
                reason=bodies.text(body, "reason", required=False),
            )
        )
        resp.media = {
            "id": str(ticket.id),
            "status": ticket.status.value,
            "assignee": ticket.assignee,
            "tags": list(ticket.tags),
        }


class TicketMessages:
    """For a chat ticket, the reply reactivates the chat; for an async ticket it is recorded."""

    def __init__(self, app: Zalodesk) -> None:
        self.app = app

    def on_post(self, req: falcon.Request, resp: falcon.Response, ticket_id: UUID) -> None:
        body = bodies.json_object(req)
        command = PostReply(
            actor=req.context.principal.actor,
            text=bodies.text(body, "text"),
            ticket_id=ticket_id,
            client_message_id=bodies.text(body, "client_message_id", required=False) or None,
        )
        if self.app.ticket(ticket_id).kind == TicketKind.ASYNC:
            message_id = self.app.add_ticket_note(command)
            resp.status = falcon.HTTP_201
            resp.media = {"message_id": str(message_id), "ticket_id": str(ticket_id)}
            return
        resp.status = falcon.HTTP_202
        resp.media = reply_accepted(self.app.post_reply(command))


def choice(req: falcon.Request, name: str, allowed: list[str]) -> str | None:
    value = req.get_param(name)
    if value is not None and value not in allowed:
        raise falcon.HTTPBadRequest(
            title="Bad filter", description=f"{name} must be one of {', '.join(allowed)}"
        )
    return value


def parse_uuid(field: str, value: Any) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise bodies.invalid(field, "must be an id") from None
