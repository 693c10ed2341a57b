"""Value objects shared by commands and aggregates."""

from __future__ import annotations

from enum import StrEnum

TEXT_LIMIT = 2000  # Zalo's limit on one consultation message, in characters.


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    CLOSED = "closed"
    SPAM = "spam"


class TicketKind(StrEnum):
    CHAT = "chat"
    ASYNC = "async"


class MessageKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    GIF = "gif"
    STICKER = "sticker"
    AUDIO = "audio"
    VIDEO = "video"
    FILE = "file"
    LINK = "link"
    LOCATION = "location"
    BUSINESS_CARD = "business_card"
    OTHER = "other"


class EndReason(StrEnum):
    AGENT = "agent"
    INACTIVITY = "inactivity"
    AUTOMATION = "automation"
