"""What operators scrape and read: /metrics and /openapi.json."""

from __future__ import annotations

import re

from tests.e2e.server import Service, wait_for


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
