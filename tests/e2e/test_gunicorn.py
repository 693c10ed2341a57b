"""``gunicorn wsgi:app`` run by hand from a checkout behaves like ``zalodesk api``."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.e2e.server import ADMIN_TOKEN, ZALODESK, Service, assert_error, service_env, wait_for
from tests.support.databases import fresh_database
from tests.support.proxy import CuttableProxy

CHECKOUT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


class HandRunGunicorn(Service):
    def argv(self) -> list[str]:
        return [GUNICORN, "wsgi:app", "--bind", f"127.0.0.1:{self.port}", "--workers", "3"]


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Service]:
    with fresh_database("zalodesk_gunicorn") as url:
        env = service_env(tmp_path / "data", url)
        service = HandRunGunicorn(env, logs=tmp_path / "logs", cwd=CHECKOUT)
        worker = subprocess.Popen([ZALODESK, "worker"], env=env, stderr=subprocess.DEVNULL)
        service.start()
        try:
            yield service
        finally:
            service.stop()
            worker.terminate()
            worker.wait(timeout=20)
        service.assert_no_tracebacks()


def test_a_webhook_reaches_the_inbox_and_every_workers_metrics(gunicorn: Service) -> None:
    account = gunicorn.connect_account()
    for n in range(6):  # several connections: more than one worker answers
        answer = account.send(account.text("1122334455667788990", f"hello {n}"))
        assert answer.status == 200, answer.text

    def in_inbox() -> list[dict[str, object]]:
        return [c for c in gunicorn.chats(account.id) if c["unread_count"] == 6]

    wait_for(in_inbox, 10, "the chat in the inbox with six unread messages")
    # Each scrape may be answered by another worker; every one sums all workers' counts.
    for _ in range(6):
        text = gunicorn.get("/metrics").text
        found = re.search(
            r'^zalodesk_webhooks_total\{[^}]*event="user_send_text"[^}]*\} ([0-9.e+]+)$',
            text,
            re.MULTILINE,
        )
        assert found is not None and float(found.group(1)) == 6.0, text[-2000:]


def test_without_a_database_url_it_says_what_to_set_and_starts_no_database(
    tmp_path: Path,
) -> None:
    env = service_env(tmp_path / "data", None)
    done = subprocess.run(
        [GUNICORN, "wsgi:app", "--bind", "127.0.0.1:0", "--workers", "2"],
        env=env,
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "zalodesk: gunicorn wsgi:app needs ZALODESK_DATABASE_URL" in done.stderr
    # Gunicorn reports the halt in its own words; none of ours raised.
    assert 'wsgi.py", line' not in done.stderr
    assert "bootstrap.py" not in done.stderr
    assert not (tmp_path / "data" / "pgdata").exists()


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in rows}


def test_its_workers_start_while_the_database_is_away_and_prepare_it_once_it_answers(
    tmp_path: Path, database_url: str
) -> None:
    with fresh_database("zalodesk_gunicorn") as url:
        proxy = CuttableProxy(url)
        proxy.cut()
        env = service_env(tmp_path / "data", proxy.url)
        service = HandRunGunicorn(env, logs=tmp_path / "logs", cwd=CHECKOUT).start()
        try:
            assert_error(service.get("/api/chats", token=ADMIN_TOKEN), 503)

            proxy.restore()
            wait_for(lambda: tables(url) == tables(database_url), 15, "the schema prepared")
            account = service.connect_account()
            answer = account.send(account.text("1122334455667788990", "hello"))
            assert answer.status == 200, answer.text
        finally:
            service.stop()
            proxy.cut()
        service.assert_no_tracebacks()
