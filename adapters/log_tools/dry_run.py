"""What a rule would have done on the history in the log, acting on nothing.

The log is read from the start (a ticket's facts need its whole history), by the same
tracker the automation worker uses, with the one rule as if it had been enabled all
along; the firings between ``since`` and ``until`` are the answer. Time triggers fire
when the spell reached ``after_seconds``, or by ``until`` for spells still open then.
Each match lists the rule's actions as they would have applied, each seeing the ones
before it, on the ticket as the history left it (the history does not change: a later
match sees the ticket as it really was, not as the earlier match would have left it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from attrs import frozen

from adapters.log_tools.event_log import EventLog, NoProgress, Progress
from adapters.timefmt import iso
from adapters.workers.automation import TOPICS
from domain.automation.actions import predict
from domain.automation.definition import RuleDefinition
from domain.automation.ruleset import Rule, RuleSet
from domain.automation.tracker import Match, Tracker

PAGE = 5000
DRY_RUN_RULE = UUID(int=0)
# Commits may land in the log a little out of time order: read this far past ``until``.
STRAGGLERS = timedelta(minutes=1)


@frozen
class DryRun:
    events_scanned: int
    matches: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"events_scanned": self.events_scanned, "matches": self.matches}


def dry_run(
    log: EventLog,
    rule: RuleDefinition,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Progress | None = None,
) -> DryRun:
    shown = progress or NoProgress()
    end = min(until, now) if until is not None else now
    tracker = Tracker(RuleSet([_only(rule)]), follow_rules=False)
    head = log.head()
    shown.start(head, "dry run")
    found: list[Match] = []
    position = 0
    while position < head:
        page = log.app.recorder.select_notifications(
            start=position, limit=PAGE, stop=head, topics=TOPICS, inclusive_of_start=False
        )
        reached = page[-1].id if len(page) == PAGE else head
        late = False
        for notification in page:
            event: Any = log.app.mapper.to_domain_event(notification)
            if event.at > end:
                late = late or event.at > end + STRAGGLERS
                continue
            found += tracker.observe(notification.id, event)
        shown.advance(reached - position)
        position = reached
        if late:
            break
    found += tracker.flush()
    found += tracker.due(end)
    shown.finish()
    matches = [m for m in found if since is None or m.at >= since]
    matches.sort(key=lambda m: (m.at, m.trigger_position))
    return DryRun(log.count(0, position), [shown_match(m) for m in matches])


def _only(rule: RuleDefinition) -> Rule:
    return Rule(
        id=DRY_RUN_RULE,
        name="dry run",
        enabled=True,
        position=0,
        created_at=datetime(1970, 1, 1, tzinfo=UTC),
        definition=rule,
    )


def shown_match(match: Match) -> dict[str, Any]:
    return {
        "ticket_id": str(match.ticket_id),
        "chat_id": str(match.chat_id) if match.chat_id else None,
        "at": iso(match.at),
        "trigger_position": match.trigger_position,
        "actions": predict(match.rule.definition.actions, match.facts),
    }
