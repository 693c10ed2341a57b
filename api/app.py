"""The HTTP app: every route, its resource, and the middleware, from parts the root built.

Each responder of a resource carries its operation (api/contract.py): what it takes and
answers, and whether it is for admins. The ``Contract`` middleware checks requests and shapes
answers with it, ``BearerAuth`` keeps admin operations to admin tokens, and /openapi.json is
generated from it. A new route is one line here and an ``Operation`` on each responder.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import falcon
from falcon.routing import UUIDConverter

from adapters.account_admin import AccountAdmin
from adapters.account_cache import AccountCache
from adapters.log_tools.audit import AuditTrail
from adapters.postgres.webhook_activity import WebhookActivity
from adapters.read_models.contact_queries import ContactQueries
from adapters.read_models.rule_queries import RuleQueries
from api import errors
from api.auth import BearerAuth
from api.contract import Route, check
from api.held_connection import OneConnectionPerRequest
from api.openapi import Docs, OpenAPI, spec
from api.requestlog import RequestLog
from api.resources import (
    accounts,
    audit,
    chats,
    contacts,
    health,
    rules,
    stream,
    tickets,
    tokens,
    webhooks,
)
from api.resources.web_console import console_routes
from api.schemas.base import UUID_PATTERN
from api.services import Services
from api.validation import Contract

OPENAPI = "/openapi.json"
DOCS = "/docs"


def routes(services: Services, accounts_cache: AccountCache) -> list[Route]:
    app, settings = services.app, services.settings
    admin = AccountAdmin(app, services.credentials)
    activity = WebhookActivity(services.pool)
    presenter = accounts.AccountPresenter(settings.public_url, activity)
    webhook = webhooks.ZaloWebhook(app, accounts_cache, activity)
    return [
        Route("/healthz", health.Health(), secured=False),
        Route(
            "/readyz",
            health.Ready(services.behind, services.stalled, services.set_aside),
            secured=False,
        ),
        Route("/metrics", health.Metrics(services.metrics_figures), secured=False),
        Route("/api/accounts", accounts.Accounts(admin, services.accounts, presenter, settings)),
        Route(
            "/api/accounts/{account_id:uuid}",
            accounts.Account(app, admin, presenter, accounts_cache),
        ),
        Route("/webhooks/zalo/{account_id:uuid}", webhook, secured=False),
        Route("/webhooks/zalo/{account_id:uuid}/", webhook, secured=False),
        Route(
            "/webhooks/zalo/{account_id:uuid}/zalo_verifier{code}.html",
            webhooks.ZaloVerifierFile(app),
            secured=False,
        ),
        Route("/api/chats", chats.Chats(services.inbox, services.clock)),
        Route("/api/chats/{chat_id:uuid}", chats.Chat(services.inbox, services.clock)),
        Route("/api/chats/{chat_id:uuid}/messages", chats.ChatMessages(app)),
        Route("/api/chats/{chat_id:uuid}/end", chats.ChatEnd(app)),
        Route("/api/chats/{chat_id:uuid}/postpone", chats.ChatPostpone(app)),
        Route("/api/chats/{chat_id:uuid}/read", chats.ChatRead(app)),
        Route(
            "/api/chats/{chat_id:uuid}/assign",
            chats.ChatAssign(app, services.inbox, services.clock),
        ),
        Route("/api/replies/{reply_id:uuid}/retry", chats.ReplyRetry(app)),
        Route("/api/tickets", tickets.Tickets(app, services.tickets)),
        Route("/api/tickets/{ticket_id:uuid}", tickets.Ticket(app, services.tickets)),
        Route("/api/tickets/{ticket_id:uuid}/messages", tickets.TicketMessages(app)),
        Route("/api/contacts", contacts.Contacts(ContactQueries(services.pool))),
        Route(
            "/api/contacts/{contact_id:uuid}",
            contacts.Contact(app, ContactQueries(services.pool)),
        ),
        Route(
            "/api/audit/{aggregate_id:uuid}",
            audit.Audit(AuditTrail(services.log), services.tokens),
        ),
        Route("/api/events", audit.Events(services.log, services.tokens)),
        Route("/api/tokens", tokens.Tokens(services.tokens)),
        Route("/api/tokens/{token_id:uuid}", tokens.Token(services.tokens)),
        Route("/api/rules", rules.Rules(app, RuleQueries(services.pool))),
        Route("/api/rules/dry-run", rules.RulesDryRun(services.log, services.clock)),
        Route("/api/rules/{rule_id:uuid}", rules.Rule(app)),
        # Public here: the stream server checks the token (a browser sends it in the query).
        Route("/api/stream", stream.StreamRedirect(settings), secured=False),
        Route("/api/stream/tokens", stream.StreamTokensResource(services.stream_tokens)),
        *console_routes(),
    ]


class CanonicalUUID(UUIDConverter):
    """Path ids as the document gives them (8-4-4-4-12 hex): any other spelling is no path."""

    def convert(self, value: str) -> UUID | None:
        return super().convert(value) if UUID_PATTERN.fullmatch(value) else None


def create_app(services: Services, accounts_cache: AccountCache) -> falcon.App[Any, Any]:
    table = routes(services, accounts_cache)
    openapi = OpenAPI()
    table += [Route(OPENAPI, openapi, secured=False), Route(DOCS, Docs(), secured=False)]
    openapi.document = spec(table)
    middleware: list[Any] = [
        RequestLog(),
        OneConnectionPerRequest(services.event_store),
        BearerAuth(services.tokens, table),
        Contract(table),
    ]
    app: falcon.App[Any, Any] = falcon.App(middleware=middleware)
    app.req_options.keep_blank_qs_values = True
    app.router_options.converters["uuid"] = CanonicalUUID
    for route in table:
        check(route)
        app.add_route(route.template, route.resource)
    errors.register(app)
    return app
