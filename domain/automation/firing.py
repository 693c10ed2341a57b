"""One firing of a rule on one trigger, recorded once.

Its id comes from the rule and the trigger (the log position of the event, or the spell
a time trigger counted), and it is saved in the same transaction as everything its
actions change. Saving it a second time is a conflict: a trigger seen again after a
restart, or by a second worker, changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import DeskAggregate, EnumAttribute
from domain.identity import NAMESPACE
from domain.values import RuleTrigger


def firing_id(rule_id: UUID, trigger_key: str) -> UUID:
    return uuid5(NAMESPACE, f"rule-firing:{rule_id}:{trigger_key}")


class RuleFiring(DeskAggregate):
    trigger = EnumAttribute(RuleTrigger)

    @staticmethod
    def create_id(rule_id: UUID, trigger_key: str) -> UUID:
        return firing_id(rule_id, trigger_key)

    @event("Fired")
    def __init__(
        self,
        rule_id: UUID,
        trigger_key: str,
        trigger: RuleTrigger,
        trigger_position: int,
        ticket_id: UUID,
        actor: str,
        at: datetime,
    ) -> None:
        self.rule_id = rule_id
        self.trigger = trigger
        self.ticket_id = ticket_id
