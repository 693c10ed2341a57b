"""Which rules fire, read from the log in order: the same history always gives the same firings.

The tracker is fed the log's events one by one (``observe``) and keeps what the rules
look at per ticket (``TicketFacts``). It finds:

- **event triggers**: a ticket opened, a chat started or reactivated, a customer's
  message, an agent's reply (or a message from the OA manager). The events of one
  command (same actor, same time) are taken together: a trigger's conditions look at
  the ticket as the whole command left it (a new ticket with its first message);
- **time triggers**: ``customer_waiting`` counts from the customer's oldest
  unanswered message in the active chat until a reply (by an agent or a rule, once Zalo
  accepted it: ``Chat.ReplySent``; or by the OA manager) or the chat's end; ``ticket_unchanged`` counts from the last change by a
  person or by Zalo. Each enabled time rule looks at each spell once, when it reaches
  ``after_seconds``: before the event that ends the spell (``observe``), or when the
  clock gets there (``due``). It fires if its conditions hold then.

Nothing a rule causes (actor ``automation:...``) is a trigger, or starts or prolongs a
spell, so rules never react to rules. A rule's reply still answers a waiting customer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from attrs import evolve, frozen

from domain import actors
from domain.automation.facts import TicketFacts, all_hold
from domain.automation.ruleset import RULE_EVENTS, Rule, RuleSet
from domain.commands import FireRule
from domain.values import Direction, RuleTrigger, TicketStatus

AUTOMATION_ACTOR = actors.automation("")


def caused_by_rule(actor: str) -> bool:
    return actor.startswith(AUTOMATION_ACTOR)


@frozen
class Match:
    """A rule that fires on a ticket. ``key`` names the trigger within the rule, for the
    firing's id; ``trigger_position`` is the log position of the event the trigger is about
    (for a time trigger, the event that began the spell)."""

    rule: Rule
    ticket_id: UUID
    chat_id: UUID | None
    at: datetime
    trigger_position: int
    key: str
    facts: TicketFacts  # the ticket as the rule saw it

    @property
    def trigger(self) -> RuleTrigger:
        return self.rule.definition.trigger

    def command(self) -> FireRule:
        """The command that fires the rule on the ticket, once for this trigger."""
        return FireRule(
            rule_id=self.rule.id,
            rule_name=self.rule.name,
            trigger=self.trigger,
            trigger_key=self.key,
            trigger_position=self.trigger_position,
            ticket_id=self.ticket_id,
            actions=self.rule.definition.actions,
        )


def snapshot(facts: TicketFacts) -> TicketFacts:
    return evolve(facts, tags=list(facts.tags), waiting_done=set(), quiet_done=set())


@frozen
class _Pending:
    trigger: RuleTrigger
    ticket_id: UUID
    chat_id: UUID | None
    position: int
    at: datetime


Handler = Callable[["Tracker", int, Any, TicketFacts | None], list[Match]]


class Tracker:
    """``tickets`` and ``chats`` (chat id to ticket id, active chats only) may be the whole
    history in memory, or what a worker loaded from its table for one batch of the log."""

    def __init__(
        self,
        rules: RuleSet,
        tickets: MutableMapping[UUID, TicketFacts] | None = None,
        chats: MutableMapping[UUID, UUID] | None = None,
        follow_rules: bool = True,
    ) -> None:
        self.rules = rules
        self.tickets: MutableMapping[UUID, TicketFacts] = {} if tickets is None else tickets
        self.chats: MutableMapping[UUID, UUID] = {} if chats is None else chats
        self.follow_rules = follow_rules
        self.touched: set[UUID] = set()  # tickets whose facts changed
        self.ended_chats: set[UUID] = set()
        self.started_chats: set[UUID] = set()
        self._pending: list[_Pending] = []
        self._group: tuple[str, datetime] | None = None

    # Reading the log

    def observe(self, position: int, event: Any) -> list[Match]:
        """One event of the log, in order; the rules that fire now."""
        name = type(event).__qualname__
        if name.startswith(RULE_EVENTS):
            matches = self.flush()
            if self.follow_rules:
                self.rules.apply(event, position)
            return matches
        handler = HANDLERS.get(name)
        if handler is None:
            return []
        group = (str(event.actor), event.at)
        matches = self.flush() if group != self._group else []
        self._group = group
        ticket_id = self._ticket_of(name, event)
        facts = self.tickets.get(ticket_id) if ticket_id is not None else None
        return matches + handler(self, position, event, facts)

    def flush(self) -> list[Match]:
        """The event triggers of the command read last: call at the end of what was read."""
        pending, self._pending, self._group = self._pending, [], None
        matches: list[Match] = []
        for p in pending:
            facts = self.tickets.get(p.ticket_id)
            if facts is None:
                continue
            chat_id = p.chat_id if p.trigger != RuleTrigger.TICKET_CREATED else facts.active_chat_id
            key = f"{p.trigger.value}:{p.position}"
            matches += [
                Match(rule, p.ticket_id, chat_id, p.at, p.position, key, snapshot(facts))
                for rule in self.rules.enabled(p.trigger)
                if all_hold(rule.definition.conditions, facts)
            ]
        return matches

    def due(self, now: datetime, ticket_ids: Iterable[UUID] | None = None) -> list[Match]:
        """The time rules whose spell has reached ``after_seconds`` by ``now``."""
        ids = list(self.tickets) if ticket_ids is None else ticket_ids
        matches: list[Match] = []
        for ticket_id in ids:
            facts = self.tickets.get(ticket_id)
            if facts is not None:
                matches += self._due(facts, now)
        return matches

    def next_due(self, facts: TicketFacts) -> tuple[datetime | None, datetime | None]:
        """When a time rule next looks at the ticket: its waiting spell, its quiet spell."""
        return (
            self._next(facts.waiting_since, facts.waiting_done, RuleTrigger.CUSTOMER_WAITING),
            self._next(facts.quiet_since, facts.quiet_done, RuleTrigger.TICKET_UNCHANGED),
        )

    # Spells

    def _next(self, since: datetime | None, done: set[UUID], trigger: RuleTrigger) -> Any:
        if since is None:
            return None
        waits = [
            r.definition.after_seconds or 0 for r in self.rules.enabled(trigger) if r.id not in done
        ]
        return since + timedelta(seconds=min(waits)) if waits else None

    def _due(self, facts: TicketFacts, upto: datetime) -> list[Match]:
        """The time rules come due by ``upto`` that have not yet looked at the current spells;
        each looks once, and fires if its conditions hold on the ticket as it is now."""
        matches: list[Match] = []
        spells = (
            (RuleTrigger.CUSTOMER_WAITING, facts.waiting_since, facts.waiting_done),
            (RuleTrigger.TICKET_UNCHANGED, facts.quiet_since, facts.quiet_done),
        )
        for trigger, since, done in spells:
            if since is None:
                continue
            for rule in self.rules.enabled(trigger):
                at = since + timedelta(seconds=rule.definition.after_seconds or 0)
                if rule.id in done or at > upto:
                    continue
                done.add(rule.id)
                self.touched.add(facts.ticket_id)
                if all_hold(rule.definition.conditions, facts):
                    matches.append(self._timed(rule, trigger, facts, at))
        return matches

    def _timed(self, rule: Rule, trigger: RuleTrigger, facts: TicketFacts, at: datetime) -> Match:
        if trigger == RuleTrigger.CUSTOMER_WAITING:
            spell, subject = facts.waiting_position, facts.active_chat_id
        else:
            spell, subject = facts.quiet_position, facts.ticket_id
        key = f"{trigger.value}:{subject}:{spell}"
        return Match(rule, facts.ticket_id, facts.active_chat_id, at, spell, key, snapshot(facts))

    def _before(
        self, facts: TicketFacts, position: int, event: Any, ends_waiting: bool = False
    ) -> list[Match]:
        """Before an event changes the ticket: the time rules that came due before it, then
        the spells it ends or begins."""
        matches = self._due(facts, event.at)
        self.touched.add(facts.ticket_id)
        if ends_waiting:
            self._end_waiting(facts)
        if not caused_by_rule(event.actor):
            facts.quiet_since, facts.quiet_position = event.at, position
            facts.quiet_done = set()
        return matches

    def _end_waiting(self, facts: TicketFacts) -> None:
        if facts.waiting_since is not None:
            facts.waiting_since, facts.waiting_position = None, 0
            facts.waiting_done = set()
            self.touched.add(facts.ticket_id)

    def _trigger(
        self,
        trigger: RuleTrigger,
        facts: TicketFacts,
        position: int,
        event: Any,
        chat_id: UUID | None,
    ) -> None:
        if not caused_by_rule(event.actor):
            self._pending.append(_Pending(trigger, facts.ticket_id, chat_id, position, event.at))

    def _ticket_of(self, name: str, event: Any) -> UUID | None:
        if name.startswith("Ticket."):
            return event.originator_id  # type: ignore[no-any-return]
        if name in ("Chat.Started", "Reply.Queued"):
            return event.ticket_id  # type: ignore[no-any-return]
        return self.chats.get(event.originator_id)


# What each event means to the rules. ``facts`` is None for a ticket not known (yet).


def _opened(t: Tracker, position: int, e: Any, facts: TicketFacts | None) -> list[Match]:
    facts = TicketFacts(
        ticket_id=e.originator_id,
        channel=str(e.channel),
        account_id=e.account_id,
        status=TicketStatus.NEW.value,
        quiet_since=e.at,
        quiet_position=position,
    )
    t.tickets[facts.ticket_id] = facts
    t.touched.add(facts.ticket_id)
    t._trigger(RuleTrigger.TICKET_CREATED, facts, position, e, None)
    return []


def _ticket_field(attribute: str) -> Handler:
    def handle(t: Tracker, position: int, e: Any, facts: TicketFacts | None) -> list[Match]:
        if facts is None:
            return []
        matches = t._before(facts, position, e)
        value = getattr(e, attribute)
        if isinstance(value, list):
            value = [str(v) for v in value]
        elif value is not None:
            value = str(value)  # a status is stored as its word
        setattr(facts, attribute, value)
        return matches

    return handle


def _ticket_message(t: Tracker, position: int, e: Any, facts: TicketFacts | None) -> list[Match]:
    if facts is None:
        return []
    out = e.direction == Direction.OUT
    matches = t._before(facts, position, e, ends_waiting=out)
    facts.message_text, facts.message_kind = e.text, "text"
    if out:
        t._trigger(RuleTrigger.AGENT_REPLIED, facts, position, e, facts.active_chat_id)
    return matches


def _chat_started(t: Tracker, position: int, e: Any, facts: TicketFacts | None) -> list[Match]:
    t.chats[e.originator_id] = e.ticket_id
    t.started_chats.add(e.originator_id)
    t.ended_chats.discard(e.originator_id)
    if facts is None:
        return []
    matches = t._before(facts, position, e, ends_waiting=True)
    facts.active_chat_id = e.originator_id
    trigger = RuleTrigger.CHAT_REACTIVATED if e.reactivation else RuleTrigger.CHAT_STARTED
    t._trigger(trigger, facts, position, e, e.originator_id)
    return matches


def _customer_message(t: Tracker, position: int, e: Any, facts: TicketFacts | None) -> list[Match]:
    if facts is None:
        return []
    matches = t._before(facts, position, e)
    facts.message_text, facts.message_kind = e.text, str(e.kind)
    if facts.waiting_since is None and not caused_by_rule(e.actor):
        facts.waiting_since, facts.waiting_position = e.at, position
        facts.waiting_done = set()
    t._trigger(RuleTrigger.CUSTOMER_REPLIED, facts, position, e, e.originator_id)
    return matches


def _agent_replied(t: Tracker, position: int, e: Any, facts: TicketFacts | None) -> list[Match]:
    """The agent's action triggers at once; the customer waits on until Zalo takes the reply
    (events stored before ``activity`` existed counted the reply as answer when queued)."""
    if facts is None:
        return []
    matches = t._before(facts, position, e, ends_waiting=e.activity)
    t._trigger(RuleTrigger.AGENT_REPLIED, facts, position, e, e.originator_id)
    return matches


def _reply_sent(t: Tracker, position: int, e: Any, facts: TicketFacts | None) -> list[Match]:
    """Zalo accepted a reply: the customer is answered. The outbox's doing is no change by a
    person, so it begins no quiet spell, and it is no trigger."""
    if facts is None:
        return []
    matches = t._due(facts, e.at)
    t._end_waiting(facts)
    return matches


def _oa_manager_message(
    t: Tracker, position: int, e: Any, facts: TicketFacts | None
) -> list[Match]:
    if facts is None:
        return []
    matches = t._before(facts, position, e, ends_waiting=True)
    facts.message_text, facts.message_kind = e.text, str(e.kind)
    t._trigger(RuleTrigger.AGENT_REPLIED, facts, position, e, e.originator_id)
    return matches


def _chat_ended(t: Tracker, position: int, e: Any, facts: TicketFacts | None) -> list[Match]:
    t.chats.pop(e.originator_id, None)
    t.ended_chats.add(e.originator_id)
    t.started_chats.discard(e.originator_id)
    if facts is None:
        return []
    matches = t._before(facts, position, e, ends_waiting=True)
    if facts.active_chat_id == e.originator_id:
        facts.active_chat_id = None
    return matches


def _reply_queued(t: Tracker, position: int, e: Any, facts: TicketFacts | None) -> list[Match]:
    """The text of a reply; its ``Chat.AgentReplied``, in the same command, is the change."""
    if facts is not None:
        facts.message_text, facts.message_kind = e.text, "text"
        t.touched.add(facts.ticket_id)
    return []


HANDLERS: dict[str, Handler] = {
    "Ticket.Opened": _opened,
    "Ticket.StatusChanged": _ticket_field("status"),
    "Ticket.Assigned": _ticket_field("assignee"),
    "Ticket.TagsSet": _ticket_field("tags"),
    "Ticket.MessageAdded": _ticket_message,
    "Chat.Started": _chat_started,
    "Chat.CustomerMessageReceived": _customer_message,
    "Chat.AgentReplied": _agent_replied,
    "Chat.ReplySent": _reply_sent,
    "Chat.OAManagerMessageRecorded": _oa_manager_message,
    "Chat.Ended": _chat_ended,
    "Reply.Queued": _reply_queued,
}
# The events the tracker reads: others need not even be decoded.
EVENT_TYPES = frozenset(HANDLERS)


def references(event_type: str, event: Any) -> tuple[UUID | None, UUID | None]:
    """What a worker must load before the tracker reads this event: the ticket the event
    names, or the chat whose ticket must be looked up."""
    if event_type.startswith("Ticket."):
        return event.originator_id, None
    if event_type in ("Chat.Started", "Reply.Queued"):
        return event.ticket_id, None
    if event_type.startswith("Chat."):
        return None, event.originator_id
    return None, None
