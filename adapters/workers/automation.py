"""Runs the automation rules behind the log, never in a webhook's request.

Follows the log from its own tracked place, as the projector does: each batch is read by
the tracker (``domain.automation.tracker``), the rules that fire are fired, then the
tickets' facts and the new place commit together. Time triggers come due on the
application's clock (``tick``).

Exactly once: each firing is a command whose record has an id derived from the rule and
the trigger, saved with everything its actions change. A worker stopped after firing
but before its place moved reads the same events again, finds the same firings, and
their records conflict: nothing happens twice. Two workers at once wait on the place's
row lock, and would conflict the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from psycopg_pool import ConnectionPool

from adapters.workers import automation_store as store
from domain.application import Zalodesk
from domain.automation.rule import AutomationRule
from domain.automation.ruleset import RULE_EVENTS, RuleSet
from domain.automation.tracker import EVENT_TYPES, Match, Tracker, references
from domain.chat import Chat
from domain.errors import ConcurrentChange, DomainError
from domain.reply import Reply
from domain.ticket import Ticket

log = logging.getLogger("zalodesk.automation")


def tracked_topics() -> list[str]:
    """The topics of the events the rules read: the rest of the log is not even fetched."""
    topics = []
    for aggregate in (Ticket, Chat, Reply, AutomationRule):
        for value in vars(aggregate).values():
            if isinstance(value, type) and issubclass(value, DomainEvent):
                name = value.__qualname__
                if name in EVENT_TYPES or name.startswith(RULE_EVENTS):
                    topics.append(get_topic(value))
    return sorted(topics)


TOPICS = tracked_topics()


def decoded(app: Zalodesk, notifications: Sequence[Notification]) -> list[tuple[int, Any]]:
    return [(n.id, app.mapper.to_domain_event(n)) for n in notifications]


class Automation:
    def __init__(
        self,
        app: Zalodesk,
        pool: ConnectionPool[Any],
        batch_size: int = 500,
        tick_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.pool = pool
        self.batch_size = batch_size
        self.tick_seconds = tick_seconds
        self.monotonic = monotonic
        self._rules: RuleSet | None = None
        self._ticked = float("-inf")

    def round(self) -> int:
        """One batch of the log; once caught up, the time triggers now and then."""
        done = self.step()
        due = done < self.batch_size and self.monotonic() - self._ticked >= self.tick_seconds
        # After a full tick more is due: the next round looks again at once.
        if due and self.tick() < self.batch_size:
            self._ticked = self.monotonic()
        return done

    def catch_up(self) -> int:
        total = 0
        while done := self.step():
            total += done
        return total

    def step(self) -> int:
        """Read the next batch and fire what it triggers; how many events it read."""
        try:
            return self._step()
        except BaseException:
            self._rules = None  # rolled back with the transaction: read again
            raise

    def tick(self) -> int:
        """Fire the time rules come due by now; how many tickets it looked at."""
        try:
            return self._tick()
        except BaseException:
            self._rules = None
            raise

    def _step(self) -> int:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            position = store.lock_position(cur)
            head = self.app.recorder.max_notification_id() or 0
            if head <= position:
                return 0
            events, upto, read = self._batch(position, head)
            tracker = self._tracker(cur, events)
            matches = [m for at, event in events for m in tracker.observe(at, event)]
            self._fire([*matches, *tracker.flush()])
            store.save(cur, tracker, upto)
            return read

    def _batch(self, position: int, head: int) -> tuple[list[tuple[int, Any]], int, int]:
        """The events after ``position`` the rules read, ending with a whole command; the
        place in the log they reach; how many were read (a full batch: more is waiting)."""
        limit = self.batch_size
        while True:
            notifications = self.app.recorder.select_notifications(
                start=position, limit=limit, stop=head, topics=TOPICS, inclusive_of_start=False
            )
            events = decoded(self.app, notifications)
            if len(notifications) < limit:
                return events, head, len(events)
            whole = whole_commands(events)
            if whole:
                return whole, whole[-1][0], len(events)
            limit *= 2  # one command fills the batch: read on to its end

    def _tick(self) -> int:
        now = self.app.clock()
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            store.lock_position(cur)
            due = store.due_tickets(cur, now, self.batch_size)
            if not due:
                return 0
            tracker = Tracker(self._rule_set(cur), store.load_tickets(cur, due), {})
            matches = tracker.due(now, due)
            tracker.touched.update(tracker.tickets)  # each due time is worked out again
            self._fire(matches)
            store.save(cur, tracker, None)
            return len(due)

    def _tracker(self, cur: Any, events: list[tuple[int, Any]]) -> Tracker:
        """A tracker with the rules, and the tickets and chats this batch is about."""
        ticket_ids: set[UUID] = set()
        chat_ids: set[UUID] = set()
        for _, event in events:
            ticket_id, chat_id = references(type(event).__qualname__, event)
            if ticket_id is not None:
                ticket_ids.add(ticket_id)
            if chat_id is not None:
                chat_ids.add(chat_id)
        chats = store.load_chats(cur, chat_ids)
        tickets = store.load_tickets(cur, ticket_ids | set(chats.values()))
        return Tracker(self._rule_set(cur), tickets, chats)

    def _fire(self, matches: list[Match]) -> int:
        fired = 0
        for match in matches:
            try:
                done = self.app.fire_rule(match.command())
            except ConcurrentChange:
                raise  # the round is tried again: the firing with it
            except DomainError as ex:  # the ticket is gone, or the like: nothing to do
                log.warning("rule could not fire", extra=_about(match, error=str(ex)))
                continue
            if done is None:
                log.info("rule had fired already", extra=_about(match))
                continue
            fired += 1
            outcomes = [f"{o['type']}: {o['outcome']}" for o in done.outcomes]
            log.info("rule fired", extra=_about(match, outcomes=outcomes))
        return fired

    def _rule_set(self, cur: Any) -> RuleSet:
        if self._rules is None:
            self._rules = store.load_rules(cur)
        return self._rules


def whole_commands(events: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """A full batch may end part-way through one command's events: those are left for the
    next batch, so that a trigger always sees its whole command. Empty if the batch holds
    only one command."""
    last = _command(events[-1][1])
    kept = len(events)
    while kept > 0 and _command(events[kept - 1][1]) == last:
        kept -= 1
    return events[:kept]


def _command(event: Any) -> tuple[str, Any]:
    return (str(getattr(event, "actor", "")), getattr(event, "at", None))


def _about(match: Match, **more: Any) -> dict[str, Any]:
    return {
        "rule_id": str(match.rule.id),
        "ticket_id": str(match.ticket_id),
        "trigger": match.trigger.value,
        "trigger_position": match.trigger_position,
        **more,
    }


def lag(pool: ConnectionPool[Any], app: Zalodesk) -> int:
    """How many events the automation worker is behind the log."""
    head = app.recorder.max_notification_id() or 0
    with pool.connection() as conn, conn.cursor() as cur:
        return max(0, head - store.read_position(cur))
