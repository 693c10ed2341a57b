"""Which version of its tables each view was built with, recorded beside its position.

A view whose recorded version is not the code's (or that has none) is rebuilt from
the log before anything reads it: see ``adapters.postgres.schema.prepare``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.read_models.views.base import View
from adapters.workers.projector import tracking_key

VERSIONS_DDL = """CREATE TABLE IF NOT EXISTS view_versions (
    view text PRIMARY KEY,
    version integer NOT NULL
)"""


def recorded_versions(cur: Any, views: Sequence[View]) -> dict[str, int]:
    """The recorded version of each of these views that has one, by tracking key."""
    keys = [tracking_key(view) for view in views]
    cur.execute("SELECT view, version FROM view_versions WHERE view = ANY(%s)", (keys,))
    return {str(key): int(version) for key, version in cur.fetchall()}


def record_version(cur: Any, view: View) -> None:
    """Record that this view's tables are now the code's version of them."""
    cur.execute(
        """INSERT INTO view_versions (view, version) VALUES (%s, %s)
           ON CONFLICT (view) DO UPDATE SET version = EXCLUDED.version""",
        (tracking_key(view), view.version),
    )


def forget_version(cur: Any, view: View) -> None:
    cur.execute("DELETE FROM view_versions WHERE view = %s", (tracking_key(view),))


def has_all_tables(cur: Any, view: View) -> bool:
    cur.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY(%s)",
        ([view.t(t) for t in view.tables],),
    )
    row = cur.fetchone()
    return bool(row and row[0] == len(view.tables))


def outdated(cur: Any, views: Sequence[View]) -> list[View]:
    """The views not built by the code's version: another version, none recorded, or a table
    missing."""
    recorded = recorded_versions(cur, views)
    return [
        view
        for view in views
        if recorded.get(tracking_key(view)) != view.version or not has_all_tables(cur, view)
    ]
