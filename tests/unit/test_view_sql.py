"""Rows go into the view tables by column name, never by the tables' column order."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# ``INSERT INTO table VALUES`` or ``INSERT INTO table SELECT``: no column list.
UNNAMED = re.compile(r"INSERT\s+INTO\s+\S+\s+(VALUES|SELECT)\b", re.IGNORECASE)
COPY_UNNAMED = re.compile(r"COPY\s+\S+\s+FROM\b", re.IGNORECASE)


def unnamed_inserts(root: Path) -> set[str]:
    return {
        f"{path.relative_to(root)}: {found.group(0)}"
        for folder in ("adapters", "api", "bench")
        for path in (root / folder).rglob("*.py")
        for pattern in (UNNAMED, COPY_UNNAMED)
        for found in pattern.finditer(path.read_text())
    }


def test_every_insert_and_copy_names_its_columns() -> None:
    assert unnamed_inserts(ROOT) == set()


def test_an_insert_without_columns_is_found(tmp_path: Path) -> None:
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "view.py").write_text(
        'cur.execute(f"""INSERT INTO {self.t("contacts")}\n    VALUES (%s, %s)""")\n'
        'cur.execute("INSERT INTO tickets (ticket_id) VALUES (%s)")\n'
        'cur.copy(f"COPY {table} FROM STDIN")\n'
    )
    assert unnamed_inserts(tmp_path) == {
        'adapters/view.py: INSERT INTO {self.t("contacts")}\n    VALUES',
        "adapters/view.py: COPY {table} FROM",
    }
