"""The ``zalodesk`` command (API.md): one clear line on standard error when something fails."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import OperationalError as StoreUnavailable

from adapters import json_logs as logs
from adapters.postgres.connection import redacted
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.postgres.schema import prepare
from adapters.settings import Settings, SettingsError
from api import cli_ops
from api.server import GunicornServer, default_workers, gunicorn_options


class CommandError(Exception):
    """Ends the command with this message and a non-zero status."""


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure()
    try:
        return int(args.run(args) or 0)
    except (CommandError, SettingsError) as ex:
        print(f"zalodesk: {ex}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="zalodesk", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    for name, run, help_text in (
        ("serve", serve, "the HTTP API and the background workers, in one command"),
        ("api", api, "only the HTTP API under gunicorn"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT to listen on")
        command.add_argument("--workers", type=int, default=default_workers())
        command.add_argument(
            "--threads", type=int, default=1, help="threads per worker (1: gunicorn's sync worker)"
        )
        command.set_defaults(run=run)

    commands.add_parser("worker", help="only the background workers").set_defaults(run=worker)

    token = commands.add_parser("token", help="API tokens").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", help="issue an API token; it is printed once")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="may manage accounts and rules")
    create.set_defaults(run=token_create)
    cli_ops.register(commands)
    return root


class Database:
    """The database URL for this process, starting the embedded server when none is set."""

    def __init__(self, settings: Settings) -> None:
        self.embedded: EmbeddedPostgres | None = None
        if settings.database_url:
            self.url = settings.database_url
        else:
            self.embedded = EmbeddedPostgres(settings.data_dir)
            self.url = self.embedded.url
        try:
            prepare(self.url, settings.cipher_key, cli_ops.Progress(in_place=False))
        except (psycopg.OperationalError, StoreUnavailable) as ex:
            self.stop()
            reason = (str(ex).strip().splitlines() or [type(ex).__name__])[0]
            raise CommandError(f"cannot use the database {redacted(self.url)}: {reason}") from None

    def share(self) -> None:
        """Children (gunicorn workers, the worker process) use the same server."""
        os.environ["ZALODESK_DATABASE_URL"] = self.url

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def serve(args: argparse.Namespace) -> int:
    return run_http(args, with_worker=True)


def api(args: argparse.Namespace) -> int:
    return run_http(args, with_worker=False)


def run_http(args: argparse.Namespace, with_worker: bool) -> int:
    settings = Settings.from_env()
    database = Database(settings)
    database.share()
    metrics_dir(settings.data_dir)
    children: list[subprocess.Popen[Any]] = []
    if with_worker:
        # Its own session: Ctrl-C reaches gunicorn, whose exit hook stops the worker in order.
        env = {**os.environ, "ZALODESK_PARENT_PID": str(os.getpid())}
        worker_cmd = [sys.executable, "-m", "api", "worker"]
        children.append(subprocess.Popen(worker_cmd, env=env, start_new_session=True))

    def on_exit() -> None:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=15)
        database.stop()

    print(
        f"zalodesk: serving on http://{args.bind} with {args.workers} workers, "
        f"database {redacted(database.url)}",
        file=sys.stderr,
    )
    GunicornServer(gunicorn_options(args.bind, args.workers, args.threads), on_exit).run()
    return 0


def worker(args: argparse.Namespace) -> int:
    from adapters.workers.processors import run_processors

    settings = Settings.from_env()
    database = Database(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    watch_parent(stop)
    try:
        run_processors(database.url, settings, stop)
    finally:
        database.stop()
    return 0


def watch_parent(stop: threading.Event) -> None:
    """Under ``zalodesk serve``: stop if the serving process dies without stopping us."""
    parent = os.environ.get("ZALODESK_PARENT_PID")
    if not parent:
        return

    def watch() -> None:
        while not stop.wait(1.0):
            if os.getppid() != int(parent):
                stop.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def token_create(args: argparse.Namespace) -> int:
    from psycopg_pool import ConnectionPool

    from adapters.api_tokens import TokenStore

    name = args.name.strip()
    if not name:
        raise CommandError("a token needs a name")
    database = Database(Settings.from_env())
    pool: ConnectionPool[Any] = ConnectionPool(database.url, min_size=1, max_size=1, open=True)
    try:
        print(TokenStore(pool).create(name, admin=args.admin))
    finally:
        pool.close()
        database.stop()
    return 0


def metrics_dir(data_dir: Path) -> None:
    """Prometheus counters shared by all gunicorn workers; emptied at each start."""
    folder = data_dir.resolve() / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
