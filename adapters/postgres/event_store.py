"""The event store: the eventsourcing Application on PostgreSQL, and its tables.

The library's PostgreSQL parts, made to ride out a database outage: the application is
built while the database is away, each query fails at once when it cannot be made
(the library retries ten times), and the connections recover as ``ResilientPool`` does.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import Environment, EnvType, get_topic
from psycopg.sql import SQL, Composed

from adapters.postgres.connection import (
    OUTAGE_LIMITS,
    WORKER_PROCESS,
    Connections,
    eventsourcing_env,
)
from adapters.postgres.held_connection import HeldConnections
from adapters.postgres.pools import ResilientPool
from domain.application import Zalodesk
from domain.clock import Clock, system_clock

AT_ONCE_SECONDS = 0.25


def _select_events(
    self: StatementsOnce,
    originator_id: UUID | str,
    *,
    gt: int | None = None,
    lte: int | None = None,
    desc: bool = False,
    limit: int | None = None,
) -> Sequence[StoredEvent]:
    """The library's ``select_events``, its statement composed once per shape rather than
    on every call: composing and rendering it was a tenth of a webhook's CPU (every webhook
    reads three aggregates)."""
    shape = (gt is not None, lte is not None, desc, limit is not None)
    statements = self._statements
    params: list[Any] = [originator_id]
    params += [value for value in (gt, lte) if value is not None]
    params += [limit] if limit is not None else []
    with self.datastore.get_connection() as conn, conn.cursor() as curs:
        statement = statements.get(shape)
        if statement is None:
            statement = statements[shape] = _select_statement(self, shape).as_bytes(conn)
        curs.execute(statement, params, prepare=True)
        return [
            StoredEvent(
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in curs.fetchall()
        ]


def _select_statement(recorder: PostgresAggregateRecorder, shape: tuple[bool, ...]) -> Composed:
    gt, lte, desc, limit = shape
    statement = recorder.select_events_statement
    if gt:
        statement += SQL(" AND originator_version > %s")
    if lte:
        statement += SQL(" AND originator_version <= %s")
    statement += SQL(" ORDER BY originator_version") + SQL(" DESC" if desc else " ASC")
    if limit:
        statement += SQL(" LIMIT %s")
    return statement


def _briefly(library_method: Any) -> Any:
    """The library's method, tried once more only after a failure that came at once.

    The library tries ten times, 0.2 s apart, whatever the failure: 12 s and more while
    the database is away. A connection that failed at once had gone stale, and another
    may work; one that failed after a wait (for a connection from the pool, or for an
    answer on a path that went silent) means the database is away: answer that now.
    """
    # The method itself, under the library's retries (our own methods have none).
    attempt = getattr(library_method, "__wrapped__", library_method)

    @functools.wraps(attempt)
    def method(self: PostgresAggregateRecorder, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return _with_types(self, attempt, *args, **kwargs)
        except (InterfaceError, OperationalError):
            if time.monotonic() - started > AT_ONCE_SECONDS:
                raise
            return _with_types(self, attempt, *args, **kwargs)

    return method


def _with_types(recorder: PostgresAggregateRecorder, attempt: Any, *args: Any, **kw: Any) -> Any:
    # The stored-event type, if the database was away when the recorder was made: looked
    # up once the database answers, then never again (the library would look for a type
    # it does not find, the one only its database functions use, on every call).
    datastore = recorder.datastore
    if not getattr(datastore, "types_looked_up", False):
        PostgresDatastore.register_type_adapters(datastore)
        datastore.types_looked_up = True  # type: ignore[attr-defined]
    return attempt(recorder, *args, **kw)


class StatementsOnce(PostgresAggregateRecorder):
    """A recorder whose ``select_events`` keeps its rendered statements (one per shape)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._statements: dict[tuple[bool, ...], bytes] = {}

    select_events = _briefly(_select_events)


class QuietRecorder(StatementsOnce, PostgresApplicationRecorder):
    """The log, without the library's NOTIFY on every insert.

    Nothing listens on the library's channel (the projector polls; the live stream listens
    on the projector's own, once a batch), and a NOTIFY takes a lock at commit that
    serialises every committing transaction in the database.
    """

    insert_events = _briefly(PostgresApplicationRecorder.insert_events)
    select_notifications = _briefly(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _briefly(PostgresApplicationRecorder.max_notification_id)

    def _notify_channel(self, curs: Any) -> None:
        return None


class SnapshotRecorder(StatementsOnce):
    insert_events = _briefly(PostgresAggregateRecorder.insert_events)


class Datastore(HeldConnections):
    """The library's datastore, as its factory configured it, on a ``ResilientPool``; it
    lets the recorders be made while the database is away, and a thread hold one
    connection for a request (``HeldConnections``)."""

    def __init__(self, library: PostgresDatastore) -> None:
        super().__init__(library)
        pool = library.pool
        self.pool = ResilientPool(
            connection_class=pool.connection_class,
            kwargs={**cast(dict[str, Any], pool.kwargs), **OUTAGE_LIMITS},
            min_size=pool.min_size,
            max_size=pool.max_size,
            open=False,
            configure=self.after_connect_func(),
            max_waiting=pool.max_waiting,
            max_lifetime=pool.max_lifetime,
            get_password_func=pool.get_password_func,
        )

    def register_type_adapters(self) -> None:
        """The library's lookup of the stored-event type as each recorder is made: while
        the database is away, it is left for the recorder's first query."""
        with contextlib.suppress(InterfaceError, OperationalError):
            super().register_type_adapters()


class EventStoreFactory(PostgresFactory):
    """The library's PostgreSQL factory with the recorders and the datastore above."""

    application_recorder_class = QuietRecorder
    aggregate_recorder_class = SnapshotRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self.datastore = Datastore(self.datastore)


FACTORY = {"PERSISTENCE_MODULE": get_topic(EventStoreFactory)}


def open_application(
    url: str,
    cipher_key: str | None,
    clock: Clock = system_clock,
    default_timeout: int = 600,
    connections: Connections = WORKER_PROCESS,
) -> Zalodesk:
    """Opens a connection pool: call it in the process that will use it (after fork)."""
    env = {**eventsourcing_env(url, cipher_key, connections), **FACTORY}
    return Zalodesk(env=env, clock=clock, default_timeout=default_timeout)


def datastore_of(app: Zalodesk) -> Datastore:
    """The datastore under the application's log, as ``open_application`` made it."""
    datastore = getattr(app.recorder, "datastore", None)
    assert isinstance(datastore, Datastore), "the application was not opened here"
    return datastore


def create_event_store_tables(url: str) -> None:
    """Create the log and snapshot tables once, before any worker opens the store."""
    env = {**eventsourcing_env(url), "CREATE_TABLE": "y"}
    factory = PostgresFactory(Environment(name=Zalodesk.name, env=env))
    try:
        factory.application_recorder()
        factory.aggregate_recorder(purpose="snapshots")
    finally:
        factory.close()
