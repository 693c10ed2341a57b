"""API tokens, managed by admins: list, issue (the token is shown once), revoke."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import falcon

from adapters.api_tokens import TokenInfo, TokenStore
from adapters.timefmt import iso
from api import bodies


def shown(info: TokenInfo) -> dict[str, Any]:
    return {
        "id": str(info.id),
        "name": info.name,
        "admin": info.admin,
        "created_at": iso(info.created_at),
        "revoked_at": iso(info.revoked_at),
    }


class Tokens:
    admin_only = True

    def __init__(self, tokens: TokenStore) -> None:
        self.tokens = tokens

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"tokens": [shown(info) for info in self.tokens.list()]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = bodies.json_object(req)
        issued = self.tokens.create(
            bodies.text(body, "name"), admin=bodies.boolean(body, "admin", False)
        )
        resp.status = falcon.HTTP_201
        resp.media = {**shown(issued.info), "token": issued.token}


class Token:
    admin_only = True

    def __init__(self, tokens: TokenStore) -> None:
        self.tokens = tokens

    def on_delete(self, req: falcon.Request, resp: falcon.Response, token_id: UUID) -> None:
        if self.tokens.revoke(token_id) is None:
            raise falcon.HTTPNotFound(title="Not found", description=f"No token {token_id}.")
        resp.status = falcon.HTTP_204
