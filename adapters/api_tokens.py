"""API tokens: only a hash of each is stored; the token itself is shown once."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from attrs import frozen
from psycopg_pool import ConnectionPool

TOKENS_DDL = """CREATE TABLE IF NOT EXISTS api_tokens (
    token_hash text PRIMARY KEY,
    name text NOT NULL,
    admin boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)"""


@frozen
class Principal:
    name: str
    admin: bool

    @property
    def actor(self) -> str:
        return f"agent:{self.name}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, pool: ConnectionPool[Any], admin_token: str | None = None) -> None:
        self.pool = pool
        self.admin_token = admin_token

    def create(self, name: str, admin: bool) -> str:
        token = f"zd_{secrets.token_urlsafe(32)}"
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO api_tokens (token_hash, name, admin) VALUES (%s, %s, %s)",
                (token_hash(token), name, admin),
            )
        return token

    def authenticate(self, token: str) -> Principal | None:
        if self.admin_token and secrets.compare_digest(token, self.admin_token):
            return Principal(name="admin", admin=True)
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT name, admin FROM api_tokens WHERE token_hash = %s", (token_hash(token),)
            ).fetchone()
        return Principal(name=row[0], admin=row[1]) if row else None
