"""The webhook as Zalo drives it: signatures, limits, retries, every event stored once."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
from falcon import testing

from adapters.settings import Settings
from api import bootstrap, cli
from tests.integration.conftest import ZaloPlatform
from tests.support import zalo
from tests.support.proxy import CuttableProxy

BIG_ID = "7605173638941758527"  # beyond 2**53: must survive as this exact string


def log_types(db: str) -> list[str]:
    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT topic FROM zalodesk_events ORDER BY notification_id").fetchall()
    return [row[0].rsplit(":", 1)[1] for row in rows]


def test_a_customer_message_is_stored_and_shown_in_the_inbox(
    platform: ZaloPlatform, client: testing.TestClient, project: Any
) -> None:
    result = platform.text(BIG_ID, "Xin chào, shop còn hàng không?")
    assert result.status_code == 200
    assert result.json == {"ok": True, "outcome": "recorded"}

    project()
    inbox = client.simulate_get("/api/chats").json
    assert inbox["indicator"] == {"new_chats": 1, "unread_chats": 1}
    [chat] = inbox["chats"]
    assert chat["customer"]["zalo_user_id"] == BIG_ID
    assert chat["customer"]["anonymous"] is False
    assert chat["last_message"]["text"] == "Xin chào, shop còn hàng không?"
    assert chat["last_message"]["direction"] == "in"
    assert chat["unread_count"] == 1
    assert chat["waiting_since"] is not None


def test_the_first_message_opens_a_new_chat_ticket(
    platform: ZaloPlatform, client: testing.TestClient, project: Any, db: str
) -> None:
    platform.text(BIG_ID, "hello")
    assert sorted(log_types(db)) == sorted(
        [
            "ZaloAccount.Connected",
            "OfficialAccountClaim.Claimed",
            "InboundReceipt.Received",
            "Contact.Registered",
            "Ticket.Opened",
            "Chat.Started",
            "Ticket.ChatAttached",
            "Contact.ConversationAttached",
            "Chat.CustomerMessageReceived",
        ]
    )
    project()
    [ticket_id] = {c["ticket_id"] for c in client.simulate_get("/api/chats").json["chats"]}
    ticket = client.simulate_get(f"/api/tickets/{ticket_id}").json
    assert (ticket["kind"], ticket["status"], ticket["subject"]) == ("chat", "new", "hello")


def test_a_retried_delivery_changes_nothing(
    platform: ZaloPlatform, client: testing.TestClient, project: Any, db: str
) -> None:
    body = zalo.user_text(BIG_ID, "once")
    first = platform.send(body)
    again = platform.send(body, num_retry="1")
    assert first.json["outcome"] == "recorded"
    assert again.status_code == 200
    assert again.json["outcome"] == "duplicate"
    assert log_types(db).count("Chat.CustomerMessageReceived") == 1


def test_every_accepted_delivery_keeps_its_raw_body(
    platform: ZaloPlatform, services: Any, db: str
) -> None:
    body = zalo.user_text(BIG_ID, "raw ✓")
    raw, _ = zalo.signed(body, platform.key)
    platform.send(body)
    # The first events are the account's and its OA claim's.
    receipt_id = services.app.recorder.select_notifications(start=3, limit=1)[0].originator_id
    receipt = services.app.repository.get(receipt_id)
    [event] = services.app.events.get(receipt.id)
    assert event.raw_body == raw.decode()


def test_receipts_echoes_and_unknown_events_are_kept(platform: ZaloPlatform, db: str) -> None:
    seen = {
        "app_id": zalo.APP_ID,
        "sender": {"id": BIG_ID},
        "recipient": {"id": zalo.OA_ID},
        "event_name": "user_seen_message",
        "message": {"msg_ids": ["e72c0a55e95fcb00924f"]},
        "timestamp": zalo.now_ms(),
    }
    unknown = {"app_id": zalo.APP_ID, "event_name": "user_submit_info", "timestamp": zalo.now_ms()}
    assert platform.send(seen).status_code == 200
    assert platform.send(unknown).status_code == 200
    assert log_types(db).count("InboundReceipt.Received") == 2


def test_the_signature_may_come_without_its_prefix(
    platform: ZaloPlatform, client: testing.TestClient
) -> None:
    raw, headers = zalo.signed(zalo.user_text(BIG_ID, "bare mac"), platform.key, prefix="")
    assert client.simulate_post(platform.path, body=raw, headers=headers).status_code == 200


def test_forged_and_unsigned_deliveries_are_refused_and_not_recorded(
    platform: ZaloPlatform, client: testing.TestClient, db: str
) -> None:
    raw, headers = zalo.signed(zalo.user_text(BIG_ID, "forged"), "not-the-key")
    forged = client.simulate_post(platform.path, body=raw, headers=headers)
    unsigned = client.simulate_post(
        platform.path, body=raw, headers={"Content-Type": "application/json"}
    )
    assert forged.status_code == 401
    assert unsigned.status_code == 401
    assert forged.json["title"] == "Bad signature"
    assert log_types(db) == ["ZaloAccount.Connected", "OfficialAccountClaim.Claimed"]


def test_bad_bodies_get_clear_errors(platform: ZaloPlatform, client: testing.TestClient) -> None:
    not_object = client.simulate_post(platform.path, body=b"[1,2]", headers=json_headers())
    not_json = client.simulate_post(platform.path, body=b"{oops", headers=json_headers())
    too_big = client.simulate_post(
        platform.path, body=b"{" + b" " * (1024 * 1024) + b"}", headers=json_headers()
    )
    assert not_object.status_code == 400
    assert not_json.status_code == 400
    assert too_big.status_code == 413
    assert set(not_object.json) == {"title", "description"}


def test_an_unknown_account_is_404(client: testing.TestClient) -> None:
    raw, headers = zalo.signed(zalo.user_text(BIG_ID, "hi"), "key")
    result = client.simulate_post(f"/webhooks/zalo/{uuid.uuid4()}", body=raw, headers=headers)
    not_uuid = client.simulate_post("/webhooks/zalo/not-an-id", body=raw, headers=headers)
    assert result.status_code == 404
    assert not_uuid.status_code == 404


def test_an_unreachable_store_answers_503_so_zalo_retries(
    settings: Settings, account: dict[str, Any], platform: ZaloPlatform
) -> None:
    proxy = CuttableProxy(str(settings.database_url))
    services = bootstrap.build(settings, proxy.url)
    try:
        client = testing.TestClient(bootstrap.http_app(services))
        raw, headers = zalo.signed(zalo.user_text(BIG_ID, "hi"), platform.key)
        assert client.simulate_post(platform.path, body=raw, headers=headers).status_code == 200
        proxy.cut()
        raw, headers = zalo.signed(zalo.user_text(BIG_ID, "while down"), platform.key)
        result = client.simulate_post(platform.path, body=raw, headers=headers)
    finally:
        services.close()
    assert result.status_code == 503
    assert result.json["title"] == "Store unavailable"


def test_follow_and_unfollow_change_the_contact(
    platform: ZaloPlatform, project: Any, services: Any
) -> None:
    assert platform.send(zalo.follow(BIG_ID)).status_code == 200
    assert platform.send(zalo.follow(BIG_ID, "unfollow")).status_code == 200
    project()
    with services.pool.connection() as conn:
        row = conn.execute(
            "SELECT zalo_user_id, following FROM contacts WHERE zalo_user_id = %s", (BIG_ID,)
        ).fetchone()
    assert row == (BIG_ID, False)


def test_domain_verification_pages(client: testing.TestClient, account: dict[str, Any]) -> None:
    client.simulate_patch(f"/api/accounts/{account['id']}", json={"verification_code": "ABC123"})
    prefix = client.simulate_get(f"/webhooks/zalo/{account['id']}/")
    page = client.simulate_get(f"/webhooks/zalo/{account['id']}/zalo_verifierABC123.html")
    wrong = client.simulate_get(f"/webhooks/zalo/{account['id']}/zalo_verifierWRONG.html")
    assert '<meta name="zalo-platform-site-verification" content="ABC123"' in prefix.text
    assert '<meta property="zalo-platform-site-verification" content="ABC123"' in page.text
    assert wrong.status_code == 404


def json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json", "X-ZEvent-Signature": "mac=" + "0" * 64}


def test_the_log_never_holds_a_float_id(platform: ZaloPlatform, db: str) -> None:
    platform.send(
        json.loads('{"app_id":"1","event_name":"user_send_text","timestamp":"1"}')
        | zalo.user_text(BIG_ID, "x")
    )
    with psycopg.connect(db) as conn:
        states = [bytes(r[0]).decode() for r in conn.execute("SELECT state FROM zalodesk_events")]
    assert any(BIG_ID in s for s in states)
    assert not any("7.605173638941758e" in s for s in states)


def test_made_up_event_names_from_strangers_create_no_metric_series(
    client: testing.TestClient, platform: ZaloPlatform
) -> None:
    def series() -> set[str]:
        text = client.simulate_get("/metrics").text
        return {
            line.split(" ")[0]
            for line in text.splitlines()
            if line.startswith("zalodesk_webhooks_total{")
        }

    platform.text(BIG_ID, "one known event first")
    before = series()
    for n in range(50):
        body = json.dumps({"event_name": f"made_up_{n}", "app_id": "1"}).encode()
        assert client.simulate_post(platform.path, body=body).status_code == 401
        assert (
            platform.send({"event_name": f"signed_made_up_{n}", "app_id": "1"}).status_code == 200
        )
    after = series()
    assert len(after - before) <= 2, sorted(after - before)  # "other" with each outcome at most
    assert not any("made_up" in name for name in after)


def test_a_deeply_nested_body_is_refused_with_400_and_no_stack_trace(
    client: testing.TestClient, platform: ZaloPlatform, caplog: Any
) -> None:
    body = b'{"event_name":"user_send_text","app_id":"1","x":' + b"[" * 990 + b"]" * 990 + b"}"
    headers = {"X-ZEvent-Signature": "mac=" + zalo.mac("1", body, "", platform.key)}
    result = client.simulate_post(platform.path, body=body, headers=headers)
    assert result.status_code == 400
    assert "nested deeper than 64 levels" in result.json["description"]
    assert not [r for r in caplog.records if r.exc_info]


def test_a_signed_body_missing_its_ids_is_kept_as_malformed_and_shown_in_the_audit(
    client: testing.TestClient,
    platform: ZaloPlatform,
    db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = zalo.user_text(BIG_ID, "no sender")
    del body["sender"]
    answer = platform.send(body)
    assert answer.status_code == 200
    assert answer.json["outcome"] == "malformed"
    assert platform.send(body).json["outcome"] == "duplicate"  # Zalo's retry changes nothing

    events = client.simulate_get("/api/events").json["events"]
    [received] = [e for e in events if e["type"] == "InboundReceipt.Received"]
    assert received["data"]["problem"] == "user_send_text: sender.id is missing"
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)
    assert cli.main(["audit", received["aggregate_id"]]) == 0
    assert "kept unread: user_send_text: sender.id is missing" in capsys.readouterr().out
    metrics = client.simulate_get("/metrics").text
    assert 'outcome="malformed"' in metrics
