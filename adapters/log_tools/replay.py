"""Views rebuilt from the log while the API answers and the live projector carries on.

``Replay`` builds each chosen view into a second copy of its tables (suffix
``_rebuild``, tracked in view_positions under its own key), in large pipelined
transactions; an interrupted replay resumes from that key. It then swaps in one
transaction: it locks the live views' positions (so the live projector waits
for it), brings the copy up to the head of the log, drops the live tables,
renames the copy's tables and indexes to the live names and moves the live
position to the copy's. The live projector then carries on from there, so no
event is lost or applied twice. The copy is built by the code's version of each
view (``View.version``), and that version is recorded for the live view in the
same transaction.

``Verify`` builds every view aside into scratch tables (suffix ``_verify``) up
to the live view's own position and compares the two row sets, table by table,
and names the events each live view has set aside and not applied since.

A rebuild applies again the events the live view had set aside: those that apply
now are cleared at the swap, those that still fail stay set aside.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from attrs import frozen
from psycopg_pool import ConnectionPool

from adapters.log_tools.event_log import EventLog, NoProgress, Progress
from adapters.read_models import set_aside
from adapters.read_models.set_aside import SetAside
from adapters.read_models.view_versions import (
    forget_version,
    has_all_tables,
    record_version,
    recorded_versions,
)
from adapters.read_models.views.base import View
from adapters.read_models.views.registry import VIEW_CLASSES
from adapters.workers.projector import (
    Projector,
    lock_positions,
    read_positions,
    tracking_key,
)

ASIDE = "_rebuild"
SCRATCH = "_verify"
BATCH = 5000
LOCK = "zalodesk:replay"
# Columns whose values may differ between a live view and its rebuild. None do
# today: every value comes from the events (their times, their log positions).
IGNORED_COLUMNS: dict[str, frozenset[str]] = {}


class UnknownView(ValueError):
    pass


class Busy(RuntimeError):
    """Another replay or verify holds the database."""


def view_names() -> list[str]:
    return [cls.name for cls in VIEW_CLASSES]


def views_named(names: Sequence[str], suffix: str = "") -> list[View]:
    """The named views (all of them when none are named), in the registry's order."""
    unknown = set(names) - set(view_names())
    if unknown:
        raise UnknownView(
            f"no view named {', '.join(sorted(unknown))}; the views are {', '.join(view_names())}"
        )
    return [cls(suffix) for cls in VIEW_CLASSES if not names or cls.name in names]


@contextmanager
def exclusive(pool: ConnectionPool[Any], wait: bool = False) -> Iterator[None]:
    """One replay or verify at a time on a database (a session advisory lock).

    Busy at once if another holds it, or with ``wait``, once the other is done.
    """
    with pool.connection() as conn:
        if wait:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (LOCK,))
        else:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK,)).fetchone()
            if not (row and row[0]):
                raise Busy("another replay or verify is running on this database")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (LOCK,))


class Builder:
    """Rebuilds views aside: the projector's batch path, up to a position, with progress.

    Events no view handles are skipped before they are decoded.
    """

    def __init__(
        self, log: EventLog, pool: ConnectionPool[Any], views: Sequence[View], batch: int = BATCH
    ) -> None:
        self.pool = pool
        self.views = list(views)
        self.projector = Projector(log.app, pool, views, batch)

    def low(self) -> int:
        """The lowest position among the views: where the next batch starts."""
        with self.pool.connection() as conn, conn.cursor() as cur:
            return min(read_positions(cur, self.views).values())

    def run(self, upto: int, progress: Progress) -> None:
        while covered := self.projector.step(upto):
            progress.advance(covered)

    def step(self, cur: Any, upto: int) -> int:
        """Apply the next batch up to position ``upto`` in the caller's transaction."""
        return self.projector.apply_batch(cur, upto)

    def catch_up(self, cur: Any, upto: int) -> None:
        while self.step(cur, upto):
            pass


class Replay:
    """``wait``: wait for another replay or verify to finish rather than fail (``Busy``)."""

    def __init__(
        self, log: EventLog, pool: ConnectionPool[Any], batch: int = BATCH, wait: bool = False
    ) -> None:
        self.log = log
        self.pool = pool
        self.batch = batch
        self.wait = wait

    def run(
        self, names: Sequence[str] = (), progress: Progress | None = None, doing: str = "replaying"
    ) -> int:
        """Rebuild the named views (all when none) and swap them in; returns the position."""
        progress = progress or NoProgress()
        live, aside = views_named(names), views_named(names, ASIDE)
        with exclusive(self.pool, self.wait):
            self._prepare(aside)
            builder = Builder(self.log, self.pool, aside, self.batch)
            head = self.log.head()
            progress.start(self.log.count(builder.low(), head), doing)
            builder.run(head, progress)
            self._index(aside)
            builder.run(self.log.head(), progress)  # what came meanwhile, before taking locks
            position = self._swap(live, aside, builder)
        progress.finish()
        return position

    def resumable(self, names: Sequence[str] = ()) -> dict[str, int]:
        """Views whose interrupted rebuild would resume, with the position it reached."""
        aside = views_named(names, ASIDE)
        with self.pool.connection() as conn, conn.cursor() as cur:
            return {
                v.name: read_positions(cur, [v])[tracking_key(v)]
                for v in aside
                if _resumable(cur, v)
            }

    def _prepare(self, aside: Sequence[View]) -> None:
        """Keep a copy that an interrupted replay of this version left complete; start any
        other afresh."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            for view in aside:
                if not _resumable(cur, view):
                    drop(cur, view)
                for statement in view.table_ddl():
                    cur.execute(statement)
                record_version(cur, view)

    def _index(self, aside: Sequence[View]) -> None:
        """Secondary indexes last: building them once is cheaper than keeping them up."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            for view in aside:
                for statement in view.index_ddl():
                    cur.execute(statement)

    def _swap(self, live: Sequence[View], aside: Sequence[View], builder: Builder) -> int:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            lock_positions(cur, live)  # the live projector waits from here to the commit
            head = self.log.head()
            builder.catch_up(cur, head)
            position = max(read_positions(cur, aside).values())
            for old, new in zip(live, aside, strict=True):
                for table in old.tables:
                    _replace(cur, old.t(table), new.t(table))
                # A view never projected yet has no position to update: insert it.
                cur.execute(
                    """INSERT INTO view_positions (view, position) VALUES (%s, %s)
                       ON CONFLICT (view) DO UPDATE SET position = EXCLUDED.position""",
                    (tracking_key(old), position),
                )
                record_version(cur, old)
                set_aside.take_over(cur, tracking_key(old), tracking_key(new))
                cur.execute("DELETE FROM view_positions WHERE view = %s", (tracking_key(new),))
                forget_version(cur, new)
            return int(position)


def _replace(cur: Any, live: str, rebuilt: str) -> None:
    cur.execute(f"DROP TABLE IF EXISTS {live}")
    cur.execute(f"ALTER TABLE {rebuilt} RENAME TO {live}")
    cur.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
        (live,),
    )
    for (index,) in cur.fetchall():
        if index.startswith(rebuilt):
            cur.execute(f"ALTER INDEX {index} RENAME TO {live}{index[len(rebuilt) :]}")


def _resumable(cur: Any, view: View) -> bool:
    """A copy left complete and tracked by an interrupted replay of the code's version."""
    return (
        has_all_tables(cur, view)
        and _tracked(cur, view)
        and recorded_versions(cur, [view]).get(tracking_key(view)) == view.version
    )


def _tracked(cur: Any, view: View) -> bool:
    cur.execute("SELECT 1 FROM view_positions WHERE view = %s", (tracking_key(view),))
    return cur.fetchone() is not None


def drop(cur: Any, view: View) -> None:
    for table in view.tables:
        cur.execute(f"DROP TABLE IF EXISTS {view.t(table)}")
    cur.execute("DELETE FROM view_positions WHERE view = %s", (tracking_key(view),))
    forget_version(cur, view)
    set_aside.forget(cur, tracking_key(view))


# Verify


@frozen
class TableDifference:
    table: str
    only_live: int
    only_rebuilt: int
    examples: list[str]
    columns: str | None = None

    def summary(self) -> str:
        if self.columns:
            return f"{self.table}: columns differ ({self.columns})"
        keys = f" (e.g. {'; '.join(self.examples)})" if self.examples else ""
        return (
            f"{self.table}: {_rows(self.only_live)} only in the live view, "
            f"{_rows(self.only_rebuilt)} only in the rebuild{keys}"
        )


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


@frozen
class ViewCheck:
    view: str
    position: int
    rows: int
    differences: list[TableDifference]
    set_aside: list[SetAside]

    @property
    def equal(self) -> bool:
        return not self.differences


class Verify:
    def __init__(self, log: EventLog, pool: ConnectionPool[Any], batch: int = BATCH) -> None:
        self.log = log
        self.pool = pool
        self.batch = batch

    def run(self, progress: Progress | None = None) -> list[ViewCheck]:
        progress = progress or NoProgress()
        live, scratch = views_named([]), views_named([], SCRATCH)
        with exclusive(self.pool):
            self._create(scratch)
            try:
                builder = Builder(self.log, self.pool, scratch, self.batch)
                target = self._lowest(live)
                progress.start(self.log.count(0, target), "rebuilding aside")
                builder.run(target, progress)
                progress.finish()
                return [self._check(old, new) for old, new in zip(live, scratch, strict=True)]
            finally:
                with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                    for view in scratch:
                        drop(cur, view)

    def _create(self, scratch: Sequence[View]) -> None:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            for view in scratch:
                drop(cur, view)
                for statement in view.table_ddl():
                    cur.execute(statement)

    def _lowest(self, live: Sequence[View]) -> int:
        with self.pool.connection() as conn, conn.cursor() as cur:
            return min(read_positions(cur, live).values())

    def _check(self, live: View, scratch: View) -> ViewCheck:
        """Compare at the live view's own position, in one snapshot of the live tables."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            position = read_positions(cur, [live])[tracking_key(live)]
            Builder(self.log, self.pool, [scratch], self.batch).catch_up(cur, position)
            differences = [
                d
                for table in live.tables
                if (d := _compare(cur, table, live.t(table), scratch.t(table)))
            ]
            rows = sum(_count(cur, live.t(table)) for table in live.tables)
            aside = set_aside.still_set_aside(cur, [tracking_key(live)])
        return ViewCheck(live.name, position, rows, differences, aside)


def _compare(cur: Any, table: str, live: str, rebuilt: str) -> TableDifference | None:
    columns = _columns(cur, live)
    if columns != _columns(cur, rebuilt):
        return TableDifference(table, 0, 0, [], "the live table's are " + ", ".join(columns))
    kept = ", ".join(c for c in columns if c not in IGNORED_COLUMNS.get(table, frozenset()))
    only_live = _except(cur, kept, live, rebuilt)
    only_rebuilt = _except(cur, kept, rebuilt, live)
    if not (only_live or only_rebuilt):
        return None
    return TableDifference(table, only_live, only_rebuilt, _examples(cur, kept, live, rebuilt))


def _columns(cur: Any, table: str) -> list[str]:
    cur.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    return [row[0] for row in cur.fetchall()]


def _except(cur: Any, columns: str, first: str, second: str) -> int:
    cur.execute(
        f"SELECT count(*) FROM (SELECT {columns} FROM {first} "
        f"EXCEPT ALL SELECT {columns} FROM {second}) d"
    )
    return int(cur.fetchone()[0])


def _examples(cur: Any, columns: str, live: str, rebuilt: str) -> list[str]:
    keys = _primary_key(cur, live) or columns.split(", ")[:1]
    cur.execute(
        f"SELECT DISTINCT {', '.join(keys)} FROM ((SELECT {columns} FROM {live} "
        f"EXCEPT ALL SELECT {columns} FROM {rebuilt}) UNION ALL (SELECT {columns} "
        f"FROM {rebuilt} EXCEPT ALL SELECT {columns} FROM {live})) d LIMIT 3"
    )
    return [" ".join(f"{k}={v}" for k, v in zip(keys, row, strict=True)) for row in cur.fetchall()]


def _primary_key(cur: Any, table: str) -> list[str]:
    cur.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
        (table,),
    )
    return [row[0] for row in cur.fetchall()]


def _count(cur: Any, table: str) -> int:
    cur.execute(f"SELECT count(*) FROM {table}")
    return int(cur.fetchone()[0])
