"""Bearer tokens: decided on the route that matched, never on the text of the path.

Every route needs a valid token unless the route table marks it public, so no spelling
of a path (extra slashes, percent-encoding, a trailing slash) reaches a protected
resource without one: 401 without a valid token, 403 for admin-only calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import falcon

from adapters.api_tokens import Principal, TokenStore


class BearerAuth:
    def __init__(self, tokens: TokenStore, public_templates: Iterable[str]) -> None:
        self.tokens = tokens
        self.public = frozenset(public_templates)

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        if resource is None or req.uri_template in self.public:
            return
        principal = self._principal(req)
        if getattr(resource, "admin_only", False) and not principal.admin:
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
