"""A webhook delivery made and signed as Zalo would: for trying a connection end to end."""

from __future__ import annotations

import json
import time
import uuid

from adapters.zalo.signature import HEADER, webhook_mac

# Not a real Zalo user: the chat it opens shows who sent it.
TEST_CUSTOMER = "1000000000000000001"


def signed_text(app_id: str, oa_id: str, key: str, text: str) -> tuple[bytes, dict[str, str]]:
    """A ``user_send_text`` from the test customer, and the headers Zalo would send with it."""
    timestamp = str(int(time.time() * 1000))
    body = {
        "app_id": app_id,
        "sender": {"id": TEST_CUSTOMER},
        "recipient": {"id": oa_id},
        "event_name": "user_send_text",
        "message": {"text": text, "msg_id": f"test{uuid.uuid4().hex[:28]}"},
        "timestamp": timestamp,
    }
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    mac = webhook_mac(app_id, raw, timestamp, key)
    return raw, {"Content-Type": "application/json", HEADER: f"mac={mac}"}
