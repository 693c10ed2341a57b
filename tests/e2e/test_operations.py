"""What operators scrape and read: /metrics and /openapi.json."""

from __future__ import annotations

import re

from tests.e2e.server import Service, run_cli, wait_for


def test_metrics_count_webhooks_by_event(live: Service) -> None:
    account = live.connect_account()
    assert account.send(account.text("1122334455667788990", "metrics, please")).status == 200

    def counted() -> str | None:
        answer = live.get("/metrics")
        assert answer.status == 200, answer.text
        assert answer.headers["content-type"].startswith("text/plain")
        found = re.search(
            r'^zalodesk_webhooks_total\{[^}]*event="user_send_text"[^}]*\} ([0-9.e+]+)$',
            answer.text,
            re.MULTILINE,
        )
        return answer.text if found and float(found.group(1)) >= 1 else None

    text = wait_for(counted, 5, "zalodesk_webhooks_total{event=user_send_text}")
    assert "# TYPE zalodesk_webhooks_total counter" in text


def test_openapi_lists_the_webhook(live: Service) -> None:
    answer = live.get("/openapi.json")
    assert answer.status == 200
    document = answer.json()
    assert "/webhooks/zalo/{account_id}" in document["paths"]
    assert "post" in document["paths"]["/webhooks/zalo/{account_id}"]
    assert "/api/chats" in document["paths"]


def test_a_loopback_public_url_is_warned_about_at_start(live: Service) -> None:
    assert live.stderr_path is not None
    started = live.stderr_path.read_text()
    assert "zalodesk: warning: ZALODESK_PUBLIC_URL is http://127.0.0.1:8000" in started


def test_a_test_webhook_signed_as_zalo_would_reaches_the_inbox(live: Service) -> None:
    account = live.connect_account()
    sent = run_cli(
        live.env,
        "webhook",
        "test",
        account.id,
        "Xin chào từ thử nghiệm",
        "--url",
        f"http://127.0.0.1:{live.port}",
    )
    assert sent.returncode == 0, sent.stderr
    assert '"outcome": "recorded"' in sent.stdout

    def in_inbox() -> list[dict[str, object]]:
        return [
            c
            for c in live.chats(account.id)
            if c["last_message"]["text"] == "Xin chào từ thử nghiệm"
        ]

    wait_for(in_inbox, 10, "the test message in the inbox")
    shown = live.admin_get(f"/api/accounts/{account.id}")
    assert shown["last_webhook_at"] is not None


def test_a_test_webhook_to_a_service_that_is_not_there_is_one_line(live: Service) -> None:
    account = live.connect_account()
    sent = run_cli(live.env, "webhook", "test", account.id, "hi", "--url", "http://127.0.0.1:9")
    assert sent.returncode != 0
    assert "cannot reach http://127.0.0.1:9/webhooks/zalo/" in sent.stderr
    assert "Traceback" not in sent.stderr
