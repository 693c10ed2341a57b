"""The command as people expect it: a version, help that names the settings, and one clear
line and a non-zero status for every mistake at start, never a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.e2e.server import run_cli, service_env


def one_line_error(result: object, expected: str) -> None:
    stderr = getattr(result, "stderr", "")
    assert getattr(result, "returncode", 0) != 0
    assert "Traceback" not in stderr
    assert expected in stderr, stderr
    # argparse's usage lines may stand before its error line; the error itself is one line.
    said = [
        line
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(("usage:", " "))
    ]
    assert len(said) == 1, stderr


@pytest.fixture
def occupied_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_the_version_is_printed(tmp_path: Path) -> None:
    result = run_cli(service_env(tmp_path, None), "--version")
    assert result.returncode == 0
    assert result.stdout.startswith("zalodesk ")


def test_help_shows_defaults_and_the_settings_each_command_reads(tmp_path: Path) -> None:
    result = run_cli(service_env(tmp_path, None), "serve", "--help")
    assert result.returncode == 0
    assert "(default: 127.0.0.1:8000)" in result.stdout
    assert "ZALODESK_DATABASE_URL" in result.stdout
    assert "ZALODESK_DATA_DIR" in result.stdout


@pytest.mark.parametrize("command", [["token", "create", "lan"], ["verify"], ["api"], ["worker"]])
def test_without_a_database_a_command_other_than_serve_creates_none(
    tmp_path: Path, command: list[str]
) -> None:
    data = tmp_path / "data"
    result = run_cli(service_env(data, None), *command)
    one_line_error(result, "no database: ZALODESK_DATABASE_URL is not set and")
    assert str(data / "pgdata") in result.stderr
    assert not (data / "pgdata").exists()


def test_a_port_in_use_is_one_line(tmp_path: Path, occupied_port: int, database_url: str) -> None:
    result = run_cli(
        service_env(tmp_path, database_url), "api", "--bind", f"127.0.0.1:{occupied_port}"
    )
    one_line_error(result, f"cannot listen on 127.0.0.1:{occupied_port}: Address already in use")


@pytest.mark.parametrize("bind", ["nonsense", "127.0.0.1:99999", "127.0.0.1:http"])
def test_a_bad_bind_is_one_line(tmp_path: Path, bind: str) -> None:
    result = run_cli(service_env(tmp_path, None), "serve", "--bind", bind)
    one_line_error(result, "argument --bind: must be HOST:PORT")


def test_a_database_url_that_is_not_postgresql_is_one_line(tmp_path: Path) -> None:
    env = service_env(tmp_path, "mysql://root@127.0.0.1/shop")
    one_line_error(run_cli(env, "token", "create", "lan"), "must be a PostgreSQL URL")


def test_more_workers_than_the_database_can_serve_is_one_line(
    tmp_path: Path, database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
    workers = int(row[0]) if row else 100  # each worker needs several: far too many
    result = run_cli(service_env(tmp_path, database_url), "api", "--workers", str(workers))
    one_line_error(result, f"{workers} workers with 1 thread(s) each may need")
    assert "raise the server's max_connections" in result.stderr
