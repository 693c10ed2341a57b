"""Forty first messages at once from one new customer: one chat, forty messages."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.server import Response, Service, wait_for

CUSTOMER = "5021897302615544401"
BURST = 40


def test_a_burst_of_first_messages_opens_one_chat(live: Service) -> None:
    account = live.connect_account()
    texts = [f"tin nhắn {i}" for i in range(BURST)]
    bodies = [account.sign(account.text(CUSTOMER, text)) for text in texts]
    start = threading.Barrier(BURST)

    def deliver(signed: tuple[bytes, dict[str, str]]) -> tuple[Response, float]:
        start.wait(timeout=10)
        began = time.monotonic()
        answer = account.deliver(*signed)
        return answer, time.monotonic() - began

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        answers, seconds = zip(*pool.map(deliver, bodies), strict=True)
    print(f"burst of {BURST}: slowest answer {max(seconds):.3f} s")
    assert [a.status for a in answers] == [200] * BURST, [
        (a.status, a.text[:200]) for a in answers if a.status != 200
    ]
    assert {a.json()["outcome"] for a in answers} == {"recorded"}

    def settled() -> list[dict[str, Any]] | None:
        chats = live.chats(account.id)
        return chats if chats and sum(c["unread_count"] for c in chats) >= BURST else None

    try:
        chats = wait_for(settled, 20, f"{BURST} unread messages in the inbox")
    except AssertionError as ex:
        seen = [(c["id"], c["unread_count"]) for c in live.chats(account.id)]
        raise AssertionError(f"{ex}; the inbox shows (chat, unread): {seen}") from None
    assert len(chats) == 1, [(c["id"], c["unread_count"]) for c in chats]
    [chat] = chats
    assert chat["customer"]["zalo_user_id"] == CUSTOMER
    assert chat["unread_count"] == BURST
    messages = live.admin_get(f"/api/chats/{chat['id']}")["messages"]
    assert len(messages) == BURST
    assert sorted(m["text"] for m in messages) == sorted(texts)
    assert {m["direction"] for m in messages} == {"in"}
