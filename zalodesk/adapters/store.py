"""The event store: the eventsourcing Application on PostgreSQL, and its tables."""

from __future__ import annotations

from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment

from zalodesk.adapters.database import eventsourcing_env
from zalodesk.domain.application import Zalodesk
from zalodesk.domain.clock import Clock, system_clock


def open_application(
    url: str, cipher_key: str | None, clock: Clock = system_clock, default_timeout: int = 600
) -> Zalodesk:
    """Opens a connection pool: call it in the process that will use it (after fork)."""
    return Zalodesk(
        env=eventsourcing_env(url, cipher_key), clock=clock, default_timeout=default_timeout
    )


def create_event_store_tables(url: str) -> None:
    """Create the log and snapshot tables once, before any worker opens the store."""
    env = {**eventsourcing_env(url), "CREATE_TABLE": "y"}
    factory = PostgresFactory(Environment(name=Zalodesk.name, env=env))
    try:
        factory.application_recorder()
        factory.aggregate_recorder(purpose="snapshots")
    finally:
        factory.close()
