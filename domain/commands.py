"""Commands: what someone asks the domain to do, as frozen attrs classes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from attrs import field, frozen

from domain.automation.definition import RuleAction
from domain.values import MessageKind, ReplyStatus, RuleTrigger


@frozen
class Delivery:
    """One webhook delivery as it arrived: the envelope every inbound command carries."""

    account_id: UUID
    event_name: str
    raw_body: str
    msg_id: str | None
    platform_at: datetime | None
    num_retry: int = 0


@frozen
class Customer:
    """A Zalo user as a webhook names them, and as a reply is addressed to them."""

    zalo_user_id: str
    anonymous: bool = False
    conversation_id: str | None = None


@frozen
class InboundMessage:
    msg_id: str
    kind: MessageKind
    text: str = ""
    attachments: tuple[dict[str, Any], ...] = ()
    quote_msg_id: str | None = None


@frozen
class ReceiveCustomerMessage:
    delivery: Delivery
    customer: Customer
    message: InboundMessage


@frozen
class ReceiveFollow:
    delivery: Delivery
    zalo_user_id: str
    followed: bool
    source: str | None = None


@frozen
class ReceiveOAMessage:
    """An ``oa_send_*`` event: an echo of our own send, or a message typed in the OA manager."""

    delivery: Delivery
    customer: Customer
    message: InboundMessage
    admin_id: str | None = None


@frozen
class ReceiveMessageStatus:
    """A delivery or read receipt for messages the OA sent."""

    delivery: Delivery
    msg_ids: tuple[str, ...]
    status: ReplyStatus


@frozen
class KeepDelivery:
    """An event we do not act on, or cannot read: kept in the log all the same."""

    delivery: Delivery
    problem: str | None = None


InboundCommand = (
    ReceiveCustomerMessage | ReceiveFollow | ReceiveOAMessage | ReceiveMessageStatus | KeepDelivery
)


@frozen
class ConnectAccount:
    """Connect an OA whose credentials are already stored under ``account_id``: the
    command carries only their fingerprints (``domain.account.fingerprint``)."""

    account_id: UUID
    name: str
    app_id: str
    oa_id: str
    secrets_fingerprint: str
    tokens_fingerprint: str
    access_token_expires_in: int
    chat_inactivity_seconds: int
    allow_postpone: bool
    verification_code: str | None
    actor: str


@frozen
class UpdateAccount:
    """An admin's changes: form fields by name, and the fingerprints of any secrets or
    token pair stored anew."""

    account_id: UUID
    actor: str
    changes: dict[str, Any] = field(factory=dict)
    secrets_fingerprint: str | None = None
    tokens_fingerprint: str | None = None
    access_token_expires_in: int | None = None


@frozen
class DeleteAccount:
    account_id: UUID
    actor: str


@frozen
class EndChat:
    chat_id: UUID
    actor: str
    reason: str
    status: str | None = None


@frozen
class PostponeChat:
    chat_id: UUID
    actor: str


@frozen
class MarkChatRead:
    chat_id: UUID
    actor: str


@frozen
class EndInactiveChat:
    """The timer's command: end the chat only if it is still quiet now."""

    chat_id: UUID


@frozen
class PostReply:
    """An agent (or a rule) writes to the customer, on a chat or on its ticket."""

    actor: str
    text: str
    chat_id: UUID | None = None
    ticket_id: UUID | None = None
    client_message_id: str | None = None


@frozen
class RetryReply:
    """An agent sends a failed reply again: a new attempt of the same reply."""

    reply_id: UUID
    actor: str


@frozen
class ChangeTicket:
    ticket_id: UUID
    actor: str
    status: str | None = None
    assignee: str | None = None
    change_assignee: bool = False
    tags: tuple[str, ...] | None = None
    reason: str = ""


@frozen
class OpenTicket:
    """An asynchronous ticket, opened by an agent or an integration."""

    subject: str
    text: str
    actor: str
    account_id: UUID | None = None
    zalo_user_id: str | None = None
    customer_name: str | None = None


@frozen
class RecordProfile:
    """What Zalo's user-detail call answered for a contact."""

    contact_id: UUID
    display_name: str | None
    avatar: str | None


@frozen
class RecordNoProfile:
    """Zalo will not give this contact's profile: ``code`` is its error code, if it gave one."""

    contact_id: UUID
    code: int | None
    reason: str


@frozen
class CreateRule:
    """An admin's new automation rule; its parts are checked as the rule is made."""

    actor: str
    name: str
    enabled: bool
    trigger: Any
    conditions: Any
    actions: Any
    position: int
    after_seconds: Any = None


@frozen
class ChangeRule:
    """Any of the rule's name, enabled, trigger, after_seconds, conditions, actions, position."""

    rule_id: UUID
    actor: str
    changes: dict[str, Any] = field(factory=dict)


@frozen
class DeleteRule:
    rule_id: UUID
    actor: str


@frozen
class FireRule:
    """The automation worker's command: a rule's actions on one ticket, once per trigger
    (``trigger_key`` names the trigger within the rule)."""

    rule_id: UUID
    rule_name: str
    trigger: RuleTrigger
    trigger_key: str
    trigger_position: int
    ticket_id: UUID
    actions: tuple[RuleAction, ...]
