"""The automation rules list, read from its view."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

COLUMNS = (
    "rule_id, name, enabled, trigger, after_seconds, conditions, actions, position, "
    "created_at, updated_at"
)


class RuleQueries:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def rules(self) -> list[dict[str, Any]]:
        """Every rule, in the order the rules run."""
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"SELECT {COLUMNS} FROM rule_list ORDER BY position, made_at_position, rule_id"
            )
            return list(cur.fetchall())

    def next_position(self) -> int:
        """After the last rule: where a new rule goes unless told otherwise."""
        with self.pool.connection() as conn:
            row = conn.execute("SELECT COALESCE(max(position), 0) + 1 FROM rule_list").fetchone()
        return int(row[0]) if row else 1
