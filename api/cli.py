"""The ``zalodesk`` command (API.md): one clear line on standard error when something fails."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

from adapters import json_logs as logs
from adapters import metrics_folder
from adapters.postgres.connection import redacted
from adapters.settings import Settings, SettingsError
from api import bootstrap, cli_ops
from api.console import CommandError
from api.server import GunicornServer, default_workers, gunicorn_options
from api.supervisor import Supervised


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure()
    try:
        return int(args.run(args) or 0)
    except (CommandError, SettingsError, bootstrap.StartupError) as ex:
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


def serve(args: argparse.Namespace) -> int:
    return run_http(args, with_worker=True)


def api(args: argparse.Namespace) -> int:
    return run_http(args, with_worker=False)


def run_http(args: argparse.Namespace, with_worker: bool) -> int:
    settings = Settings.from_env()
    database = bootstrap.open_database(settings)
    # Children (gunicorn workers, the worker process) use the same server.
    os.environ["ZALODESK_DATABASE_URL"] = database.url
    metrics_folder.start_fresh(settings.data_dir)
    children: list[Supervised] = []
    if with_worker:
        env = {**os.environ, "ZALODESK_PARENT_PID": str(os.getpid())}
        children.append(Supervised("worker", [sys.executable, "-m", "api", "worker"], env))
    for child in children:
        child.start()

    def on_exit() -> None:
        for child in children:
            child.stop()
        database.stop()

    print(
        f"zalodesk: serving on http://{args.bind} with {args.workers} workers, "
        f"database {redacted(database.url)}",
        file=sys.stderr,
    )
    GunicornServer(gunicorn_options(args.bind, args.workers, args.threads), on_exit).run()
    return 0


def worker(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    # Prepared by run_workers once the database answers: this may start during an outage.
    database = bootstrap.open_database(settings, prepare_now=False)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    watch_parent(stop)
    try:
        bootstrap.run_workers(settings, database.url, stop)
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
    name = args.name.strip()
    if not name:
        raise CommandError("a token needs a name")
    with cli_ops.opened() as services:
        print(services.tokens.create(name, admin=args.admin))
    return 0
