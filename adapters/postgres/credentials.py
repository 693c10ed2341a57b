"""Each account's app secret, OA secret key and token pair, in a table of their own,
encrypted with the installation's key (``adapters.credential_cipher``).

The table is bound to one key: the first process to open it records a check of its
key, and a process with another key refuses to start (``WrongCredentialKey``), so that
no host of a shared database ever writes rows the others cannot read.

A row the key still cannot open (damaged, or copied to another account) raises
``CredentialsUnreadable``: webhooks, the outbox and the admin's PATCH then treat the
account as having no credentials (it must be reconnected with all four), and an
export with secrets stops rather than leave the account out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from attrs import asdict, evolve, fields_dict, frozen
from psycopg_pool import ConnectionPool

from adapters.credential_cipher import CredentialCipher, CredentialsUnreadable, credential_cipher
from adapters.settings import Settings, SettingsError
from domain.account import fingerprint

log = logging.getLogger("zalodesk.credentials")

CREDENTIALS_DDL = (
    """CREATE TABLE IF NOT EXISTS account_credentials (
        account_id uuid PRIMARY KEY,
        sealed bytea NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE IF NOT EXISTS credential_key_check (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        key_check text NOT NULL
    )""",
)

__all__ = ["CredentialStore", "Credentials", "CredentialsUnreadable", "WrongCredentialKey"]


@frozen(repr=False)
class Credentials:
    """What the Zalo API needs of an account. Never logged, never in an event."""

    app_secret: str
    oa_secret_key: str
    access_token: str
    refresh_token: str

    @property
    def signing_key(self) -> str:
        """Zalo: the OA secret key signs webhooks; without one, the app secret does."""
        return self.oa_secret_key or self.app_secret

    @property
    def secrets_fingerprint(self) -> str:
        return fingerprint(self.app_secret, self.oa_secret_key)

    @property
    def tokens_fingerprint(self) -> str:
        return fingerprint(self.access_token, self.refresh_token)

    def with_tokens(self, access_token: str, refresh_token: str) -> Credentials:
        return evolve(self, access_token=access_token, refresh_token=refresh_token)

    def __repr__(self) -> str:
        return f"Credentials(secrets {self.secrets_fingerprint}, tokens {self.tokens_fingerprint})"

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        return cls(**{name: str(data[name]) for name in fields_dict(cls)})


class WrongCredentialKey(SettingsError):
    """This process's key is not the one the database's credentials were written with."""


class CredentialStore:
    def __init__(self, url: str, pool: ConnectionPool[Any], cipher: CredentialCipher) -> None:
        self.url = url
        self.pool = pool
        self.cipher = cipher

    def get(self, account_id: UUID) -> Credentials | None:
        """The account's credentials; None if none are stored (CredentialsUnreadable if
        the row cannot be decrypted)."""
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT sealed FROM account_credentials WHERE account_id = %s", (account_id,)
            ).fetchone()
        return None if row is None else self._opened(account_id, bytes(row[0]))

    def put(self, account_id: UUID, credentials: Credentials) -> None:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            self.write(cur, account_id, credentials)

    def write(self, cur: psycopg.Cursor[Any], account_id: UUID, credentials: Credentials) -> None:
        """Within the caller's transaction (an import writes them with the events)."""
        sealed = self.cipher.seal(account_id, json.dumps(credentials.to_json()).encode())
        cur.execute(
            """INSERT INTO account_credentials (account_id, sealed) VALUES (%s, %s)
               ON CONFLICT (account_id) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()""",
            (account_id, sealed),
        )

    def remove(self, account_id: UUID) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM account_credentials WHERE account_id = %s", (account_id,))

    def everything(self) -> list[tuple[UUID, Credentials]]:
        """Every account's credentials, by account id (CredentialsUnreadable at the first
        row this key cannot decrypt: an export never leaves one out silently)."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT account_id, sealed FROM account_credentials ORDER BY account_id"
            ).fetchall()
        return [(row[0], self._opened(row[0], bytes(row[1]))) for row in rows]

    @contextmanager
    def exclusive(self, account_id: UUID) -> Iterator[None]:
        """While held, no other process changes or refreshes this account's credentials.

        A connection of its own, outside the pool: it is held across a call to Zalo.
        """
        with psycopg.connect(self.url, autocommit=True) as lock:
            lock.execute(
                "SELECT pg_advisory_lock(hashtext(%s))", (f"zalodesk:credentials:{account_id}",)
            )
            yield

    def check_key(self) -> None:
        with self.pool.connection() as conn:
            check_key(conn, self.cipher)

    def _opened(self, account_id: UUID, sealed: bytes) -> Credentials:
        return Credentials.from_json(json.loads(self.cipher.open(account_id, sealed)))


def open_credentials(url: str, pool: ConnectionPool[Any], settings: Settings) -> CredentialStore:
    """The store with this installation's key, once the key is known to be the database's."""
    store = CredentialStore(url, pool, credential_cipher(settings))
    store.check_key()
    return store


def check_key(conn: psycopg.Connection[Any], cipher: CredentialCipher) -> None:
    """Bind the database's credentials to this key on first use; refuse any other key after."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO credential_key_check (key_check) VALUES (%s) ON CONFLICT DO NOTHING",
            (cipher.key_check,),
        )
        row = conn.execute("SELECT key_check FROM credential_key_check").fetchone()
    if row is None or row[0] != cipher.key_check:
        raise WrongCredentialKey(
            f"the account credentials in this database were encrypted with another key than "
            f"{cipher.source}: start with the key they were written with (every host of one "
            "database needs the same ZALODESK_CIPHER_KEY); if that key is lost, see README.md, "
            "'Account credentials'"
        )
