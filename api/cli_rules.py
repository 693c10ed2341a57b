"""``zalodesk rules``: automation rules from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.log_tools.dry_run import dry_run
from adapters.timefmt import parse_iso
from api import cli_ops
from api.console import CommandError, Progress, add_command, say
from domain.automation.definition import definition
from domain.errors import InvalidInput


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = add_command(commands, "rules", "automation rules").add_subparsers(
        dest="rules_command", required=True, metavar="COMMAND"
    )
    dry = add_command(
        rules,
        "dry-run",
        "what a rule (JSON, as for POST /api/rules) would have done on the history; "
        "acts on nothing",
    )
    dry.add_argument("file", metavar="FILE", help="the rule as JSON; - reads standard input")
    dry.add_argument("--since", metavar="TIME", help="only firings from this ISO 8601 time")
    dry.add_argument("--until", metavar="TIME", help="the history up to this time (default: now)")
    dry.set_defaults(run=run_dry_run)


@cli_ops.command
def run_dry_run(args: argparse.Namespace) -> int:
    body = _rule_file(args.file)
    try:
        rule = definition(
            body.get("trigger"),
            body.get("after_seconds"),
            body.get("conditions"),
            body.get("actions"),
        )
    except InvalidInput as ex:
        raise CommandError(f"{args.file}: {ex}") from None
    since = _time(args.since) if args.since else None
    until = _time(args.until) if args.until else None
    with cli_ops.opened() as services:
        done = dry_run(services.log, rule, services.clock(), since, until, Progress())
    print(json.dumps(done.as_json(), ensure_ascii=False, indent=2))
    say(
        f"the rule would have fired {len(done.matches)} time(s) over "
        f"{done.events_scanned:,} events of the log; nothing was changed"
    )
    return 0


def _rule_file(name: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text()
    except OSError as ex:
        raise CommandError(f"cannot read {name}: {ex.strerror or ex}") from None
    try:
        body = json.loads(text)
    except ValueError as ex:
        raise CommandError(f"{name} is not JSON: {ex}") from None
    if not isinstance(body, dict):
        raise CommandError(f"{name} must hold a JSON object: a rule, as for POST /api/rules")
    return body


def _time(text: str) -> datetime:
    try:
        return parse_iso(text)
    except ValueError:
        raise CommandError(
            f"{text!r} is not an ISO 8601 time, such as 2026-11-24T10:00:00Z"
        ) from None
