"""The automation rules, as admins list them: in the order they run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from adapters.read_models.views.base import View, handles


class RulesView(View):
    name = "rules"
    tables = ("rule_list",)
    version = 1

    def ddl(self) -> Sequence[str]:
        return [
            f"""CREATE TABLE IF NOT EXISTS {self.t("rule_list")} (
                rule_id uuid PRIMARY KEY,
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
            )"""
        ]

    @handles("AutomationRule.Created")
    def created(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            f"""INSERT INTO {self.t("rule_list")}
                (rule_id, name, enabled, trigger, after_seconds, conditions, actions, position,
                 made_at_position, created_at, updated_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (rule_id) DO NOTHING""",
            (
                e.originator_id,
                e.name,
                e.enabled,
                str(e.trigger),
                e.after_seconds,
                Jsonb(e.conditions),
                Jsonb(e.actions),
                e.position,
                position,
                e.at,
                e.at,
            ),
        )

    @handles("AutomationRule.Renamed")
    def renamed(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._set(cur, e, name=e.name)

    @handles("AutomationRule.Redefined")
    def redefined(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._set(
            cur,
            e,
            trigger=str(e.trigger),
            after_seconds=e.after_seconds,
            conditions=Jsonb(e.conditions),
            actions=Jsonb(e.actions),
        )

    @handles("AutomationRule.Enabled")
    def enabled(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._set(cur, e, enabled=True)

    @handles("AutomationRule.Disabled")
    def disabled(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._set(cur, e, enabled=False)

    @handles("AutomationRule.Moved")
    def moved(self, cur: Cursor[Any], e: Any, position: int) -> None:
        self._set(cur, e, position=e.position)

    @handles("AutomationRule.Deleted")
    def deleted(self, cur: Cursor[Any], e: Any, position: int) -> None:
        cur.execute(f"DELETE FROM {self.t('rule_list')} WHERE rule_id = %s", (e.originator_id,))

    def _set(self, cur: Cursor[Any], e: Any, **columns: Any) -> None:
        """The rule's row changed at ``e.at``: these columns (named here, never by data)."""
        assignments = "".join(f", {column} = %s" for column in columns)
        cur.execute(
            f"""UPDATE {self.t("rule_list")} SET updated_at = %s{assignments}
                WHERE rule_id = %s""",
            (e.at, *columns.values(), e.originator_id),
        )
