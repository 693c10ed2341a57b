"""Automation rules at size: webhooks with 100 enabled rules, the rules keeping up, and a
dry run over a large log.

Run by hand (bench/README.md): ``python -m bench.rules [--quick]``; it prints figures and
asserts nothing.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from adapters.log_tools.dry_run import dry_run
from adapters.workers.automation import TOPICS
from api import bootstrap
from api.server import default_workers
from bench import harness
from bench.harness import Figures, Process, Request, opt
from bench.replay import Step, fill, step
from bench.webhooks import Bench, caught_up
from bench.webhooks import Options as WebhookOptions
from domain.automation.definition import definition

TARGET_RATE, TARGET_P99 = 500, 100.0
DRY_RUN_TARGET = 20_000  # events/s
AFTER_THE_FILL = datetime(2100, 1, 1, tzinfo=UTC)
# Rules that fire in the webhook runs: on each new chat, and on a quarter of the messages.
FIRING = [
    {
        "name": "new chats are tagged",
        "trigger": "chat_started",
        "actions": [{"type": "add_tag", "tag": "new"}],
    },
    {
        "name": "size questions",
        "trigger": "customer_replied",
        "conditions": [{"field": "message_text", "op": "contains", "value": "đổi size"}],
        "actions": [{"type": "add_tag", "tag": "size"}],
    },
]
DRY_RUNS: dict[str, dict[str, Any]] = {
    "customer waiting 5 min": {
        "trigger": "customer_waiting",
        "after_seconds": 300,
        "actions": [{"type": "add_tag", "tag": "late"}, {"type": "assign", "agent": "lead"}],
    },
    "customer_replied, text contains": {
        "trigger": "customer_replied",
        "conditions": [{"field": "message_text", "op": "contains", "value": "đổi trả"}],
        "actions": [{"type": "add_tag", "tag": "returns"}],
    },
}


@dataclass(frozen=True)
class Options:
    seconds: float = opt(10.0, "each measured webhook run, in seconds", quick=2.0)
    connections: int = opt(32, "wrk connections, closed loop")
    workers: int = harness.workers()
    rules: int = opt(100, "enabled rules during the webhook runs")
    customers: int = opt(5000, "distinct customers", quick=300)
    max_rate: int = opt(2000, "requests generated per measured second (if wrk runs out: raise)")
    events: int = opt(1_000_000, "events in the log the dry run reads", quick=20_000)
    seed: int = opt(5, "of the dry run log's conversations")
    no_webhooks: bool = opt(False, "skip the webhook runs")
    no_dry_run: bool = opt(False, "skip the dry run")
    quiet_wait: float = harness.quiet_wait("each timed run")
    keep: bool = harness.keep("the servers' logs, the request files")


def rules(count: int) -> list[dict[str, Any]]:
    """``count`` rules on every trigger: the two firing ones (on each new chat; on a quarter
    of the messages), the rest with conditions the load never meets (each is still looked
    at on its trigger)."""
    made = list(FIRING[:count])
    triggers = ("customer_replied", "ticket_created", "chat_started", "agent_replied")
    for n in range(count - len(made)):
        kind = n % 6
        rule: dict[str, Any] = {
            "name": f"rule {n}",
            "actions": [{"type": "add_tag", "tag": f"t{n}"}],
        }
        if kind < 4:
            rule["trigger"] = triggers[kind]
            rule["conditions"] = [
                {"field": "message_text", "op": "contains", "value": f"mã khuyến mãi {n}"},
                {"field": "status", "op": "in", "value": ["new", "open"]},
            ]
        else:
            rule["trigger"] = "customer_waiting" if kind == 4 else "ticket_unchanged"
            rule["after_seconds"] = 3600 * (1 + n % 24)
            rule["conditions"] = [{"field": "tags", "op": "contains", "value": f"never-{n}"}]
        made.append(rule)
    return made


def admin(api: Process, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}", "Content-Type": "application/json"}
    raw = json.dumps(body).encode() if body is not None else None
    answer = harness.http_call(api.port, Request(method, path, raw, headers))
    if answer.status >= 300:
        raise SystemExit(f"{method} {path} answered {answer.status}: {answer.body[:300]!r}")
    return json.loads(answer.body) if answer.body else None


class LagWatch:
    """Samples the automation worker's lag (GET /readyz) while a run goes on."""

    def __init__(self, api: Process) -> None:
        self.api = api
        self.samples: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.5):
            answer = harness.http_call(self.api.port, Request("GET", "/readyz"))
            self.samples.append(int(json.loads(answer.body).get("lag", {}).get("automation", 0)))

    def __enter__(self) -> LagWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def line(self) -> str:
        if not self.samples:
            return ""
        worst, last = max(self.samples), self.samples[-1]
        return f"  {'':<40} automation lag during the run: max {worst} events, at the end {last}"


def firings(url: str) -> int:
    """How many times a rule has fired (each firing records ``Ticket.RuleFired``)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM zalodesk_events WHERE topic LIKE %s", ("%:Ticket.RuleFired",)
        ).fetchone()
    return int(row[0]) if row else 0


def webhooks(opts: Options, url: str, tmp: Path) -> list[tuple[str, Figures]]:
    env = harness.zalodesk_env(url, tmp)
    bench = Bench(_webhook_options(opts), tmp, env, harness.zalodesk_worker(env, tmp))
    workers = opts.workers or default_workers()
    api = harness.zalodesk_api(env, tmp / "api.log", workers, 1)
    results: list[tuple[str, Figures]] = []
    try:
        bench.connect(api)
        bench.first_messages(api, opts.connections)
        bench.warm_up(api)
        print(caught_up(api))
        print("\n== webhooks without rules ==")
        results.append(("no rules", measure(bench, api, opts, "no rules")))
        made = [
            admin(api, "POST", "/api/rules", {"enabled": True, **rule})
            for rule in rules(opts.rules)
        ]
        for label, firing in (("none firing", False), ("two firing", True)):
            for rule in made[: len(FIRING)]:
                admin(api, "PATCH", f"/api/rules/{rule['id']}", {"enabled": firing})
            caught_up(api)
            on = sum(r["enabled"] for r in admin(api, "GET", "/api/rules")["rules"])
            print(f"\n== webhooks with {on} enabled rules, {label} ==")
            before = firings(url)
            name = f"{on} rules, {label}"
            results.append((name, measure(bench, api, opts, name)))
            print(f"  {'':<40} the rules fired {firings(url) - before:,} times during the run")
    finally:
        api.stop()
        bench.worker.stop()
    return results


def _webhook_options(opts: Options) -> WebhookOptions:
    return WebhookOptions(
        seconds=opts.seconds,
        connections=(opts.connections,),
        customers=opts.customers,
        max_rate=opts.max_rate,
        quiet_wait=opts.quiet_wait,
    )


def measure(bench: Bench, api: Process, opts: Options, label: str) -> Figures:
    file = bench.more_messages(opts.seconds)
    with LagWatch(api) as watch:
        figures = bench.load(
            f"{label}, {opts.connections} conns", api, file, opts.seconds, opts.connections
        )
    print(watch.line())
    print(caught_up(api))
    ok = figures.rate >= TARGET_RATE and figures.p99 <= TARGET_P99
    print(
        f"  {'':<40} target >= {TARGET_RATE}/s at p99 <= {TARGET_P99:.0f} ms: {'met' if ok else 'NOT met'}"
    )
    return figures


# ---------------------------------------------------------------------------
# The dry run over a large log


def dry_run_step(url: str, name: str) -> Step:
    """As ``zalodesk rules dry-run FILE``: the whole log, one rule, nothing changed."""
    body = DRY_RUNS[name]
    rule = definition(
        body["trigger"], body.get("after_seconds"), body.get("conditions"), body["actions"]
    )
    with harness.services(harness.settings(url)) as services:
        started = time.monotonic()
        # The fill's conversations run on a clock of their own, into the future: all of it.
        done = dry_run(services.log, rule, AFTER_THE_FILL)
        seconds = time.monotonic() - started
        read = relevant(url)
    note = f"; {len(done.matches):,} matches; {read:,} events read, the rest passed over by topic"
    return Step(done.events_scanned, seconds, note)


def relevant(url: str) -> int:
    """The events a dry run or the worker reads and decodes: the database passes over the
    others (receipts, contacts, deliveries' progress...) by their topic."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM zalodesk_events WHERE topic = ANY(%s)", (TOPICS,)
        ).fetchone()
    return int(row[0]) if row else 0


def catch_up_step(url: str) -> Step:
    """The automation worker's first start on a log it has never read (no rules yet): the
    facts of every ticket, from the start of the log."""
    with harness.services(harness.settings(url)) as services:
        worker = bootstrap.automation(services)
        started = time.monotonic()
        worker.catch_up()
        seconds = time.monotonic() - started
        return Step(services.log.head(), seconds)


def dry_runs(opts: Options, url: str) -> list[tuple[str, Step]]:
    print("\n== dry run: the fill (through the Application in memory, then COPY; not measured) ==")
    filled = step(fill, url, opts.events, opts.seed, None)
    print(filled.line("fill"))
    print("== dry run: measured ==")
    results = []
    for name in DRY_RUNS:
        done = step(dry_run_step, url, name)
        ok = done.events / done.seconds >= DRY_RUN_TARGET
        print(
            done.line("dry run")
            + f"  {name}"
            + ("   (ok)" if ok else f"   (BELOW {DRY_RUN_TARGET:,}/s)")
        )
        results.append((f"dry run, {name}", done))
    caught = step(catch_up_step, url)
    print(caught.line("worker") + "  automation worker's first catch-up, no rules")
    results.append(("worker's first catch-up", caught))
    return results


def main() -> None:
    opts = harness.options(Options)
    if not opts.no_webhooks and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    hooks: list[tuple[str, Figures]] = []
    runs: list[tuple[str, Step]] = []
    if not opts.no_webhooks:
        with harness.workdir(opts.keep) as tmp, harness.database() as url:
            harness.describe_machine(
                url,
                f"webhooks: wrk, 1 thread, closed loop, {opts.connections} connections, "
                f"{opts.seconds:g} s per run, {opts.customers} customers, {opts.rules} rules",
            )
            hooks = webhooks(opts, url, tmp)
    if not opts.no_dry_run:
        with harness.database() as url:
            if opts.no_webhooks:
                harness.describe_machine(url, f"dry run over {opts.events:,} events")
            runs = dry_runs(opts, url)
    print("\n== summary ==")
    for label, figures in hooks:
        print(f"  webhooks, {label:<20} {figures.rate:6,.0f}/s  p99 {figures.p99:6.1f} ms")
    for name, done in runs:
        print(f"  {name:<41} {done.events / done.seconds:9,.0f} events/s ({done.events:,} events)")
    print(
        f"  targets: webhooks >= {TARGET_RATE}/s at p99 <= {TARGET_P99:.0f} ms with the rules on; "
        f"dry run >= {DRY_RUN_TARGET:,} events/s"
    )


if __name__ == "__main__":
    main()
