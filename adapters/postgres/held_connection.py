"""One connection for all the event store's queries of a request, on the thread serving it.

A webhook reads three aggregates and writes its events: four checkouts from the pool, each
with its checks and the library's type registration, were about a tenth of its CPU. While
a thread holds, the first query takes a connection the usual way and keeps it; the
following ones reuse it; ``release`` gives it back. A connection that fails while held is
given back at once, so that the library's retry takes a fresh one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.postgres import PostgresDatastore

# psycopg's errors as the library's ``get_connection`` turns them into its own: most
# specific first.
LIBRARY_ERRORS: tuple[tuple[type[psycopg.Error], type[Exception]], ...] = (
    (psycopg.InterfaceError, persistence.InterfaceError),
    (psycopg.OperationalError, persistence.OperationalError),
    (psycopg.DataError, persistence.DataError),
    (psycopg.IntegrityError, persistence.IntegrityError),
    (psycopg.InternalError, persistence.InternalError),
    (psycopg.ProgrammingError, persistence.ProgrammingError),
    (psycopg.NotSupportedError, persistence.NotSupportedError),
    (psycopg.DatabaseError, persistence.DatabaseError),
    (psycopg.Error, persistence.PersistenceError),
)


class _Held(threading.local):
    holding: bool = False
    connection: Any = None
    checkout: contextlib.ExitStack | None = None


class HeldConnections(PostgresDatastore):
    """A datastore whose threads can hold one connection across queries."""

    def __init__(self, library: PostgresDatastore) -> None:
        """The datastore the library's factory made, with every setting it read from the
        environment (the library's constructor is not run again: it would take them all
        one by one, and drop any that a newer library adds)."""
        vars(self).update(vars(library))
        self._held = _Held()

    def hold(self) -> None:
        self._held.holding = True

    def release(self) -> None:
        self._held.holding = False
        self._give_back()

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[psycopg.Connection[Any]]:
        held = self._held
        if not held.holding:
            with super().get_connection() as conn:
                yield conn
            return
        if held.connection is None:
            checkout = contextlib.ExitStack()
            held.connection = checkout.enter_context(super().get_connection())
            held.checkout = checkout
        try:
            yield held.connection
        except psycopg.Error as error:
            if isinstance(error, psycopg.InterfaceError | psycopg.OperationalError):
                self._give_back()
            raise _library_error(error) from error

    def _give_back(self) -> None:
        held = self._held
        checkout, held.connection, held.checkout = held.checkout, None, None
        if checkout is not None:
            checkout.close()


def _library_error(error: psycopg.Error) -> Exception:
    for theirs, ours in LIBRARY_ERRORS:
        if isinstance(error, theirs):
            return ours(str(error))
    return persistence.PersistenceError(str(error))
