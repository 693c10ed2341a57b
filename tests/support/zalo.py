"""Zalo-shaped webhook bodies and their signatures, as Zalo sends them."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from typing import Any

_counter = itertools.count(1)

APP_ID = "360846524940903967"
OA_ID = "388613280878808645"


def new_msg_id() -> str:
    return f"{next(_counter):020x}"


def mac(app_id: str, raw: bytes, timestamp: str, key: str) -> str:
    return hashlib.sha256(app_id.encode() + raw + timestamp.encode() + key.encode()).hexdigest()


def compact(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def now_ms() -> str:
    return str(int(time.time() * 1000))


def user_text(user_id: str, text: str, msg_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "app_id": APP_ID,
        "sender": {"id": user_id},
        "user_id_by_app": "552177279717587730",
        "recipient": {"id": OA_ID},
        "event_name": "user_send_text",
        "message": {"text": text, "msg_id": msg_id or new_msg_id(), **extra},
        "timestamp": now_ms(),
    }


def user_attachment(
    user_id: str, event: str, kind: str, payload: dict[str, Any], text: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "msg_id": new_msg_id(),
        "attachments": [{"type": kind, "payload": payload}],
    }
    if text is not None:
        message["text"] = text
    return {
        "app_id": APP_ID,
        "sender": {"id": user_id},
        "recipient": {"id": OA_ID},
        "event_name": event,
        "message": message,
        "timestamp": now_ms(),
    }


def follow(user_id: str, event: str = "follow") -> dict[str, Any]:
    return {
        "app_id": APP_ID,
        "oa_id": OA_ID,
        "follower": {"id": user_id},
        "source": "oa_profile",
        "event_name": event,
        "timestamp": now_ms(),
    }


def signed(body: dict[str, Any], key: str, prefix: str = "mac=") -> tuple[bytes, dict[str, str]]:
    raw = compact(body)
    signature = mac(str(body.get("app_id", "")), raw, str(body.get("timestamp", "")), key)
    headers = {"Content-Type": "application/json", "X-ZEvent-Signature": f"{prefix}{signature}"}
    return raw, headers
