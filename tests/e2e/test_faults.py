"""Faults under load: API workers and the worker process killed with SIGKILL while Zalo keeps
delivering. Zalo retries every delivery that got no 200; none acknowledged may be lost or
stored twice, no answer may be a 5xx, and the service recovers by itself."""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
from collections import Counter

from tests.e2e.server import Account, Service, children_running, wait_for

SENDERS = 4
LOAD_SECONDS = 12.0


class Zalo:
    """Delivers like Zalo: each message until it is answered 200, retrying anything else."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.acknowledged: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def sender(self, number: int) -> None:
        customer = f"31065970112203867{number:02d}"
        sent = 0
        while not self.stop.is_set():
            msg_id = f"fault{number:02d}{sent:014d}"
            body = self.account.text(customer, f"message {sent}", msg_id)
            self.deliver(body, msg_id)
            sent += 1

    def deliver(self, body: dict[str, object], msg_id: str) -> None:
        for attempt in range(200):
            try:
                answer = self.account.send(body, num_retry=str(attempt))
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)  # the worker died mid-request: Zalo sends it again
                continue
            with self.lock:
                self.statuses[answer.status] += 1
            if answer.status == 200:
                with self.lock:
                    self.acknowledged.append(msg_id)
                return
            time.sleep(0.05)
        raise AssertionError(f"{msg_id} was never acknowledged")


def stored_message_ids(service: Service) -> Counter[str]:
    found: Counter[str] = Counter()
    after = 0
    while True:
        page = service.admin_get(f"/api/events?after={after}&limit=1000")
        for event in page["events"]:
            if event["type"] == "Chat.CustomerMessageReceived":
                found[event["data"]["zalo_msg_id"]] += 1
        if not page["events"]:
            return found
        after = page["next_after"]


def test_sigkill_of_api_workers_and_the_worker_process_under_load_loses_nothing(
    own_service: Service,
) -> None:
    account = own_service.connect_account()
    platform = Zalo(account)
    senders = [threading.Thread(target=platform.sender, args=(n,)) for n in range(SENDERS)]
    for thread in senders:
        thread.start()
    assert own_service.process is not None
    serve = own_service.process.pid
    killed = 0
    try:
        deadline = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < deadline:
            time.sleep(1.5)
            api_workers = children_running(serve, "serve")
            worker = children_running(serve, "api worker")
            for pid in api_workers[:1] + worker[:1]:
                os.kill(pid, signal.SIGKILL)
                killed += 1
    finally:
        platform.stop.set()
        for thread in senders:
            thread.join(timeout=120)

    print(  # for the README's figures (pytest -s)
        f"\nfault figures: {killed} SIGKILLs, {len(platform.acknowledged)} acknowledged, "
        f"answers {dict(platform.statuses)}"
    )
    assert killed >= 8
    assert not [status for status in platform.statuses if status >= 500], platform.statuses
    wait_for(own_service.caught_up, 60, "the views to catch up after the last kill")
    stored = stored_message_ids(own_service)
    acknowledged = set(platform.acknowledged)
    assert len(acknowledged) == len(platform.acknowledged) > 50
    assert {m for m in acknowledged if stored[m] != 1} == set()  # none lost, none twice
    assert {m for m, n in stored.items() if n != 1} == set()
    answer = account.send(account.text("3106597011220386799", "after the storm"))
    assert answer.status == 200
    # Every line it logged through all this is JSON, gunicorn's own about the kills included;
    # only the command's own words to the person who started it ("zalodesk: ...") are not.
    assert own_service.stderr_path is not None
    logged = own_service.stderr_path.read_text().splitlines()
    assert any("SIGKILL" in line for line in logged)
    not_json = [line for line in logged if not line.startswith("{")]
    assert [line for line in not_json if not line.startswith("zalodesk: ")] == []
