"""Deterministic identities: the same inputs always name the same aggregate."""

from __future__ import annotations

import hashlib
from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c2b0e-3c0a-4f57-9a53-1f3f2f2c9a10")


def contact_id(account_id: UUID, zalo_user_id: str) -> UUID:
    return uuid5(NAMESPACE, f"contact:{account_id}:{zalo_user_id}")


def receipt_id(account_id: UUID, event_name: str, msg_id: str | None, raw_body: bytes) -> UUID:
    """The event name is part of the key: an echo and a delivery receipt share a msg_id."""
    if msg_id:
        return uuid5(NAMESPACE, f"receipt:{account_id}:{event_name}:{msg_id}")
    digest = hashlib.sha256(raw_body).hexdigest()
    return uuid5(NAMESPACE, f"receipt:{account_id}:body:{digest}")


def message_id(chat_or_ticket_id: UUID, key: str) -> UUID:
    return uuid5(NAMESPACE, f"message:{chat_or_ticket_id}:{key}")


def zalo_message_id(account_id: UUID, zalo_msg_id: str) -> UUID:
    return uuid5(NAMESPACE, f"zalo-message:{account_id}:{zalo_msg_id}")


def official_account_id(oa_id: str) -> UUID:
    return uuid5(NAMESPACE, f"official-account:{oa_id}")
