"""Operating the log: replay, verify, audit, state, log export and log import.

``register(commands)`` adds these subcommands to the ``zalodesk`` parser. Each
resolves the database as the other commands do (``cli.Database``), and fails
with one clear line on standard error (``CommandError``).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import OperationalError
from psycopg_pool import PoolTimeout

from adapters.log_tools.audit import AuditTrail, audit_line, cause
from adapters.log_tools.event_log import EventLog, api_entry
from adapters.log_tools.exporter import Exported, export_log
from adapters.log_tools.importer import LogFormatError, StoreNotEmpty, import_log
from adapters.log_tools.replay import Busy, Replay, UnknownView, Verify, ViewCheck, views_named
from adapters.log_tools.state import aggregate_as_of, describe_state
from adapters.postgres.credentials import CredentialStore, CredentialsUnreadable
from adapters.settings import Settings
from adapters.timefmt import parse_iso
from adapters.zalo import sample
from api import bootstrap
from api.console import CommandError, Progress, add_command, say
from api.services import Services
from domain.errors import DomainError

T = TypeVar("T")

Run = Callable[[argparse.Namespace], int]
EXPECTED = (DomainError, UnknownView, Busy, StoreNotEmpty, CredentialsUnreadable, OSError)
UNREACHABLE = (psycopg.OperationalError, OperationalError, PoolTimeout)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = add_command(commands, "replay", "rebuild views from the log, then swap them in")
    replay.add_argument("views", nargs="*", metavar="VIEW", help="views to rebuild (default: all)")
    replay.set_defaults(run=run_replay)

    verify = add_command(commands, "verify", "rebuild every view aside and compare")
    verify.set_defaults(run=run_verify)

    audit = add_command(commands, "audit", "the timeline of a ticket, chat, contact or account")
    audit.add_argument("id")
    audit.add_argument("--json", action="store_true", help="JSON for scripts")
    audit.add_argument("--raw", action="store_true", help="with each Zalo delivery's exact body")
    audit.set_defaults(run=run_audit)

    state = add_command(commands, "state", "an aggregate as it was")
    state.add_argument("id")
    when = state.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="TIME", help="ISO 8601 time, e.g. 2026-11-24T10:00:00Z")
    when.add_argument("--version", type=int, metavar="N")
    state.set_defaults(run=run_state)

    _register_log(commands)

    webhook = add_command(commands, "webhook", "try an account's webhook").add_subparsers(
        dest="webhook_command", required=True, metavar="COMMAND"
    )
    test = add_command(
        webhook,
        "test",
        "send the service a text message from a test customer, signed as Zalo would sign it",
    )
    test.add_argument("account_id", metavar="ACCOUNT_ID")
    test.add_argument("text", metavar="TEXT")
    test.add_argument(
        "--url", metavar="BASE", help="where the service listens (default: ZALODESK_PUBLIC_URL)"
    )
    test.set_defaults(run=run_webhook_test)


def _register_log(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    log = add_command(commands, "log", "the event log as JSON lines").add_subparsers(
        dest="log_command", required=True
    )
    export = add_command(log, "export", "write the log as JSON lines")
    export.add_argument("--after", type=int, default=0, metavar="N", help="after position N")
    export.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    export.add_argument(
        "--include-secrets",
        action="store_true",
        help="add the accounts' secrets and tokens, decrypted (for a move to another database)",
    )
    export.set_defaults(run=run_export)
    load = add_command(log, "import", "load an exported log into an empty store")
    load.add_argument("file", metavar="FILE")
    load.add_argument(
        "--allow-redacted",
        action="store_true",
        help="accept a file without the accounts' secrets (they must be reconnected)",
    )
    load.set_defaults(run=run_import)


# Plumbing


@contextmanager
def opened() -> Iterator[Services]:
    """The parts on this installation's database, closed (and the embedded server stopped) after."""
    database = bootstrap.open_database(Settings.from_env())
    try:
        services = bootstrap.build(Settings.from_env(), database.url)
        try:
            yield services
        finally:
            services.close()
    finally:
        database.stop()


def command(run: Run) -> Run:
    """Expected failures become one line on standard error and a non-zero exit."""

    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except EXPECTED as ex:
            raise CommandError(str(ex)) from ex
        except UNREACHABLE as ex:
            raise CommandError(f"cannot reach the database: {ex}") from ex

    return guarded


def parsed(text: str, parse: Callable[[str], T], what: str) -> T:
    """``text`` as ``parse`` reads it, or the command's error: it is not ``what``."""
    try:
        return parse(text)
    except ValueError:
        raise CommandError(f"{text!r} is not {what}") from None


def aggregate_id(text: str) -> UUID:
    return parsed(text, UUID, "an id")


# Commands


@command
def run_replay(args: argparse.Namespace) -> int:
    names = [v.name for v in views_named(args.views)]
    with opened() as services:
        replay = Replay(services.log, services.pool)
        for name, position in replay.resumable(names).items():
            say(f"resuming the interrupted rebuild of {name} from position {position}")
        position = replay.run(names, Progress())
    print(f"replayed {', '.join(names)} up to position {position}; the live views carry on")
    return 0


@command
def run_verify(args: argparse.Namespace) -> int:
    with opened() as services:
        checks = Verify(services.log, services.pool).run(Progress())
    for check in checks:
        print(verdict(check))
    problems = []
    differ = [c.view for c in checks if not c.equal]
    if differ:
        problems.append(
            f"{len(differ)} view(s) differ from the log: {', '.join(differ)} "
            f"(`zalodesk replay {' '.join(differ)}` rebuilds them)"
        )
    aside = [c for c in checks if c.set_aside]
    if aside:
        problems.append(
            "events set aside: "
            + "; ".join(f"{c.view} at {positions(c)}" for c in aside)
            + f" (once fixed, `zalodesk replay {' '.join(c.view for c in aside)}` applies them)"
        )
    if problems:
        raise CommandError("; ".join(problems))
    return 0


SHOWN_SET_ASIDE = 10


def verdict(check: ViewCheck) -> str:
    where = f"at position {check.position}, {check.rows} row{'' if check.rows == 1 else 's'}"
    aside = "".join(
        f"; set aside: position {e.position} ({e.event_type}: {e.error})"
        for e in check.set_aside[:SHOWN_SET_ASIDE]
    )
    if check.equal:
        return f"{check.view:<12} equal ({where}){aside}"
    return (
        f"{check.view:<12} DIFFERS ({where}): "
        + "; ".join(d.summary() for d in check.differences)
        + aside
    )


def positions(check: ViewCheck) -> str:
    """``position 12`` or ``positions 12, 15``; the first hundred when there are more."""
    listed = ", ".join(str(e.position) for e in check.set_aside[:100])
    more = f" and {len(check.set_aside) - 100} more" if len(check.set_aside) > 100 else ""
    return f"position{'s' if len(check.set_aside) > 1 else ''} {listed}{more}"


@command
def run_audit(args: argparse.Namespace) -> int:
    ident = aggregate_id(args.id)
    with opened() as services:
        trail = AuditTrail(services.log)
        entries = trail.timeline(ident)
        bodies = trail.delivery_bodies(entries) if args.raw else {}
        names = services.tokens.actor_names()
    causes = [cause(e) for e in entries]
    if args.json:
        events = [
            {**shown, **({"raw": bodies.get(rid) if rid else None} if args.raw else {})}
            for shown, rid in zip((api_entry(e, names) for e in entries), causes, strict=True)
        ]
        print(json.dumps({"events": events}, ensure_ascii=False, indent=2))
        return 0
    shown: set[UUID] = set()
    for entry, rid in zip(entries, causes, strict=True):
        print(audit_line(entry, names))
        if rid is not None and rid in bodies and rid not in shown:
            shown.add(rid)  # each delivery's body once, under the first event it caused
            print(f"    zalo body: {bodies[rid]}")
    return 0


@command
def run_state(args: argparse.Namespace) -> int:
    ident = aggregate_id(args.id)
    at = parsed(args.at, parse_iso, "an ISO 8601 time") if args.at else None
    with opened() as services:
        aggregate = aggregate_as_of(services.app, ident, version=args.version, at=at)
    print(json.dumps(describe_state(aggregate), ensure_ascii=False, indent=2))
    return 0


@command
def run_export(args: argparse.Namespace) -> int:
    if args.after < 0:
        raise CommandError("--after must not be negative")
    with opened() as services:
        secrets = services.credentials if args.include_secrets else None
        if args.output:
            done = _export_to(Path(args.output), services.log, args.after, secrets)
        else:
            done = export_log(services.log, sys.stdout.buffer, args.after, secrets, Progress())
            sys.stdout.flush()
    if args.include_secrets:
        say(
            f"exported {done.events} events and the credentials of {done.credentials} "
            "account(s), decrypted: keep the file as safe as the accounts themselves"
        )
    else:
        say(f"exported {done.events} events, without the accounts' credentials")
    return 0


def _export_to(path: Path, log: EventLog, after: int, secrets: CredentialStore | None) -> Exported:
    try:
        with path.open("wb") as out:
            return export_log(log, out, after, secrets, Progress())
    except BaseException:
        path.unlink(missing_ok=True)  # never leave half a file that looks like an export
        raise


@command
def run_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    with opened() as services:
        try:
            done = import_log(
                services.log, path, services.credentials, args.allow_redacted, Progress()
            )
        except LogFormatError as ex:
            raise CommandError(f"{path}: {ex}; nothing was imported") from ex
    say(
        f"imported {done.events} events and the credentials of {done.credentials} account(s); "
        "the views catch up as the worker runs (or `zalodesk replay`)"
    )
    if done.to_reconnect:
        say(
            f"{len(done.to_reconnect)} account(s) came without their credentials: reconnect "
            "each (PATCH /api/accounts/ID with app_secret, oa_secret_key, access_token and "
            f"refresh_token): {', '.join(str(a) for a in done.to_reconnect)}"
        )
    return 0


@command
def run_webhook_test(args: argparse.Namespace) -> int:
    ident = aggregate_id(args.account_id)
    with opened() as services:
        account = services.app.account(ident)
        credentials = services.credentials.get(ident)
        base = (args.url or services.settings.public_url).rstrip("/")
    if credentials is None:
        raise CommandError(f"account {ident} has no signing key stored: reconnect it first")
    raw, headers = sample.signed_text(
        account.app_id, account.oa_id, credentials.signing_key, args.text
    )
    url = f"{base}/webhooks/zalo/{ident}"
    status, answer = post(url, raw, headers)
    print(f"POST {url} → {status} {answer}")
    if status != 200:
        raise CommandError(f"the service answered {status}: {answer}")
    say(f"the message from test customer {sample.TEST_CUSTOMER} is in the inbox")
    return 0


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return int(answer.status), answer.read().decode(errors="replace")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as ex:
        reason = getattr(ex, "reason", ex)
        raise CommandError(f"cannot reach {url}: {reason}") from None
