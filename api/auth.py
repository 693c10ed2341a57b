"""Bearer tokens for everything under /api/: 401 without a valid one, 403 for admin-only calls."""

from __future__ import annotations

from typing import Any

import falcon

from adapters.api_tokens import Principal, TokenStore


class BearerAuth:
    def __init__(self, tokens: TokenStore) -> None:
        self.tokens = tokens

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        if not req.path.startswith("/api/"):
            return
        principal = self._principal(req)
        if getattr(resource, "admin_only", False) and not principal.admin:
            raise falcon.HTTPForbidden(
                title="Admin only", description="This call needs an admin token."
            )
        req.context.principal = principal

    def _principal(self, req: falcon.Request) -> Principal:
        scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
        principal = self.tokens.authenticate(token.strip()) if scheme == "Bearer" else None
        if principal is None:
            raise falcon.HTTPUnauthorized(
                title="Unauthorized",
                description="Send Authorization: Bearer <token> with a valid API token.",
                challenges=["Bearer"],
            )
        return principal
