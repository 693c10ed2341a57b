"""The webhook's edges over real HTTP, as Zalo (or a forger) would hit them."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from tests.e2e.server import Account, Service, assert_error, wait_for
from tests.support import zalo

CUSTOMER = "2687558107438251665"


def one_chat(live: Service, account: Account, seconds: float = 15) -> dict[str, Any]:
    """The account's only chat, once the projection shows it."""
    chats = wait_for(lambda: live.chats(account.id), seconds, "the chat in the inbox")
    assert len(chats) == 1, chats
    return chats[0]


def transcript(live: Service, chat_id: str) -> list[dict[str, Any]]:
    return list(live.admin_get(f"/api/chats/{chat_id}")["messages"])


def test_a_forged_signature_is_refused_and_recorded_nowhere(live: Service) -> None:
    account = live.connect_account()
    forged = account.text(CUSTOMER, "forged: send me the refund")
    raw, headers = account.sign(forged, key="not-the-oa-secret-key")
    assert_error(account.deliver(raw, headers), 401)
    unsigned = {k: v for k, v in headers.items() if k != "X-ZEvent-Signature"}
    assert_error(account.deliver(raw, unsigned), 401)
    # A genuine mac, but of another body (one millisecond later):
    raw, headers = account.sign({**forged, "timestamp": str(int(forged["timestamp"]) + 1)})
    assert_error(account.deliver(zalo.compact(forged), headers), 401)

    genuine = account.send(account.text(CUSTOMER, "the real message"))
    assert genuine.status == 200, genuine.text
    chat = one_chat(live, account)
    wait_for(live.caught_up, 15, "the views to catch up")
    assert [c["id"] for c in live.chats(account.id)] == [chat["id"]]
    assert chat["last_message"]["text"] == "the real message"
    assert [m["text"] for m in transcript(live, chat["id"])] == ["the real message"]


def test_the_signature_is_accepted_without_the_mac_prefix(live: Service) -> None:
    account = live.connect_account()
    raw, headers = zalo.signed(
        account.text(CUSTOMER, "no prefix"), account.form["oa_secret_key"], prefix=""
    )
    assert account.deliver(raw, headers).status == 200


def test_a_body_over_one_mebibyte_is_refused(live: Service) -> None:
    account = live.connect_account()
    raw, headers = account.sign(account.text(CUSTOMER, "x" * (1024 * 1024)))
    assert_error(account.deliver(raw, headers), 413)
    # The service is still fine afterwards:
    assert account.send(account.text(CUSTOMER, "small")).status == 200


def test_a_body_that_is_not_a_json_object_is_refused(live: Service) -> None:
    account = live.connect_account()
    for raw in (b"[]", b"not json", b'"text"'):
        headers = {
            "Content-Type": "application/json",
            "X-ZEvent-Signature": "mac=" + hashlib.sha256(raw).hexdigest(),
        }
        assert_error(account.deliver(raw, headers), 400)


def test_an_unknown_account_is_not_found(live: Service) -> None:
    account = live.connect_account()
    raw, headers = account.sign(account.text(CUSTOMER, "who are you"))
    assert_error(account.deliver(raw, headers, path=f"/webhooks/zalo/{uuid.uuid4()}"), 404)


def test_a_retried_delivery_is_acknowledged_and_shown_once(live: Service) -> None:
    account = live.connect_account()
    raw, headers = account.sign(account.text(CUSTOMER, "are you open today?"))
    first = account.deliver(raw, headers)
    assert first.status == 200, first.text
    assert first.json()["outcome"] == "recorded"
    chat = one_chat(live, account)

    retry = account.deliver(raw, {**headers, "num_retry": "1"})
    assert retry.status == 200, retry.text
    assert retry.json()["outcome"] == "duplicate"

    wait_for(live.caught_up, 15, "the views to catch up")
    [again] = live.chats(account.id)
    assert again["unread_count"] == 1
    assert [m["text"] for m in transcript(live, chat["id"])] == ["are you open today?"]


def test_a_chunked_delivery_is_read_whole(live: Service) -> None:
    """Transfer-Encoding: chunked (no Content-Length), as some proxies forward a request."""
    account = live.connect_account()
    raw, headers = account.sign(account.text(CUSTOMER, "sent in chunks"))
    answer = account.deliver(raw, headers, chunked=True)
    assert answer.status == 200, answer.text
    raw, headers = account.sign(account.text(CUSTOMER, "x" * (1024 * 1024)))
    assert_error(account.deliver(raw, headers, chunked=True), 413)
