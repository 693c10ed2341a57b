"""A database outage as Zalo and the agents see it: a quick 503 while the database is away,
and everything as before within seconds of its return, without a restart.

The app reaches the database through a proxy the tests cut (as a server that stopped:
connections refused, open ones closed) and restore; and, in a network namespace of its
own, over a path that goes silent.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from falcon import testing

from adapters.settings import Settings
from api import bootstrap
from api.services import Services
from domain.clock import FrozenClock
from tests.integration.conftest import ACCOUNT_FORM, ADMIN, ZaloPlatform
from tests.support import silent_path, zalo
from tests.support.proxy import CuttableProxy

CUSTOMER = "7605173638941758527"
# Zalo counts a slower answer as a failure; the margin is for a busy shared machine.
WITHIN = 2.0 + 1.0


def timed(call: Callable[[], testing.Result]) -> tuple[testing.Result, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


class Desk:
    """The app as its users reach it, on a database behind the proxy."""

    def __init__(self, client: testing.TestClient, account: dict[str, Any], agent: str) -> None:
        self.client = client
        self.account = account
        self.agent = {"Authorization": f"Bearer {agent}"}
        self.zalo = ZaloPlatform(client, account, ACCOUNT_FORM["oa_secret_key"])

    def calls(self) -> dict[str, Callable[[], testing.Result]]:
        """One of each kind: a webhook, reads of views and of the log, a change, readiness."""
        account = f"/api/accounts/{self.account['id']}"
        return {
            "webhook": lambda: self.zalo.text(CUSTOMER, f"hello at {time.monotonic()}"),
            "inbox": lambda: self.client.simulate_get("/api/chats"),
            "agent's inbox": lambda: self.client.simulate_get("/api/chats", headers=self.agent),
            "tickets": lambda: self.client.simulate_get("/api/tickets"),
            "account": lambda: self.client.simulate_get(account),
            "rename": lambda: self.client.simulate_patch(account, json={"name": "Renamed"}),
            "readyz": lambda: self.client.simulate_get("/readyz"),
        }


@pytest.fixture
def proxy(settings: Settings) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(str(settings.database_url))
    yield proxy
    proxy.cut()


@pytest.fixture
def agent(services: Services) -> str:
    """An agent's API token: checking it needs the database, unlike the admin token."""
    return services.tokens.create("agent", admin=False).token


@pytest.fixture
def desk(
    settings: Settings,
    proxy: CuttableProxy,
    clock: FrozenClock,
    account: dict[str, Any],
    agent: str,
) -> Iterator[Desk]:
    services = bootstrap.build(settings, proxy.url, clock)
    yield Desk(testing.TestClient(bootstrap.http_app(services), headers=ADMIN), account, agent)
    services.close()


def stored(db: str, text: str) -> int:
    """How many customer messages with this text the log holds (the body is in the receipt)."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM zalodesk_events WHERE topic LIKE %s AND position(%s IN state) > 0",
            ("%InboundReceipt.Received", text.encode()),
        ).fetchone()
    return int(rows[0]) if rows else 0


def answer_all(desk: Desk) -> dict[str, int]:
    return {name: call().status_code for name, call in desk.calls().items()}


def test_while_the_database_is_away_every_call_answers_503_at_once(
    desk: Desk, proxy: CuttableProxy
) -> None:
    assert set(answer_all(desk).values()) <= {200}
    proxy.cut()

    for name, call in desk.calls().items():
        result, seconds = timed(call)
        assert result.status_code == 503, (name, result.text)
        assert seconds < WITHIN, f"{name} answered after {seconds:.1f} s"
        if name == "readyz":
            assert result.json == {"status": "unreachable"}
        else:
            assert set(result.json) == {"title", "description"}, name
            assert result.json["title"] == "Store unavailable"
    alive, seconds = timed(lambda: desk.client.simulate_get("/healthz"))
    assert alive.status_code == 200
    assert seconds < 0.9  # no wait for the database (a second at least)


def test_after_a_short_outage_the_first_calls_already_succeed(
    desk: Desk, proxy: CuttableProxy
) -> None:
    answer_all(desk)  # every pool holds connections, which the outage breaks
    proxy.cut()
    proxy.restore()

    assert answer_all(desk) == dict.fromkeys(desk.calls(), 200)


def test_after_the_server_ends_every_session_the_next_calls_already_succeed(
    desk: Desk, db: str
) -> None:
    answer_all(desk)
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    with psycopg.connect(db, autocommit=True) as admin:  # as a restart of the server does
        admin.execute(f"SELECT pg_terminate_backend(pid) {others}")
        deadline = time.monotonic() + 5
        while admin.execute(f"SELECT count(*) {others}").fetchone() != (0,):
            assert time.monotonic() < deadline, "the sessions did not end"
            time.sleep(0.05)
    time.sleep(0.1)  # their last words reach the app through the proxy

    assert answer_all(desk) == dict.fromkeys(desk.calls(), 200)


def test_everything_answers_again_within_two_seconds_of_the_databases_return(
    desk: Desk, proxy: CuttableProxy, db: str
) -> None:
    answer_all(desk)
    proxy.cut()
    raw, headers = zalo.signed(zalo.user_text(CUSTOMER, "sent during the outage"), desk.zalo.key)
    refused = desk.client.simulate_post(desk.zalo.path, body=raw, headers=headers)
    assert refused.status_code == 503
    away_until = time.monotonic() + 3  # calls meanwhile: the pools try to reconnect, and fail
    while time.monotonic() < away_until:
        answer_all(desk)

    proxy.restore()
    back = time.monotonic()
    while set(answer_all(desk).values()) != {200}:
        assert time.monotonic() - back < 10, "still failing 10 s after the database came back"
    assert time.monotonic() - back < WITHIN

    # Zalo retries the delivery it got a 503 for: stored now, and once.
    retried = desk.client.simulate_post(
        desk.zalo.path, body=raw, headers={**headers, "num_retry": "1"}
    )
    assert retried.json == {"ok": True, "outcome": "recorded"}
    assert stored(db, "sent during the outage") == 1


def test_the_app_starts_while_the_database_is_away_and_serves_once_it_answers(
    settings: Settings,
    proxy: CuttableProxy,
    clock: FrozenClock,
    account: dict[str, Any],
    agent: str,
    db: str,
) -> None:
    proxy.cut()
    services = bootstrap.build(settings, proxy.url, clock)
    try:
        client = testing.TestClient(bootstrap.http_app(services), headers=ADMIN)
        desk = Desk(client, account, agent)
        assert desk.client.simulate_get("/healthz").status_code == 200
        refused, seconds = timed(lambda: desk.zalo.text(CUSTOMER, "too early"))
        assert refused.status_code == 503
        assert seconds < WITHIN

        proxy.restore()
        back = time.monotonic()
        while desk.zalo.text(CUSTOMER, "once it answers").status_code != 200:
            assert time.monotonic() - back < 10, "still failing 10 s after the database came back"
        assert answer_all(desk) == dict.fromkeys(desk.calls(), 200)
    finally:
        services.close()
    assert stored(db, "once it answers") == 1


def test_the_workers_wait_for_the_database_then_catch_up(
    settings: Settings,
    proxy: CuttableProxy,
    platform: ZaloPlatform,
    client: testing.TestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="zalodesk.worker")
    proxy.cut()
    stop = threading.Event()
    workers = threading.Thread(target=bootstrap.run_workers, args=(settings, proxy.url, stop))
    workers.start()
    try:
        # Stored while the workers cannot reach the database: they show it once they can.
        assert platform.text(CUSTOMER, "while the workers wait").status_code == 200
        time.sleep(3)
        assert workers.is_alive()
        waiting = [r for r in caplog.records if "waiting for it" in r.getMessage()]
        assert len(waiting) == 1
        assert not [r for r in caplog.records if r.exc_info]

        proxy.restore()
        deadline = time.monotonic() + 10
        while not client.simulate_get("/api/chats").json["chats"]:
            assert time.monotonic() < deadline, "the workers did not catch up"
            time.sleep(0.1)
    finally:
        stop.set()
        workers.join(timeout=30)
    assert not workers.is_alive()


def test_a_silently_cut_network_path_is_given_up_in_time(database_url: str) -> None:
    """The next test, in a network namespace of its own, where the path can go silent."""
    if not silent_path.own_namespaces_available():
        pytest.skip("no network namespace of our own here (unshare -rn, ip and tc are needed)")
    folder = Path(tempfile.mkdtemp(prefix="zalodesk-relay-"))
    relay = silent_path.UnixRelay(database_url, folder)
    try:
        inner = subprocess.run(
            [
                *silent_path.in_own_namespace(),
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"{__file__}::test_when_the_path_goes_silent_calls_answer_503_in_time",
            ],
            env={
                **os.environ,
                "ZALODESK_TEST_SERVER_URL": relay.server_url(),
                silent_path.OUTER_NAMESPACE: str(silent_path.namespace_id()),
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        relay.close()
        shutil.rmtree(folder, ignore_errors=True)
    assert inner.returncode == 0, inner.stdout[-6000:] + inner.stderr[-2000:]
    assert "1 passed" in inner.stdout


@pytest.mark.skipif(
    not silent_path.inside_own_namespace(), reason="run by the test above, in its own namespace"
)
def test_when_the_path_goes_silent_calls_answer_503_in_time(
    desk: Desk, proxy: CuttableProxy, db: str
) -> None:
    assert set(answer_all(desk).values()) == {200}
    with silent_path.silence():
        for name, call in desk.calls().items():
            result, seconds = timed(call)
            assert result.status_code == 503, (name, result.text)
            assert seconds < WITHIN, f"{name} answered after {seconds:.1f} s"
        alive, _ = timed(lambda: desk.client.simulate_get("/healthz"))
        assert alive.status_code == 200
    back = time.monotonic()
    while set(answer_all(desk).values()) != {200}:
        assert time.monotonic() - back < 10, "still failing 10 s after the path came back"
    assert time.monotonic() - back < WITHIN
