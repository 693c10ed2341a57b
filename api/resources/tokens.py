"""API tokens, managed by admins: list, issue (the token is shown once), revoke."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

import falcon

from adapters.api_tokens import TokenInfo, TokenStore
from adapters.timefmt import iso
from api.contract import Answer, Operation, Operations, body
from api.schemas.operations import IssuedToken, NewToken, TokenList


def shown(info: TokenInfo) -> dict[str, Any]:
    return {
        "id": str(info.id),
        "name": info.name,
        "admin": info.admin,
        "created_at": iso(info.created_at),
        "revoked_at": iso(info.revoked_at),
    }


@dataclass(frozen=True)
class Tokens:
    admin_only = True
    operations: ClassVar[Operations] = {
        "GET": Operation("List API tokens (admin)", {200: Answer("The tokens", TokenList)}),
        "POST": Operation(
            "Issue an API token (admin); the token is shown once",
            {201: Answer("Issued", IssuedToken)},
            body=NewToken,
        ),
    }

    tokens: TokenStore

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"tokens": [shown(info) for info in self.tokens.list()]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = body(req, NewToken)
        issued = self.tokens.create(form.name, admin=form.admin)
        resp.status = falcon.HTTP_201
        resp.media = {**shown(issued.info), "token": issued.token}


@dataclass(frozen=True)
class Token:
    admin_only = True
    operations: ClassVar[Operations] = {
        "DELETE": Operation("Revoke an API token (admin)", {204: Answer("Revoked")})
    }

    tokens: TokenStore

    def on_delete(self, req: falcon.Request, resp: falcon.Response, token_id: UUID) -> None:
        if self.tokens.revoke(token_id) is None:
            raise falcon.HTTPNotFound(title="Not found", description=f"No token {token_id}.")
        resp.status = falcon.HTTP_204
