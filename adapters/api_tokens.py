"""API tokens: each has an id and a name; only a hash of the token itself is stored, and it is
shown once. A revoked token is refused from the next request on, by every worker (nothing
about tokens is kept in a process)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from attrs import frozen
from psycopg_pool import ConnectionPool

from domain import actors

TOKENS_DDL = (
    """CREATE TABLE IF NOT EXISTS api_tokens (
        token_hash text PRIMARY KEY,
        name text NOT NULL,
        admin boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    "ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS token_id uuid NOT NULL DEFAULT gen_random_uuid()",
    "ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS revoked_at timestamptz",
    "CREATE UNIQUE INDEX IF NOT EXISTS api_tokens_by_id ON api_tokens (token_id)",
    # Short-lived tokens for opening live streams (a browser's EventSource sends no header).
    """CREATE TABLE IF NOT EXISTS stream_tokens (
        token_hash text PRIMARY KEY,
        token_id text NOT NULL,
        expires_at timestamptz NOT NULL
    )""",
)
# The token of ZALODESK_ADMIN_TOKEN: not stored, and named as what it is.
BOOTSTRAP_ID = "admin"
BOOTSTRAP_NAME = "ZALODESK_ADMIN_TOKEN"


@frozen
class Principal:
    token_id: str
    name: str
    admin: bool

    @property
    def actor(self) -> str:
        """The token's id, never its name: two agents may share a name."""
        return actors.agent(self.token_id)


@frozen
class TokenInfo:
    id: UUID
    name: str
    admin: bool
    created_at: datetime
    revoked_at: datetime | None


@frozen
class IssuedToken:
    info: TokenInfo
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, pool: ConnectionPool[Any], admin_token: str | None = None) -> None:
        self.pool = pool
        self.admin_token = admin_token

    def create(self, name: str, admin: bool) -> IssuedToken:
        token = f"zd_{secrets.token_urlsafe(32)}"
        token_id = uuid4()
        with self.pool.connection() as conn:
            row = conn.execute(
                """INSERT INTO api_tokens (token_id, token_hash, name, admin)
                   VALUES (%s, %s, %s, %s) RETURNING created_at""",
                (token_id, token_hash(token), name, admin),
            ).fetchone()
        assert row is not None
        return IssuedToken(TokenInfo(token_id, name, admin, row[0], None), token)

    def authenticate(self, token: str) -> Principal | None:
        if self.admin_token and secrets.compare_digest(token, self.admin_token):
            return Principal(BOOTSTRAP_ID, BOOTSTRAP_NAME, admin=True)
        with self.pool.connection() as conn:
            row = conn.execute(
                """SELECT token_id, name, admin FROM api_tokens
                   WHERE token_hash = %s AND revoked_at IS NULL""",
                (token_hash(token),),
            ).fetchone()
        return Principal(str(row[0]), row[1], row[2]) if row else None

    def list(self) -> list[TokenInfo]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                """SELECT token_id, name, admin, created_at, revoked_at FROM api_tokens
                   ORDER BY created_at, token_id"""
            ).fetchall()
        return [TokenInfo(*row) for row in rows]

    def revoke(self, token_id: UUID) -> TokenInfo | None:
        """The token as it is now revoked (at its first revocation's time); None if unknown."""
        with self.pool.connection() as conn:
            row = conn.execute(
                """UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now())
                   WHERE token_id = %s
                   RETURNING token_id, name, admin, created_at, revoked_at""",
                (token_id,),
            ).fetchone()
        return TokenInfo(*row) if row else None

    def actor_names(self) -> dict[str, str]:
        """Each agent actor (``agent:<token id>``) with the name of its token, for people."""
        names = {actors.agent(BOOTSTRAP_ID): BOOTSTRAP_NAME}
        names.update({actors.agent(str(t.id)): t.name for t in self.list()})
        return names


@frozen
class StreamToken:
    token: str
    expires_at: datetime


STREAM_TOKEN_LIFETIME = timedelta(minutes=5)


class StreamTokens:
    """Tokens that open live streams for a few minutes, issued to an API token's holder:
    refused once expired, or once the API token they were issued to is revoked."""

    def __init__(
        self, pool: ConnectionPool[Any], lifetime: timedelta = STREAM_TOKEN_LIFETIME
    ) -> None:
        self.pool = pool
        self.lifetime = lifetime

    def issue(self, principal: Principal) -> StreamToken:
        token = f"zds_{secrets.token_urlsafe(32)}"
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM stream_tokens WHERE expires_at < now()")
            row = conn.execute(
                """INSERT INTO stream_tokens (token_hash, token_id, expires_at)
                   VALUES (%s, %s, now() + %s) RETURNING expires_at""",
                (token_hash(token), principal.token_id, self.lifetime),
            ).fetchone()
        assert row is not None
        return StreamToken(token, row[0])

    def authenticate(self, token: str) -> Principal | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                """SELECT s.token_id, coalesce(a.name, %s), coalesce(a.admin, true)
                   FROM stream_tokens s LEFT JOIN api_tokens a ON a.token_id::text = s.token_id
                   WHERE s.token_hash = %s AND s.expires_at > now()
                     AND a.revoked_at IS NULL AND (a.token_id IS NOT NULL OR s.token_id = %s)""",
                (BOOTSTRAP_NAME, token_hash(token), BOOTSTRAP_ID),
            ).fetchone()
        return Principal(str(row[0]), row[1], row[2]) if row else None
