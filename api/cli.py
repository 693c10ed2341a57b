"""The ``zalodesk`` command: one clear line on standard error when something fails."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from importlib import metadata

from adapters import json_logs as logs
from adapters import metrics_folder
from adapters.postgres.connection import redacted
from adapters.postgres.embedded import EmbeddedPostgres
from adapters.settings import DEFAULT_STREAM_BIND, Settings, SettingsError, next_port
from adapters.timefmt import iso
from api import bootstrap, cli_ops, cli_rules
from api.console import ENVIRONMENT, CommandError, Help, add_command, say
from api.server import GunicornServer, default_workers, gunicorn_options
from api.supervisor import Supervised

log = logging.getLogger("zalodesk.serve")


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
    root = argparse.ArgumentParser(
        prog="zalodesk", description=DESCRIPTION, epilog=ENVIRONMENT, formatter_class=Help
    )
    root.add_argument("--version", action="version", version=f"zalodesk {version()}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, run, help_text in (
        ("serve", serve, "the HTTP API and the background workers, in one command"),
        ("api", api, "only the HTTP API under gunicorn"),
    ):
        command = add_command(commands, name, help_text)
        command.add_argument(
            "--bind", default="127.0.0.1:8000", type=bind_address, help="HOST:PORT to listen on"
        )
        command.add_argument(
            "--workers", type=positive, default=default_workers(), help="gunicorn workers"
        )
        command.add_argument(
            "--threads", type=positive, default=1, help="threads per worker (1: sync workers)"
        )
        command.set_defaults(run=run)

    add_command(commands, "worker", "only the background workers").set_defaults(run=worker)
    stream_command = add_command(commands, "stream", "only the live stream server (SSE)")
    stream_command.add_argument(
        "--bind",
        type=bind_address,
        default=argparse.SUPPRESS,
        help=f"HOST:PORT to listen on (default: ZALODESK_STREAM_BIND, else {DEFAULT_STREAM_BIND})",
    )
    stream_command.set_defaults(run=stream)

    token = add_command(commands, "token", "API tokens").add_subparsers(
        dest="token_command", required=True, metavar="COMMAND"
    )
    create = add_command(token, "create", "issue an API token; it is printed once")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="may manage accounts and rules")
    create.set_defaults(run=token_create)
    add_command(token, "list", "every token: id, admin, created, revoked, name").set_defaults(
        run=token_list
    )
    revoke = add_command(token, "revoke", "refuse a token from now on, on every worker")
    revoke.add_argument("id", metavar="ID")
    revoke.set_defaults(run=token_revoke)
    cli_ops.register(commands)
    cli_rules.register(commands)
    return root


DESCRIPTION = "zalodesk: the back end of a helpdesk's Zalo channel."


def version() -> str:
    try:
        return metadata.version("zalodesk")
    except metadata.PackageNotFoundError:
        return "unknown"


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def bind_address(text: str) -> str:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"must be HOST:PORT, such as 127.0.0.1:8000, not {text!r}")
    return text


def check_can_listen(bind: str) -> None:
    """Fail with one line now, rather than after gunicorn's retries and a traceback."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, int(port))[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as ex:
        raise CommandError(f"cannot listen on {bind}: {ex.strerror or ex}") from None


def serve(args: argparse.Namespace) -> int:
    return run_http(args, with_worker=True)


def api(args: argparse.Namespace) -> int:
    return run_http(args, with_worker=False)


def run_http(args: argparse.Namespace, with_worker: bool) -> int:
    check_can_listen(args.bind)
    settings = Settings.from_env()
    database = bootstrap.open_database(settings, create_embedded=with_worker)
    try:
        bootstrap.check_connections(database.url, args.workers, args.threads, with_worker)
    except bootstrap.StartupError:
        database.stop()
        raise
    if problem := settings.public_url_problem():
        say(f"warning: {problem}")
    # Children (gunicorn workers, the worker process) use the same server.
    os.environ["ZALODESK_DATABASE_URL"] = database.url
    os.environ["ZALODESK_WEB_THREADS"] = str(args.threads)
    # The stream server's place, for the API's redirect and the stream process.
    stream_bind = settings.stream_bind or next_port(args.bind)
    os.environ["ZALODESK_STREAM_BIND"] = stream_bind
    metrics_folder.start_fresh(settings.data_dir)
    children: list[Supervised] = []
    if with_worker:
        env = {**os.environ, "ZALODESK_PARENT_PID": str(os.getpid())}
        children.append(Supervised("worker", [sys.executable, "-m", "api", "worker"], env))
        children.append(Supervised("stream", [sys.executable, "-m", "api", "stream"], env))
    for child in children:
        child.start()

    def on_exit() -> None:
        for child in children:
            child.stop()
        database.stop()

    streaming = f", the live stream on http://{stream_bind}" if with_worker else ""
    print(
        f"zalodesk: serving on http://{args.bind} with {args.workers} workers{streaming}, "
        f"database {redacted(database.url)}",
        file=sys.stderr,
    )
    lost = threading.Event()
    if database.embedded is not None:
        watch_embedded(database.embedded, lost)
    try:
        GunicornServer(gunicorn_options(args.bind, args.workers, args.threads), on_exit).run()
    except SystemExit as halted:  # gunicorn's master ends with sys.exit
        if not lost.is_set():
            raise
        del halted
    if lost.is_set():
        say("stopped: the embedded PostgreSQL server died under it (start it again to recover)")
        return 1
    return 0


def watch_embedded(server: EmbeddedPostgres, lost: threading.Event) -> None:
    """If the embedded server dies, stop the service with a non-zero status rather than
    answer 503 for ever: whatever started it (a person, systemd) starts it again."""

    def watch() -> None:
        while server.running():
            time.sleep(1.0)
        log.error("the embedded PostgreSQL server stopped under the service; stopping")
        lost.set()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="embedded-watch", daemon=True).start()


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


def stream(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    bind = getattr(args, "bind", None) or settings.stream_bind or DEFAULT_STREAM_BIND
    check_can_listen(bind)
    database = bootstrap.open_database(settings, prepare_now=False)
    stop = threading.Event()
    watch_parent(stop)
    try:
        bootstrap.run_stream(settings, database.url, bind, stop)
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
        issued = services.tokens.create(name, admin=args.admin)
    print(issued.token)
    say(f"token {issued.info.id} issued to {name!r}; it is shown this once")
    return 0


def token_list(args: argparse.Namespace) -> int:
    with cli_ops.opened() as services:
        tokens = services.tokens.list()
    print(f"{'id':<36}  {'admin':<5}  {'created':<24}  {'revoked':<24}  name")
    for t in tokens:
        print(
            f"{t.id!s:<36}  {'yes' if t.admin else 'no':<5}  {iso(t.created_at)!s:<24}  "
            f"{iso(t.revoked_at) or '-':<24}  {t.name}"
        )
    return 0


def token_revoke(args: argparse.Namespace) -> int:
    token_id = cli_ops.aggregate_id(args.id)
    with cli_ops.opened() as services:
        revoked = services.tokens.revoke(token_id)
    if revoked is None:
        raise CommandError(f"no token {token_id} (`zalodesk token list` shows them)")
    say(f"token {revoked.id} of {revoked.name!r} is revoked: refused from now on")
    return 0
