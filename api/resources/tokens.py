"""API tokens, managed by admins: list, issue (the token is shown once), revoke."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import falcon
from attrs import frozen

from adapters.api_tokens import TokenInfo, TokenStore
from adapters.timefmt import iso
from api.contract import Answer, Operation
from api.schemas.operations import IssuedToken, NewToken, TokenList


def shown(info: TokenInfo) -> dict[str, Any]:
    return {
        "id": str(info.id),
        "name": info.name,
        "admin": info.admin,
        "created_at": iso(info.created_at),
        "revoked_at": iso(info.revoked_at),
    }


@frozen
class Tokens:
    tokens: TokenStore

    @Operation("List API tokens", {200: Answer("The tokens", TokenList)}, admin=True)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"tokens": [shown(info) for info in self.tokens.list()]}

    @Operation(
        "Issue an API token; the token is shown once",
        {201: Answer("Issued", IssuedToken)},
        admin=True,
    )
    def on_post(self, req: falcon.Request, resp: falcon.Response, form: NewToken) -> None:
        issued = self.tokens.create(form.name, admin=form.admin)
        resp.status = falcon.HTTP_201
        resp.media = {**shown(issued.info), "token": issued.token}


@frozen
class Token:
    tokens: TokenStore

    @Operation("Revoke an API token", {204: Answer("Revoked")}, admin=True)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, token_id: UUID) -> None:
        if self.tokens.revoke(token_id) is None:
            raise falcon.HTTPNotFound(title="Not found", description=f"No token {token_id}.")
        resp.status = falcon.HTTP_204
