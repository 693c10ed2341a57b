"""The event store: the eventsourcing Application on PostgreSQL, and its tables."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.utils import Environment, get_topic

from adapters.postgres.connection import eventsourcing_env
from domain.application import Zalodesk
from domain.clock import Clock, system_clock


class QuietRecorder(PostgresApplicationRecorder):
    """The library's recorder without its NOTIFY on every insert.

    Nothing here listens (the projector polls), and a NOTIFY takes a lock at commit
    that serialises every committing transaction in the database.
    """

    def _notify_channel(self, curs: Any) -> None:
        return None


RECORDER = {"APPLICATION_RECORDER_TOPIC": get_topic(QuietRecorder)}


def open_application(
    url: str, cipher_key: str | None, clock: Clock = system_clock, default_timeout: int = 600
) -> Zalodesk:
    """Opens a connection pool: call it in the process that will use it (after fork)."""
    env = {**eventsourcing_env(url, cipher_key), **RECORDER}
    return Zalodesk(env=env, clock=clock, default_timeout=default_timeout)


def create_event_store_tables(url: str) -> None:
    """Create the log and snapshot tables once, before any worker opens the store."""
    env = {**eventsourcing_env(url), "CREATE_TABLE": "y"}
    factory = PostgresFactory(Environment(name=Zalodesk.name, env=env))
    try:
        factory.application_recorder()
        factory.aggregate_recorder(purpose="snapshots")
    finally:
        factory.close()
