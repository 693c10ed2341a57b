"""Events a view could not apply, set aside so that the later ones flow on.

One row per view (by tracking key) and position. A row stays once the event applies
after all (a rebuild of the view by ``zalodesk replay``): ``cleared_at`` says when. So
the rows of a view count every event it ever set aside, and those not cleared are the
ones a person must look at.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from attrs import asdict, frozen

SET_ASIDE_DDL = """CREATE TABLE IF NOT EXISTS set_aside_events (
    view text NOT NULL,
    position bigint NOT NULL,
    event_type text NOT NULL,
    error text NOT NULL,
    set_aside_at timestamptz NOT NULL DEFAULT now(),
    cleared_at timestamptz,
    PRIMARY KEY (view, position)
)"""
ERROR_CHARS = 1000


@frozen
class SetAside:
    view: str
    position: int
    event_type: str
    error: str
    set_aside_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "set_aside_at": self.set_aside_at.isoformat()}


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_CHARS]


def record(cur: Any, key: str, position: int, event_type: str, error: str) -> None:
    cur.execute(
        """INSERT INTO set_aside_events (view, position, event_type, error)
           VALUES (%s, %s, %s, %s)
           ON CONFLICT (view, position) DO UPDATE SET event_type = EXCLUDED.event_type,
               error = EXCLUDED.error, cleared_at = NULL""",
        (key, position, event_type, error),
    )


def still_set_aside(cur: Any, keys: Sequence[str], limit: int | None = None) -> list[SetAside]:
    """The events these views have set aside and not applied since, oldest first."""
    cur.execute(
        """SELECT view, position, event_type, error, set_aside_at FROM set_aside_events
           WHERE view = ANY(%s) AND cleared_at IS NULL ORDER BY position, view LIMIT %s""",
        (list(keys), limit),
    )
    return [SetAside(*row) for row in cur.fetchall()]


def count_still_set_aside(cur: Any, keys: Sequence[str]) -> int:
    cur.execute(
        "SELECT count(*) FROM set_aside_events WHERE view = ANY(%s) AND cleared_at IS NULL",
        (list(keys),),
    )
    return int(cur.fetchone()[0])


def ever_set_aside(cur: Any, keys: Sequence[str]) -> dict[str, int]:
    """How many events each of these views has ever set aside (0 for none)."""
    cur.execute(
        "SELECT view, count(*) FROM set_aside_events WHERE view = ANY(%s) GROUP BY view",
        (list(keys),),
    )
    found = dict(cur.fetchall())
    return {key: int(found.get(key, 0)) for key in keys}


def take_over(cur: Any, live: str, rebuilt: str) -> None:
    """A rebuilt copy replaces the live view: what the copy set aside is the view's now, and
    what the view had set aside but the copy applied is cleared."""
    cur.execute(
        """UPDATE set_aside_events SET cleared_at = now()
           WHERE view = %s AND cleared_at IS NULL AND position NOT IN
               (SELECT position FROM set_aside_events WHERE view = %s)""",
        (live, rebuilt),
    )
    cur.execute(
        """INSERT INTO set_aside_events (view, position, event_type, error, set_aside_at)
           SELECT %s, position, event_type, error, set_aside_at FROM set_aside_events
           WHERE view = %s
           ON CONFLICT (view, position) DO UPDATE SET event_type = EXCLUDED.event_type,
               error = EXCLUDED.error, cleared_at = NULL""",
        (live, rebuilt),
    )
    forget(cur, rebuilt)


def forget(cur: Any, key: str) -> None:
    cur.execute("DELETE FROM set_aside_events WHERE view = %s", (key,))
