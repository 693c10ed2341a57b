"""The automation rules, as admins list them: in the order they run."""

from __future__ import annotations

from typing import Any, ClassVar

from psycopg import Cursor
from psycopg.types.json import Jsonb

from adapters.read_models.views.base import RowsView, Updates, handles


class RulesView(RowsView):
    name = "rules"
    table = "rule_list"
    version = 1
    key = "rule_id"
    columns = """
        name text NOT NULL,
        enabled boolean NOT NULL,
        trigger text NOT NULL,
        after_seconds integer,
        conditions jsonb NOT NULL,
        actions jsonb NOT NULL,
        position integer NOT NULL,
        made_at_position bigint NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    """

    updates: ClassVar[Updates] = {
        "AutomationRule.Renamed": lambda e: {"name": e.name},
        "AutomationRule.Redefined": lambda e: {
            "trigger": str(e.trigger),
            "after_seconds": e.after_seconds,
            "conditions": Jsonb(e.conditions),
            "actions": Jsonb(e.actions),
        },
        "AutomationRule.Enabled": lambda e: {"enabled": True},
        "AutomationRule.Disabled": lambda e: {"enabled": False},
        "AutomationRule.Moved": lambda e: {"position": e.position},
    }
    deleted_by = ("AutomationRule.Deleted",)

    @handles("AutomationRule.Created")
    def created(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._insert(
            cur,
            e,
            name=e.name,
            enabled=e.enabled,
            trigger=str(e.trigger),
            after_seconds=e.after_seconds,
            conditions=Jsonb(e.conditions),
            actions=Jsonb(e.actions),
            position=e.position,
            made_at_position=position,
            created_at=e.at,
            updated_at=e.at,
        )
