"""The automation worker's own tables: its place in the log, the rules and the tickets'
facts as of that place, and which chats are active. Written in the transaction that moves
its place, so they always agree with it.

These are the worker's state, not views: they are not rebuilt by ``replay``. Lost, they
are made again by reading the log from the start (every firing already recorded is
recognised by its id, and changes nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from domain.automation.facts import TicketFacts
from domain.automation.ruleset import Rule, RuleSet, readable
from domain.automation.tracker import Tracker
from domain.values import RuleTrigger

WORKER = "automation"
AUTOMATION_DDL = (
    """CREATE TABLE IF NOT EXISTS automation_position (
        worker text PRIMARY KEY,
        position bigint NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS automation_rules (
        rule_id uuid PRIMARY KEY,
        rule jsonb NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS automation_tickets (
        ticket_id uuid PRIMARY KEY,
        facts jsonb NOT NULL,
        waiting_since timestamptz,
        quiet_since timestamptz NOT NULL,
        waiting_due timestamptz,
        quiet_due timestamptz
    )""",
    """CREATE INDEX IF NOT EXISTS automation_tickets_waiting_due
        ON automation_tickets (waiting_due) WHERE waiting_due IS NOT NULL""",
    """CREATE INDEX IF NOT EXISTS automation_tickets_quiet_due
        ON automation_tickets (quiet_due) WHERE quiet_due IS NOT NULL""",
    """CREATE TABLE IF NOT EXISTS automation_chats (
        chat_id uuid PRIMARY KEY,
        ticket_id uuid NOT NULL
    )""",
)
# A time rule switched on looks at every spell it has not looked at yet.
SPELLS = {
    RuleTrigger.CUSTOMER_WAITING: ("waiting_since", "waiting_due", "waiting_done"),
    RuleTrigger.TICKET_UNCHANGED: ("quiet_since", "quiet_due", "quiet_done"),
}


def lock_position(cur: Any) -> int:
    """The worker's place in the log, locked until the transaction ends (one worker at a time)."""
    locking = "SELECT position FROM automation_position WHERE worker = %s FOR UPDATE"
    row = cur.execute(locking, (WORKER,)).fetchone()
    if row is None:  # the first start
        cur.execute(
            """INSERT INTO automation_position (worker, position) VALUES (%s, 0)
               ON CONFLICT (worker) DO NOTHING""",
            (WORKER,),
        )
        row = cur.execute(locking, (WORKER,)).fetchone()
    return int(row[0]) if row else 0


def read_position(cur: Any) -> int:
    cur.execute("SELECT position FROM automation_position WHERE worker = %s", (WORKER,))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def load_rules(cur: Any) -> RuleSet:
    cur.execute("SELECT rule FROM automation_rules")
    return RuleSet(rule for row in cur.fetchall() if (rule := readable(row[0])) is not None)


def load_chats(cur: Any, chat_ids: Iterable[UUID]) -> dict[UUID, UUID]:
    wanted = list(set(chat_ids))
    if not wanted:
        return {}
    cur.execute(
        "SELECT chat_id, ticket_id FROM automation_chats WHERE chat_id = ANY(%s)", (wanted,)
    )
    return {row[0]: row[1] for row in cur.fetchall()}


def load_tickets(cur: Any, ticket_ids: Iterable[UUID]) -> dict[UUID, TicketFacts]:
    wanted = list(set(ticket_ids))
    if not wanted:
        return {}
    cur.execute("SELECT facts FROM automation_tickets WHERE ticket_id = ANY(%s)", (wanted,))
    return {facts.ticket_id: facts for facts in map(TicketFacts.from_data, _first(cur))}


def due_tickets(cur: Any, now: datetime, limit: int) -> list[UUID]:
    """Tickets with a time rule to look at by ``now``, the longest due first."""
    cur.execute(
        """(SELECT ticket_id, waiting_due AS due FROM automation_tickets
            WHERE waiting_due <= %(now)s ORDER BY waiting_due LIMIT %(limit)s)
           UNION ALL
           (SELECT ticket_id, quiet_due FROM automation_tickets
            WHERE quiet_due <= %(now)s ORDER BY quiet_due LIMIT %(limit)s)
           ORDER BY due LIMIT %(limit)s""",
        {"now": now, "limit": limit},
    )
    return list(dict.fromkeys(row[0] for row in cur.fetchall()))


def save(cur: Any, tracker: Tracker, position: int | None) -> None:
    """What the tracker changed, and the worker's new place (None: it stays)."""
    rules = tracker.rules
    for rule_id in rules.deleted:
        cur.execute("DELETE FROM automation_rules WHERE rule_id = %s", (rule_id,))
    for rule_id in rules.changed:
        cur.execute(
            """INSERT INTO automation_rules (rule_id, rule) VALUES (%s, %s)
               ON CONFLICT (rule_id) DO UPDATE SET rule = EXCLUDED.rule""",
            (rule_id, Jsonb(rules.rules[rule_id].as_data())),
        )
    for rule_id in rules.newly_on & set(rules.rules):
        _bring_forward(cur, rules.rules[rule_id])
    if tracker.ended_chats:
        cur.execute(
            "DELETE FROM automation_chats WHERE chat_id = ANY(%s)", (list(tracker.ended_chats),)
        )
    started = [(c, tracker.chats[c]) for c in tracker.started_chats if c in tracker.chats]
    if started:
        cur.executemany(
            """INSERT INTO automation_chats (chat_id, ticket_id) VALUES (%s, %s)
               ON CONFLICT (chat_id) DO UPDATE SET ticket_id = EXCLUDED.ticket_id""",
            started,
        )
    _save_tickets(cur, tracker, [tracker.tickets[t] for t in tracker.touched])
    if position is not None:
        cur.execute(
            "UPDATE automation_position SET position = %s WHERE worker = %s", (position, WORKER)
        )
    rules.changed.clear()
    rules.deleted.clear()
    rules.newly_on.clear()


def _save_tickets(cur: Any, tracker: Tracker, tickets: Sequence[TicketFacts]) -> None:
    rows = []
    for facts in tickets:
        waiting_due, quiet_due = tracker.next_due(facts)
        rows.append(
            (
                facts.ticket_id,
                Jsonb(facts.as_data()),
                facts.waiting_since,
                facts.quiet_since,
                waiting_due,
                quiet_due,
            )
        )
    if rows:
        cur.executemany(
            """INSERT INTO automation_tickets
               (ticket_id, facts, waiting_since, quiet_since, waiting_due, quiet_due)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (ticket_id) DO UPDATE SET facts = EXCLUDED.facts,
               waiting_since = EXCLUDED.waiting_since, quiet_since = EXCLUDED.quiet_since,
               waiting_due = EXCLUDED.waiting_due, quiet_due = EXCLUDED.quiet_due""",
            rows,
        )


def _bring_forward(cur: Any, rule: Rule) -> None:
    """A time rule just switched on: every spell it has not looked at is due by its measure.
    (Tickets the tracker touched in this batch are written after, with their own dues.)"""
    spell = SPELLS.get(rule.definition.trigger)
    if spell is None:
        return
    since, due, done = spell
    cur.execute(
        f"""UPDATE automation_tickets SET {due} = LEAST({due},
                {since} + make_interval(secs => %(seconds)s))
            WHERE {since} IS NOT NULL AND NOT jsonb_exists(facts->'{done}', %(rule)s)""",
        {"seconds": rule.definition.after_seconds, "rule": str(rule.id)},
    )


def _first(cur: Any) -> list[Any]:
    return [row[0] for row in cur.fetchall()]
