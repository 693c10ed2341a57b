"""Bearer tokens: decided on the route that matched, never on the text of the path.

Every route needs a valid token unless the route table marks it public, so no spelling
of a path (extra slashes, percent-encoding, a trailing slash) reaches a protected
resource without one: 401 without a valid token, 403 for an operation marked admin-only
(api/contract.py), by the route and the method that matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import falcon

from adapters.api_tokens import Principal, TokenStore
from api.contract import Route, by_route


class BearerAuth:
    def __init__(self, tokens: TokenStore, routes: Sequence[Route]) -> None:
        self.tokens = tokens
        self.public = frozenset(route.template for route in routes if not route.secured)
        self.admin_only = frozenset(
            matched for matched, operation in by_route(routes).items() if operation.admin
        )

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        if resource is None or req.uri_template in self.public:
            return
        principal = self._principal(req)
        if (req.uri_template, req.method) in self.admin_only and not principal.admin:
            raise falcon.HTTPForbidden(
                title="Admin only", description="This call needs an admin token."
            )
        req.context.principal = principal

    def _principal(self, req: falcon.Request) -> Principal:
        scheme, _, token = (req.get_header("Authorization") or "").strip().partition(" ")
        bearer = scheme.lower() == "bearer"
        principal = self.tokens.authenticate(token.strip()) if bearer else None
        if principal is None:
            raise falcon.HTTPUnauthorized(
                title="Unauthorized",
                description="Send Authorization: Bearer <token> with a valid API token.",
                challenges=["Bearer"],
            )
        return principal
