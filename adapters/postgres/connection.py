"""Connection strings: a database on a server, creating it, and the event store's settings."""

from __future__ import annotations

import logging
import os

import psycopg
from attrs import frozen
from psycopg.conninfo import conninfo_to_dict, make_conninfo

log = logging.getLogger(__name__)

# libpq's limits on every connection, so a server that went away is noticed in about a
# second: at once when it refuses, by unacknowledged data or keepalive probes when its
# network path went silent. (libpq's own default is to wait for ever.)
OUTAGE_LIMITS = {
    "connect_timeout": "2",  # libpq's least
    "keepalives": "1",
    "keepalives_idle": "1",
    "keepalives_interval": "1",
    "tcp_user_timeout": "1000",  # ms; also ends keepalive probing that gets no answer
}


def with_database(url: str, dbname: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo("", **params)


def with_outage_limits(url: str) -> str:
    """The URL with ``OUTAGE_LIMITS``, except those it sets itself."""
    return make_conninfo("", **{**OUTAGE_LIMITS, **conninfo_to_dict(url)})


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


@frozen
class Connections:
    """How many connections one process may hold: its own pool, and the event store's
    (``store`` kept open, ``store_overflow`` more when busy)."""

    pool: int = 8
    store: int = 4
    store_overflow: int = 4

    @property
    def most(self) -> int:
        return self.pool + self.store + self.store_overflow


# The worker process: the outbox sends on 16 threads, beside the projector and the rest.
WORKER_PROCESS = Connections()


def web_worker(threads: int) -> Connections:
    """A gunicorn worker answers ``threads`` requests at once, each using one connection
    of each pool at a time: a sync worker needs one of each (and one spare)."""
    return Connections(pool=threads + 1, store=1, store_overflow=threads)


def eventsourcing_env(
    url: str, cipher_key: str | None = None, connections: Connections = WORKER_PROCESS
) -> dict[str, str]:
    """The eventsourcing library's PostgreSQL settings for a libpq URL."""
    params = conninfo_to_dict(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or os.environ.get("USER", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(connections.store),
        "POSTGRES_MAX_OVERFLOW": str(connections.store_overflow),
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
