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


class Channel(StrEnum):
    """Where a ticket came from: a Zalo conversation, or the API with no customer in Zalo."""

    ZALO = "zalo"
    API = "api"


class Direction(StrEnum):
    """Which way a message went: from the customer in, to the customer out."""

    IN = "in"
    OUT = "out"


class ReplyStatus(StrEnum):
    """What became of one of our replies; it only moves forward (see ``Reply``)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    SEEN = "seen"
    FAILED = "failed"


class MessageOwner(StrEnum):
    """Who sent a message the OA sent to a customer."""

    OUR_REPLY = "our_reply"
    OA_MANAGER = "oa_manager"


class Settlement(StrEnum):
    """How a delivery that had to wait for its reply was placed once the wait was over."""

    OUR_REPLY_ECHO = "our_reply_echo"  # the echo of one of our replies: nothing new to show
    OA_MANAGER_MESSAGE = "oa_manager_message"  # an echo nobody claimed: typed in the OA manager
    REPLY_STATUS = "reply_status"  # a receipt for one of our replies, applied to it
    UNMATCHED = "unmatched"  # a receipt naming no reply of ours: kept, nothing changes


class RuleTrigger(StrEnum):
    """What makes an automation rule look at a ticket: something that happened, or time."""

    TICKET_CREATED = "ticket_created"
    CUSTOMER_REPLIED = "customer_replied"
    AGENT_REPLIED = "agent_replied"
    CHAT_STARTED = "chat_started"
    CHAT_REACTIVATED = "chat_reactivated"
    CUSTOMER_WAITING = "customer_waiting"  # a customer's message unanswered for N seconds
    TICKET_UNCHANGED = "ticket_unchanged"  # nothing happened on the ticket for N seconds


TIME_TRIGGERS = frozenset({RuleTrigger.CUSTOMER_WAITING, RuleTrigger.TICKET_UNCHANGED})


class RuleActionType(StrEnum):
    END_CHAT = "end_chat"
    SET_STATUS = "set_status"
    ADD_TAG = "add_tag"
    ASSIGN = "assign"
    REPLY = "reply"


class ActionOutcome(StrEnum):
    """What became of one action of a rule that fired."""

    APPLIED = "applied"
    SKIPPED = "skipped"  # it did not apply (the chat had already ended, the tag was there...)


class ConditionField(StrEnum):
    """What a rule's condition looks at on the ticket."""

    CHANNEL = "channel"
    ACCOUNT_ID = "account_id"
    STATUS = "status"
    MESSAGE_TEXT = "message_text"
    MESSAGE_KIND = "message_kind"
    TAGS = "tags"
    ASSIGNEE = "assignee"


class ConditionOp(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    CONTAINS = "contains"
