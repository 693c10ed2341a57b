"""A long database outage under load: ``zalodesk serve`` keeps running, answers at once,
loses nothing it acknowledged, and recovers by itself once the database is back.

The service reaches its database through a proxy the test cuts (as a server that
stopped) for ``OUTAGE_SECONDS``, while Zalo keeps delivering and retrying.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Account, Service, children_running, service_env, wait_for
from tests.support.databases import fresh_database
from tests.support.proxy import CuttableProxy

CUSTOMER = "3360184402981150521"
OUTAGE_SECONDS = 45
ANSWER_SECONDS = 5.0  # far more than Zalo's 2 s, far less than gunicorn's 30 s timeout
BACK_SECONDS = 5.0


@pytest.fixture
def proxy() -> Iterator[CuttableProxy]:
    with fresh_database("zalodesk_outage") as url:
        proxy = CuttableProxy(url)
        yield proxy
        proxy.cut()


@pytest.fixture
def service(tmp_path: Path, proxy: CuttableProxy) -> Iterator[Service]:
    running = Service(service_env(tmp_path / "data", proxy.url), logs=tmp_path / "logs").start()
    try:
        yield running
    finally:
        running.stop()


class Zalo(threading.Thread):
    """Delivers one message after another, each sent again until it is answered 200."""

    def __init__(self, account: Account) -> None:
        super().__init__(name="zalo", daemon=True)
        self.account = account
        self.answers: list[tuple[float, int, float]] = []  # sent at, status (0: none), seconds
        self.acknowledged: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.done.is_set():
            n += 1
            msg_id = f"outage{n:014d}"
            raw, headers = self.account.sign(self.account.text(CUSTOMER, f"message {n}", msg_id))
            retry = 0
            while not self.done.is_set():
                if self.deliver(raw, {**headers, "num_retry": str(retry)}) == 200:
                    self.acknowledged.append(msg_id)
                    break
                retry += 1
                time.sleep(0.2)

    def deliver(self, raw: bytes, headers: dict[str, str]) -> int:
        sent = time.monotonic()
        status = 0
        with contextlib.suppress(OSError, http.client.HTTPException):
            status = self.account.deliver(raw, headers, timeout=40).status
        self.answers.append((sent, status, time.monotonic() - sent))
        return status

    def acknowledged_since(self, moment: float) -> bool:
        return any(sent >= moment and status == 200 for sent, status, _ in self.answers)


def children(service: Service, needle: str) -> list[int]:
    assert service.process is not None
    return children_running(service.process.pid, needle)


@pytest.mark.slow
def test_a_long_outage_is_ridden_out_without_a_restart(
    service: Service, proxy: CuttableProxy
) -> None:
    account = service.connect_account()
    wait_for(service.caught_up, 30, "the background worker at work before the outage")
    zalo = Zalo(account)
    zalo.start()
    wait_for(lambda: len(zalo.acknowledged) >= 5, 20, "messages acknowledged before the outage")

    proxy.cut()
    cut = time.monotonic()
    liveness: list[tuple[int, float]] = []
    replaced = False
    killed = 0.0
    while time.monotonic() - cut < OUTAGE_SECONDS:
        started = time.monotonic()
        liveness.append((service.get("/healthz", timeout=10).status, time.monotonic() - started))
        if not replaced and time.monotonic() - cut > 5:
            # A gunicorn worker and the background worker die while the database is away:
            # their replacements start without it.
            killed = time.monotonic()
            os.kill(children(service, " serve ")[0], signal.SIGKILL)
            os.kill(children(service, "api worker")[0], signal.SIGKILL)
            replaced = True
        time.sleep(1)

    proxy.restore()
    back = time.monotonic()
    wait_for(lambda: zalo.acknowledged_since(back), 20, "a message acknowledged after the outage")
    first_back = min(s for s, status, _ in zalo.answers if s >= back and status == 200)
    acknowledged = len(zalo.acknowledged)
    wait_for(lambda: len(zalo.acknowledged) >= acknowledged + 5, 20, "more messages")
    zalo.done.set()
    zalo.join(timeout=60)

    assert service.process is not None and service.process.poll() is None, service.stderr()
    # No answer only for a delivery the killed gunicorn worker was answering.
    unanswered = [(sent, seconds) for sent, status, seconds in zalo.answers if status == 0]
    assert all(sent <= killed <= sent + seconds for sent, seconds in unanswered), unanswered
    statuses = Counter(status for _, status, _ in zalo.answers if status)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] > 0
    slowest = max(seconds for _, _, seconds in zalo.answers)
    assert slowest < ANSWER_SECONDS, f"a delivery was answered after {slowest:.1f} s"
    assert {status for status, _ in liveness} == {200}
    assert max(seconds for _, seconds in liveness) < ANSWER_SECONDS
    assert first_back - back < BACK_SECONDS, f"acknowledged again {first_back - back:.1f} s after"

    # Every acknowledged message is in the chat exactly once; none is there twice.
    wait_for(service.caught_up, 30, "the views to catch up and every loop to run again")
    [chat] = service.chats(account.id)
    shown = Counter(
        m["zalo_msg_id"] for m in service.admin_get(f"/api/chats/{chat['id']}")["messages"]
    )
    assert all(shown[msg_id] == 1 for msg_id in zalo.acknowledged), shown
    assert set(shown.values()) == {1}

    print(  # for the README's figures (pytest -s)
        f"\noutage figures: {len(zalo.answers)} deliveries answered, {dict(statuses)}, "
        f"{len(zalo.acknowledged)} acknowledged and each shown once, slowest answer "
        f"{slowest:.2f} s, acknowledged again {first_back - back:.2f} s after the return"
    )
    log = "".join(p.read_text() for p in sorted(service.logs.glob("serve-*.err")))
    assert "WORKER TIMEOUT" not in log
    assert log.count("worker exited") == 1  # the one killed here, not a restart loop
    assert log.count("the database cannot be reached; waiting for it") == 1
