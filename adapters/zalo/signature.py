"""The ``X-ZEvent-Signature`` of a Zalo webhook.

The mac is plain SHA-256 (not HMAC) of ``app_id + raw_body + timestamp + key``,
where ``app_id`` and ``timestamp`` are the textual values of the body's own
fields and ``key`` is the OA secret key (or, for an account without one, the
application secret). Typical use::

    app_id = field_text(raw_body, "app_id") or ""
    timestamp = field_text(raw_body, "timestamp") or ""
    ok = signature_ok(header, raw_body, app_id, timestamp, key)
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from typing import Any

from adapters.zalo.translate import BadPayload, parse, text_of

HEADER = "X-ZEvent-Signature"
_MAC = re.compile(r"(?:mac\s*=\s*)?([0-9a-f]{64})", re.IGNORECASE)


def webhook_mac(app_id: str, raw_body: bytes, timestamp: str, key: str) -> str:
    """SHA-256 hex of ``app_id + raw_body + timestamp + key`` (strings as UTF-8)."""
    message = app_id.encode() + raw_body + timestamp.encode() + key.encode()
    return hashlib.sha256(message).hexdigest()


def mac_from_header(value: str | None) -> str | None:
    """The lower-case hex mac from ``mac=<64 hex>`` or a bare ``<64 hex>``; None otherwise."""
    found = _MAC.fullmatch(value.strip()) if value else None
    return found.group(1).lower() if found else None


def signature_ok(
    header: str | None, raw_body: bytes, app_id: str, timestamp: str, key: str
) -> bool:
    """Whether the header carries the mac of this body, compared in constant time."""
    given = mac_from_header(header)
    if given is None or not key:
        return False
    return secrets.compare_digest(given, webhook_mac(app_id, raw_body, timestamp, key))


def value_text(body: Mapping[str, Any], name: str) -> str | None:
    """A top-level field of a parsed body as text (a number as its digits), else None."""
    return text_of(body.get(name))


def field_text(raw_body: bytes, name: str) -> str | None:
    """A top-level field's textual value, read from the raw body; None if absent or unreadable.

    A string gives its value; a number gives its digits exactly as written
    (never a float round-trip: ids exceed 2^53).
    """
    try:
        return value_text(parse(raw_body), name)
    except BadPayload:
        return None
