"""The HTTP app: every route, its resource, and the middleware, from parts the root built."""

from __future__ import annotations

from typing import Any

import falcon

from adapters.account_admin import AccountAdmin
from adapters.account_cache import AccountCache
from adapters.postgres.webhook_activity import WebhookActivity
from adapters.read_models.rule_queries import RuleQueries
from api import errors, json_bodies
from api.auth import BearerAuth
from api.openapi import OpenAPI, Route, spec
from api.requestlog import RequestLog
from api.resources import accounts, audit, chats, health, rules, tickets, tokens, webhooks
from api.services import Services

OPENAPI = "/openapi.json"


def routes(services: Services, accounts_cache: AccountCache) -> list[Route]:
    app, settings = services.app, services.settings
    admin = AccountAdmin(app, services.credentials)
    activity = WebhookActivity(services.pool)
    presenter = accounts.AccountPresenter(settings, activity)
    webhook = webhooks.ZaloWebhook(app, accounts_cache, activity)
    return [
        Route("/healthz", health.Health(), {"GET": "Process alive"}, secured=False),
        Route(
            "/readyz",
            health.Ready(services.behind, services.stalled, services.set_aside),
            {"GET": "Store reachable, views caught up"},
            False,
        ),
        Route(
            "/metrics",
            health.Metrics(services.metrics_figures),
            {"GET": "Prometheus metrics"},
            secured=False,
        ),
        Route(
            "/api/accounts",
            accounts.Accounts(admin, services.accounts, presenter, settings),
            {"GET": "List accounts (admin)", "POST": "Connect an Official Account (admin)"},
        ),
        Route(
            "/api/accounts/{account_id:uuid}",
            accounts.Account(app, admin, presenter, accounts_cache),
            {"GET": "One account", "PATCH": "Change an account", "DELETE": "Remove an account"},
        ),
        Route(
            "/webhooks/zalo/{account_id:uuid}",
            webhook,
            {"POST": "Zalo webhook", "GET": "Domain verification page"},
            secured=False,
        ),
        Route(
            "/webhooks/zalo/{account_id:uuid}/",
            webhook,
            {"POST": "Zalo webhook", "GET": "Domain verification page"},
            secured=False,
        ),
        Route(
            "/webhooks/zalo/{account_id:uuid}/zalo_verifier{code}.html",
            webhooks.ZaloVerifierFile(app),
            {"GET": "Domain verification file"},
            secured=False,
        ),
        Route("/api/chats", chats.Chats(services.inbox, services.clock), {"GET": "The chat inbox"}),
        Route(
            "/api/chats/{chat_id:uuid}",
            chats.Chat(services.inbox, services.clock),
            {"GET": "One chat with its messages"},
        ),
        Route(
            "/api/chats/{chat_id:uuid}/messages",
            chats.ChatMessages(app),
            {"POST": "Queue a reply (reactivates an ended chat's ticket)"},
        ),
        Route("/api/chats/{chat_id:uuid}/end", chats.ChatEnd(app), {"POST": "End the chat"}),
        Route(
            "/api/chats/{chat_id:uuid}/postpone",
            chats.ChatPostpone(app),
            {"POST": "Move the automatic end 5 minutes later"},
        ),
        Route("/api/chats/{chat_id:uuid}/read", chats.ChatRead(app), {"POST": "Mark as read"}),
        Route(
            "/api/tickets",
            tickets.Tickets(app, services.tickets),
            {"GET": "The ticket list", "POST": "Open an asynchronous ticket"},
        ),
        Route(
            "/api/tickets/{ticket_id:uuid}",
            tickets.Ticket(app, services.tickets),
            {"GET": "One ticket with its transcript", "PATCH": "Change status, assignee, tags"},
        ),
        Route(
            "/api/audit/{aggregate_id:uuid}",
            audit.Audit(services.log, services.tokens),
            {
                "GET": "The timeline of a ticket (with its chats and replies), chat, contact or account"
            },
        ),
        Route(
            "/api/events",
            audit.Events(services.log, services.tokens),
            {"GET": "The event log (admin)"},
        ),
        Route(
            "/api/tokens",
            tokens.Tokens(services.tokens),
            {"GET": "List API tokens (admin)", "POST": "Issue an API token (admin)"},
        ),
        Route(
            "/api/tokens/{token_id:uuid}",
            tokens.Token(services.tokens),
            {"DELETE": "Revoke an API token (admin)"},
        ),
        Route(
            "/api/tickets/{ticket_id:uuid}/messages",
            tickets.TicketMessages(app),
            {"POST": "Write on a ticket (reactivates a chat ticket)"},
        ),
        *rule_routes(services),
    ]


def rule_routes(services: Services) -> list[Route]:
    app = services.app
    return [
        Route(
            "/api/rules",
            rules.Rules(app, RuleQueries(services.pool)),
            {"GET": "List automation rules (admin)", "POST": "Make an automation rule (admin)"},
        ),
        Route(
            "/api/rules/dry-run",
            rules.RulesDryRun(services.log, services.clock),
            {"POST": "What a rule would have done on the history, acting on nothing (admin)"},
        ),
        Route(
            "/api/rules/{rule_id:uuid}",
            rules.Rule(app),
            {
                "GET": "One automation rule (admin)",
                "PATCH": "Change an automation rule (admin)",
                "DELETE": "Delete an automation rule (admin)",
            },
        ),
    ]


def create_app(services: Services, accounts_cache: AccountCache) -> falcon.App[Any, Any]:
    table = routes(services, accounts_cache)
    public = [route.template for route in table if not route.secured] + [OPENAPI]
    middleware: list[Any] = [RequestLog(), BearerAuth(services.tokens, public)]
    app: falcon.App[Any, Any] = falcon.App(middleware=middleware)
    app.req_options.media_handlers = json_bodies.media_handlers()
    for route in table:
        app.add_route(route.template, route.resource)
    app.add_route(OPENAPI, OpenAPI(spec(table)))
    errors.register(app)
    return app
