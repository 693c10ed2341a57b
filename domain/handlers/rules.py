"""Automation rules: an admin's changes to them, and a rule's firing on a ticket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from attrs import frozen
from eventsourcing.domain import Aggregate

from domain import actors
from domain.automation.actions import outcome, skip_reason
from domain.automation.definition import RuleAction, definition, from_data
from domain.automation.firing import RuleFiring, firing_id
from domain.automation.rule import AutomationRule
from domain.commands import ChangeRule, CreateRule, DeleteRule, FireRule
from domain.errors import Conflict, InvalidInput
from domain.handlers.base import Decision
from domain.handlers.chats import ChatHandlers
from domain.reply import Reply
from domain.ticket import Ticket
from domain.values import TIME_TRIGGERS, EndReason, RuleActionType, RuleTrigger

A = TypeVar("A", bound=Aggregate)

EDITABLE = frozenset(
    {"name", "enabled", "trigger", "after_seconds", "conditions", "actions", "position"}
)
DEFINITION = ("trigger", "after_seconds", "conditions", "actions")

# The aggregates one firing has loaded, by id, in this thread: the steps of one firing
# (end the chat, then reply) change the same copies, saved together.
_firing = threading.local()


@frozen
class Fired:
    firing_id: UUID
    outcomes: list[dict[str, Any]]


class RuleHandlers(ChatHandlers):
    """Beside the chat commands, whose steps (ending a chat, a reply) a rule's actions reuse."""

    def rule(self, rule_id: UUID) -> AutomationRule:
        return self._get(AutomationRule, rule_id, "rule")

    def create_rule(self, cmd: CreateRule) -> AutomationRule:
        rule = definition(cmd.trigger, cmd.after_seconds, cmd.conditions, cmd.actions)

        def decide() -> Decision[AutomationRule]:
            made = AutomationRule.make(
                cmd.name, cmd.enabled, rule, cmd.position, cmd.actor, self.clock()
            )
            return made, [made]

        return self._change(decide)

    def change_rule(self, cmd: ChangeRule) -> AutomationRule:
        unknown = sorted(set(cmd.changes) - EDITABLE)
        if unknown:
            raise InvalidInput(f"{', '.join(unknown)}: cannot be changed")
        changes = cmd.changes

        def decide() -> Decision[AutomationRule]:
            rule = self.rule(cmd.rule_id)
            now = self.clock()
            if "name" in changes:
                rule.rename(changes["name"], cmd.actor, now)
            if any(key in changes for key in DEFINITION):
                rule.redefine(from_data(redefined(rule, changes)), cmd.actor, now)
            if "position" in changes:
                rule.move(changes["position"], cmd.actor, now)
            if "enabled" in changes:
                rule.switch(changes["enabled"], cmd.actor, now)
            return rule, [rule]

        return self._change(decide)

    def delete_rule(self, cmd: DeleteRule) -> None:
        self._update(lambda: self.rule(cmd.rule_id), lambda rule, now: rule.delete(cmd.actor, now))

    def fire_rule(self, cmd: FireRule) -> Fired | None:
        """Apply the rule's actions in order, as ``automation:<rule id>``, all saved in one
        transaction with the firing's record; None if this trigger has fired already."""
        fired_id = firing_id(cmd.rule_id, cmd.trigger_key)
        actor = actors.automation(str(cmd.rule_id))
        attempts = 0

        def decide() -> Decision[Fired | None]:
            # Saving is the duplicate check: only after a conflict is the firing looked for.
            nonlocal attempts
            attempts += 1
            if attempts > 1 and self._exists(fired_id):
                return None, []
            with self._one_firing() as loaded:
                now = self.clock()
                ticket = self.ticket(cmd.ticket_id)
                outcomes = [
                    self._act(action, n, ticket, cmd, fired_id, actor, now, loaded)
                    for n, action in enumerate(cmd.actions)
                ]
                ticket.record_rule_firing(cmd.rule_id, cmd.trigger, outcomes, actor, now)
                firing = RuleFiring(
                    rule_id=cmd.rule_id,
                    trigger_key=cmd.trigger_key,
                    trigger=cmd.trigger,
                    trigger_position=cmd.trigger_position,
                    ticket_id=cmd.ticket_id,
                    actor=actor,
                    at=now,
                )
                return Fired(fired_id, outcomes), [firing, *loaded.values()]

        return self._change(decide)

    def _act(
        self,
        action: RuleAction,
        index: int,
        ticket: Ticket,
        cmd: FireRule,
        fired_id: UUID,
        actor: str,
        now: datetime,
        loaded: dict[UUID, Aggregate],
    ) -> dict[str, Any]:
        """One action, recorded as applied, or skipped with the reason it does not apply."""
        reason = skip_reason(action, ticket)
        if reason is not None:
            return outcome(action, reason)
        try:
            if action.type == RuleActionType.END_CHAT:
                assert ticket.active_chat_id is not None  # else skipped above
                chat = self.chat(ticket.active_chat_id)
                changed = self._end(chat, ticket, EndReason.AUTOMATION, action.status, actor, now)
            elif action.type == RuleActionType.REPLY:
                changed = self._rule_reply(ticket, action.text, f"{fired_id}:{index}", actor, now)
            else:
                changed = [ticket]
                self._change_ticket(ticket, action, cmd.rule_name, actor, now)
        except Conflict as ex:
            return outcome(action, str(ex))
        for aggregate in changed:
            loaded.setdefault(aggregate.id, aggregate)
        return outcome(action)

    def _change_ticket(
        self, ticket: Ticket, action: RuleAction, rule_name: str, actor: str, now: datetime
    ) -> None:
        if action.type == RuleActionType.SET_STATUS:
            assert action.status is not None
            because = f"automation rule {rule_name!r}"
            ticket.set_status(action.status, reason=because, receipt_id=None, actor=actor, at=now)
        elif action.type == RuleActionType.ADD_TAG:
            ticket.retag([*ticket.tags, action.tag], actor=actor, at=now)
        elif action.type == RuleActionType.ASSIGN:
            ticket.assign(action.agent, actor=actor, at=now)

    def _rule_reply(
        self, ticket: Ticket, text: str, key: str, actor: str, now: datetime
    ) -> list[Aggregate]:
        """Queued for the outbox as an agent's reply is, on the ticket's chat (a new session
        if it has ended); its id comes from the firing, so it is queued once."""
        contact, chat = self._live_chat(ticket, actor, now)
        reply = Reply(
            ticket_id=ticket.id,
            chat_id=chat.id,
            account_id=chat.account_id,
            contact_id=contact.id,
            text=text,
            client_message_id=f"rule:{key}",
            actor=actor,
            at=now,
        )
        chat.agent_replied(reply.id, actor, now)
        return [contact, ticket, chat, reply]

    @contextmanager
    def _one_firing(self) -> Iterator[dict[UUID, Aggregate]]:
        loaded: dict[UUID, Aggregate] = {}
        _firing.loaded = loaded
        try:
            yield loaded
        finally:
            _firing.loaded = None

    def _find(self, kind: type[A], aggregate_id: UUID | None) -> A | None:
        """During a firing, each aggregate is loaded once and then shared by its steps."""
        loaded: dict[UUID, Aggregate] | None = getattr(_firing, "loaded", None)
        if loaded is None or aggregate_id is None:
            return super()._find(kind, aggregate_id)
        found = loaded.get(aggregate_id)
        if found is None:
            found = super()._find(kind, aggregate_id)
            if found is not None:
                loaded[aggregate_id] = found
        return found if isinstance(found, kind) else None


def redefined(rule: AutomationRule, changes: dict[str, Any]) -> dict[str, Any]:
    """The rule's definition with the changes; a new event trigger drops ``after_seconds``."""
    merged = {**rule.definition_data(), **{k: changes[k] for k in DEFINITION if k in changes}}
    if "trigger" in changes and "after_seconds" not in changes:
        try:
            timed = RuleTrigger(changes["trigger"]) in TIME_TRIGGERS
        except ValueError:
            timed = True  # unknown: the definition's check names it
        if not timed:
            merged["after_seconds"] = None
    return merged
