"""Operating the log (API.md): replay, verify, audit, state, log export and log import.

``register(commands)`` adds these subcommands to the ``zalodesk`` parser. Each
resolves the database as the other commands do (``cli.Database``), and fails
with one clear line on standard error (``cli.CommandError``).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import psycopg
from attrs import frozen
from eventsourcing.persistence import OperationalError
from psycopg_pool import ConnectionPool, PoolTimeout

from adapters.log_tools.audit import AuditTrail, audit_line, cause
from adapters.log_tools.event_log import EventLog, api_entry
from adapters.log_tools.exporter import export_log
from adapters.log_tools.importer import LogFormatError, StoreNotEmpty, import_log
from adapters.log_tools.replay import Busy, Replay, UnknownView, Verify, ViewCheck, views_named
from adapters.log_tools.state import aggregate_as_of, describe_state
from adapters.postgres.event_store import open_application
from adapters.settings import Settings, SettingsError
from adapters.timefmt import parse_iso

# The module, not its names: cli imports this module while it is itself being imported.
from api import cli
from domain.application import Zalodesk
from domain.errors import DomainError

Run = Callable[[argparse.Namespace], int]
EXPECTED = (DomainError, UnknownView, Busy, StoreNotEmpty, OSError)
UNREACHABLE = (psycopg.OperationalError, OperationalError, PoolTimeout)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = commands.add_parser("replay", help="rebuild views from the log, then swap them in")
    replay.add_argument("views", nargs="*", metavar="VIEW", help="views to rebuild (default: all)")
    replay.set_defaults(run=run_replay)

    verify = commands.add_parser("verify", help="rebuild every view aside and compare")
    verify.set_defaults(run=run_verify)

    audit = commands.add_parser("audit", help="the timeline of a ticket, chat, contact or account")
    audit.add_argument("id")
    audit.add_argument("--json", action="store_true", help="JSON for scripts")
    audit.add_argument("--raw", action="store_true", help="with each Zalo delivery's exact body")
    audit.set_defaults(run=run_audit)

    state = commands.add_parser("state", help="an aggregate as it was")
    state.add_argument("id")
    when = state.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="TIME", help="ISO 8601 time, e.g. 2026-11-24T10:00:00Z")
    when.add_argument("--version", type=int, metavar="N")
    state.set_defaults(run=run_state)

    _register_log(commands)


def _register_log(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    log = commands.add_parser("log", help="the event log as JSON lines").add_subparsers(
        dest="log_command", required=True
    )
    export = log.add_parser("export", help="write the log as JSON lines")
    export.add_argument("--after", type=int, default=0, metavar="N", help="after position N")
    export.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    export.add_argument(
        "--include-secrets", action="store_true", help="keep tokens and secrets (for a move)"
    )
    export.set_defaults(run=run_export)
    load = log.add_parser("import", help="load an exported log into an empty store")
    load.add_argument("file", metavar="FILE")
    load.add_argument(
        "--allow-redacted", action="store_true", help="accept a file whose secrets were redacted"
    )
    load.set_defaults(run=run_import)


def main(argv: Sequence[str] | None = None) -> int:
    """These commands alone, handled as ``zalodesk`` handles its own (``python -m`` this module)."""
    root = argparse.ArgumentParser(prog="zalodesk")
    register(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (cli.CommandError, SettingsError) as ex:
        print(f"zalodesk: {ex}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


# Plumbing


@frozen
class Ops:
    app: Zalodesk
    pool: ConnectionPool[Any]
    log: EventLog


@contextmanager
def opened() -> Iterator[Ops]:
    settings = Settings.from_env()
    database = cli.Database(settings)
    try:
        app = open_application(database.url, settings.cipher_key)
        pool: ConnectionPool[Any] = ConnectionPool(
            database.url, min_size=1, max_size=4, open=True, kwargs={"autocommit": True}
        )
        try:
            yield Ops(app, pool, EventLog(app, pool))
        finally:
            pool.close()
            app.close()
    finally:
        database.stop()


def command(run: Run) -> Run:
    """Expected failures become one line on standard error and a non-zero exit."""

    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except EXPECTED as ex:
            raise cli.CommandError(str(ex)) from ex
        except UNREACHABLE as ex:
            raise cli.CommandError(f"cannot reach the database: {ex}") from ex

    return guarded


def aggregate_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise cli.CommandError(f"{text!r} is not an id") from None


class Progress:
    """On standard error: redrawn in place on a terminal, one line per 5% otherwise."""

    def __init__(self, stream: IO[str] | None = None, clock: Callable[[], float] = time.monotonic):
        self._stream = stream
        self.clock = clock
        self.start(0, "")

    @property
    def stream(self) -> IO[str]:
        return self._stream or sys.stderr

    def start(self, total: int, doing: str) -> None:
        self.total, self.doing, self.done = total, doing, 0
        self.began = self.drawn = self.clock()
        self.next_step = 5

    def advance(self, count: int) -> None:
        self.done += count
        if self.stream.isatty():
            if self.clock() - self.drawn >= 0.1:
                self.drawn = self.clock()
                self.stream.write(f"\r{self.line()}   ")
                self.stream.flush()
        elif self.percent() >= self.next_step:
            while self.percent() >= self.next_step:
                self.next_step += 5
            print(self.line(), file=self.stream)

    def finish(self) -> None:
        elapsed = max(self.clock() - self.began, 1e-9)
        end = "\r" if self.stream.isatty() else ""
        self.stream.write(
            f"{end}{self.doing}: {self.done:,} events in {elapsed:.1f} s "
            f"({self.done / elapsed:,.0f} events/s)   \n"
        )
        self.stream.flush()

    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 100.0

    def line(self) -> str:
        elapsed = max(self.clock() - self.began, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        return (
            f"{self.doing} {min(self.percent(), 100.0):5.1f}%  {self.done:,}/{self.total:,} "
            f"events  {rate:,.0f} events/s  {_duration(max(left, 0.0))} left"
        )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def say(message: str) -> None:
    print(f"zalodesk: {message}", file=sys.stderr)


# Commands


@command
def run_replay(args: argparse.Namespace) -> int:
    names = [v.name for v in views_named(args.views)]
    with opened() as ops:
        replay = Replay(ops.log, ops.pool)
        for name, position in replay.resumable(names).items():
            say(f"resuming the interrupted rebuild of {name} from position {position}")
        position = replay.run(names, Progress())
    print(f"replayed {', '.join(names)} up to position {position}; the live views carry on")
    return 0


@command
def run_verify(args: argparse.Namespace) -> int:
    with opened() as ops:
        checks = Verify(ops.log, ops.pool).run(Progress())
    for check in checks:
        print(verdict(check))
    differ = [c.view for c in checks if not c.equal]
    if differ:
        raise cli.CommandError(
            f"{len(differ)} view(s) differ from the log: {', '.join(differ)} "
            f"(`zalodesk replay {' '.join(differ)}` rebuilds them)"
        )
    return 0


def verdict(check: ViewCheck) -> str:
    where = f"at position {check.position}, {check.rows} row{'' if check.rows == 1 else 's'}"
    if check.equal:
        return f"{check.view:<12} equal ({where})"
    return f"{check.view:<12} DIFFERS ({where}): " + "; ".join(
        d.summary() for d in check.differences
    )


@command
def run_audit(args: argparse.Namespace) -> int:
    ident = aggregate_id(args.id)
    with opened() as ops:
        trail = AuditTrail(ops.log)
        entries = trail.timeline(ident)
        bodies = trail.delivery_bodies(entries) if args.raw else {}
    causes = [cause(e) for e in entries]
    if args.json:
        events = [
            {**api_entry(e), **({"raw": bodies.get(rid) if rid else None} if args.raw else {})}
            for e, rid in zip(entries, causes, strict=True)
        ]
        print(json.dumps({"events": events}, ensure_ascii=False, indent=2))
        return 0
    shown: set[UUID] = set()
    for entry, rid in zip(entries, causes, strict=True):
        print(audit_line(entry))
        if rid is not None and rid in bodies and rid not in shown:
            shown.add(rid)  # each delivery's body once, under the first event it caused
            print(f"    zalo body: {bodies[rid]}")
    return 0


@command
def run_state(args: argparse.Namespace) -> int:
    ident = aggregate_id(args.id)
    at = _time(args.at) if args.at else None
    with opened() as ops:
        aggregate = aggregate_as_of(ops.app, ident, version=args.version, at=at)
    print(json.dumps(describe_state(aggregate), ensure_ascii=False, indent=2))
    return 0


def _time(text: str) -> Any:
    try:
        return parse_iso(text)
    except ValueError:
        raise cli.CommandError(f"{text!r} is not an ISO 8601 time") from None


@command
def run_export(args: argparse.Namespace) -> int:
    if args.after < 0:
        raise cli.CommandError("--after must not be negative")
    with opened() as ops:
        if args.output:
            count = _export_to(Path(args.output), ops.log, args)
        else:
            out = sys.stdout.buffer
            count = export_log(ops.log, out, args.after, args.include_secrets, Progress())
            sys.stdout.flush()
    secrets = "with secrets" if args.include_secrets else "secrets redacted"
    say(f"exported {count} events ({secrets})")
    return 0


def _export_to(path: Path, log: EventLog, args: argparse.Namespace) -> int:
    try:
        with path.open("wb") as out:
            return export_log(log, out, args.after, args.include_secrets, Progress())
    except BaseException:
        path.unlink(missing_ok=True)  # never leave half a file that looks like an export
        raise


@command
def run_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    with opened() as ops:
        try:
            count = import_log(ops.log, path, args.allow_redacted, Progress())
        except LogFormatError as ex:
            raise cli.CommandError(f"{path}: {ex}; nothing was imported") from ex
    say(f"imported {count} events; the views catch up as the worker runs (or `zalodesk replay`)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
