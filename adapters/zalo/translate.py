"""Zalo webhook bodies into domain commands.

Parsing keeps every JSON number as the text it was written as: Zalo ids have up
to 19 digits and exceed 2^53, so they must never pass through a float. The
translation is a table: exact event names first, then event-name prefixes
(``user_send_``, ``anonymous_send_``, ``oa_send_``); anything else is kept as
a plain delivery so that new Zalo events are logged, never refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.commands import (
    Customer,
    Delivery,
    InboundCommand,
    InboundMessage,
    KeepDelivery,
    ReceiveCustomerMessage,
    ReceiveFollow,
    ReceiveMessageStatus,
    ReceiveOAMessage,
)
from domain.values import MessageKind, ReplyStatus

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DELIVERED = ReplyStatus.DELIVERED
SEEN = ReplyStatus.SEEN
MAX_DEPTH = 64  # Zalo's bodies nest four levels at most
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # strings, so brackets inside are skipped
MAX_TIMESTAMP_DIGITS = 20  # far beyond year 9999; bounds int() on hostile input
_KINDS = frozenset(kind.value for kind in MessageKind)


class BadPayload(ValueError):
    """The body is not a Zalo event we can read: the HTTP layer answers 400."""


# Parsing ------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise BadPayload(f"{name} is not valid JSON")


def _check_depth(text: str) -> None:
    """Refuse deep nesting before decoding: the decoder recurses once per level."""
    depth = 0
    for token in _STRUCTURE.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise BadPayload(f"body is nested deeper than {MAX_DEPTH} levels")
        elif bracket in "]}":
            depth -= 1


def parse_text(text: str) -> Any:
    """Any JSON value, with every number kept as its text (``"7605173638941758527"``)."""
    _check_depth(text)
    try:
        return json.loads(text, parse_int=str, parse_float=str, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise BadPayload(f"body is not valid JSON: {error}") from None


def body_text(raw_body: bytes) -> str:
    """The body as UTF-8 text, exactly as received (no BOM stripping, no re-encoding)."""
    try:
        return raw_body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadPayload(f"body is not UTF-8: {error}") from None


def _check_encodable(value: Any) -> None:
    """Lone surrogates (``"\\ud800"``) decode but could never be stored as UTF-8 text."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadPayload("body holds a lone surrogate escape") from None


def parse(raw_body: bytes) -> dict[str, Any]:
    """A webhook body as a dict whose numbers are all strings; BadPayload if not an object."""
    value = parse_text(body_text(raw_body))
    if not isinstance(value, dict):
        raise BadPayload(f"body is a JSON {type(value).__name__}, not an object")
    _check_encodable(value)
    return value


# Reading fields -------------------------------------------------------------


def text_of(value: Any) -> str | None:
    """A scalar as text: strings as they are, integers as digits; anything else is None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _object(body: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = body.get(name)
    return value if isinstance(value, Mapping) else {}


def _optional(body: Mapping[str, Any], path: str) -> str | None:
    """The text at a dotted path such as ``"sender.admin_id"``; None if absent or empty."""
    *parents, leaf = path.split(".")
    for name in parents:
        body = _object(body, name)
    return text_of(body.get(leaf)) or None


def _required(body: Mapping[str, Any], path: str) -> str:
    value = _optional(body, path)
    if not value:
        event = text_of(body.get("event_name")) or "event"
        raise BadPayload(f"{event}: {path} is missing")
    return value


def platform_time(value: Any) -> datetime | None:
    """Milliseconds since the epoch (string or number) as an aware UTC datetime.

    Any run of ASCII digits counts as milliseconds, even the docs' malformed
    12-digit sample (``"154390853474"`` is 1974-11-22): the value is kept as
    sent rather than guessed at. Anything else (missing, fractional, negative,
    out of range) is None.
    """
    text = (text_of(value) or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_TIMESTAMP_DIGITS):
        return None
    try:
        return EPOCH + timedelta(milliseconds=int(text))
    except OverflowError:
        return None


# Attachments ------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON data with every number as text (a no-op on what ``parse`` returned)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _card_details(description: Any) -> dict[str, Any]:
    """A business card's description is a JSON string: ``{"phone":..,"qrCodeUrl":..}``."""
    try:
        card = parse_text(description) if isinstance(description, str) else None
    except BadPayload:
        return {}
    if not isinstance(card, Mapping):
        return {}
    details = {"phone": text_of(card.get("phone")), "qr_code_url": text_of(card.get("qrCodeUrl"))}
    return {key: value for key, value in details.items() if value is not None}


def attachment(item: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """One attachment, flat: its ``type`` plus every payload field (payload.type -> file_type)."""
    details: dict[str, Any] = {"type": text_of(item.get("type")) or kind}
    for key, value in _object(item, "payload").items():
        details["file_type" if key == "type" else str(key)] = _plain(value)
    if MessageKind.BUSINESS_CARD in (kind, details["type"]):
        details |= _card_details(details.get("description"))
    return details


def attachments(message: Mapping[str, Any], kind: str) -> tuple[dict[str, Any], ...]:
    items = message.get("attachments")
    if not isinstance(items, list):
        return ()
    return tuple(attachment(item, kind) for item in items if isinstance(item, Mapping))


# Builders -------------------------------------------------------------------------


Builder = Callable[[Delivery, Mapping[str, Any]], InboundCommand]


def message_kind(event_name: str) -> MessageKind:
    """``user_send_image`` -> ``image``; a suffix that is no MessageKind -> ``other``."""
    suffix = event_name.rpartition("_send_")[2]
    return MessageKind(suffix) if suffix in _KINDS else MessageKind.OTHER


def inbound_message(body: Mapping[str, Any], kind: MessageKind) -> InboundMessage:
    message = _object(body, "message")
    return InboundMessage(
        msg_id=_required(body, "message.msg_id"),
        kind=kind,
        text=_optional(body, "message.text") or "",
        attachments=attachments(message, kind),
        quote_msg_id=_optional(body, "message.quote_msg_id"),
    )


def _customer_message(delivery: Delivery, body: Mapping[str, Any]) -> InboundCommand:
    customer = Customer(zalo_user_id=_required(body, "sender.id"))
    message = inbound_message(body, message_kind(delivery.event_name))
    return ReceiveCustomerMessage(delivery=delivery, customer=customer, message=message)


def _anonymous_message(delivery: Delivery, body: Mapping[str, Any]) -> InboundCommand:
    customer = Customer(
        zalo_user_id=_required(body, "sender.id"),
        anonymous=True,
        conversation_id=_optional(body, "message.conversation_id"),
    )
    message = inbound_message(body, message_kind(delivery.event_name))
    return ReceiveCustomerMessage(delivery=delivery, customer=customer, message=message)


def _oa_message(delivery: Delivery, body: Mapping[str, Any]) -> InboundCommand:
    """The customer is the recipient; a conversation_id marks an anonymous visitor."""
    conversation_id = _optional(body, "message.conversation_id")
    customer = Customer(
        zalo_user_id=_required(body, "recipient.id"),
        anonymous=conversation_id is not None,
        conversation_id=conversation_id,
    )
    message = inbound_message(body, message_kind(delivery.event_name))
    admin_id = _optional(body, "sender.admin_id")
    return ReceiveOAMessage(
        delivery=delivery, customer=customer, message=message, admin_id=admin_id
    )


def receipt_msg_ids(body: Mapping[str, Any]) -> tuple[str, ...]:
    """``message.msg_ids`` (a list) or else ``message.msg_id`` (one id); one of them is needed."""
    listed = _object(body, "message").get("msg_ids")
    ids = [text_of(item) for item in listed] if isinstance(listed, list) else []
    found = tuple(item for item in ids if item)
    if found:
        return found
    return (_required(body, "message.msg_id"),)


def _status(status: ReplyStatus) -> Builder:
    def build(delivery: Delivery, body: Mapping[str, Any]) -> InboundCommand:
        return ReceiveMessageStatus(delivery=delivery, msg_ids=receipt_msg_ids(body), status=status)

    return build


def _follow(followed: bool) -> Builder:
    def build(delivery: Delivery, body: Mapping[str, Any]) -> InboundCommand:
        return ReceiveFollow(
            delivery=delivery,
            zalo_user_id=_required(body, "follower.id"),
            followed=followed,
            source=_optional(body, "source"),
        )

    return build


def _keep(delivery: Delivery, body: Mapping[str, Any]) -> InboundCommand:
    return KeepDelivery(delivery=delivery)


USER_KINDS = (
    "text",
    "image",
    "gif",
    "sticker",
    "audio",
    "video",
    "file",
    "link",
    "location",
    "business_card",
)
ANONYMOUS_KINDS = ("text", "image", "file", "sticker")
OA_KINDS = ("text", "image", "gif", "file", "sticker", "list")

BY_NAME: dict[str, Builder] = {
    **{f"user_send_{kind}": _customer_message for kind in USER_KINDS},
    **{f"anonymous_send_{kind}": _anonymous_message for kind in ANONYMOUS_KINDS},
    **{f"oa_send_{kind}": _oa_message for kind in OA_KINDS},
    "user_received_message": _status(DELIVERED),
    "user_recieved_message": _status(DELIVERED),  # a misspelling some senders use
    "user_seen_message": _status(SEEN),
    "user_read_message": _status(SEEN),  # another name senders use for it
    "follow": _follow(True),
    "unfollow": _follow(False),
}
BY_PREFIX: tuple[tuple[str, Builder], ...] = (
    ("user_send_", _customer_message),
    ("anonymous_send_", _anonymous_message),
    ("oa_send_", _oa_message),
)


def _lenient(build: Builder) -> Builder:
    """For event names Zalo does not document: a body we cannot read is kept, not refused."""

    def attempt(delivery: Delivery, body: Mapping[str, Any]) -> InboundCommand:
        try:
            return build(delivery, body)
        except BadPayload:
            return KeepDelivery(delivery=delivery)

    return attempt


def event_label(event_name: str) -> str:
    """The event name as a metrics label: only names we know, so strangers add no series."""
    return event_name if event_name in BY_NAME else "other"


def builder_for(event_name: str) -> Builder:
    """The builder for an event name: listed names, then families by prefix, else keep."""
    if event_name in BY_NAME:
        return BY_NAME[event_name]
    for prefix, build in BY_PREFIX:
        if event_name.startswith(prefix):
            return _lenient(build)
    return _keep


# Entry point ------------------------------------------------------------------------


def delivery_of(
    account_id: UUID, raw_body: bytes, body: Mapping[str, Any], num_retry: int
) -> Delivery:
    """The envelope: the body as received, its message id and Zalo's timestamp."""
    return Delivery(
        account_id=account_id,
        event_name=text_of(body.get("event_name")) or "",
        raw_body=body_text(raw_body),
        msg_id=_optional(body, "message.msg_id"),
        platform_at=platform_time(body.get("timestamp")),
        num_retry=num_retry,
    )


def translate(
    account_id: UUID, raw_body: bytes, body: Mapping[str, Any], num_retry: int = 0
) -> InboundCommand:
    """The command for one webhook delivery; ``body`` is ``parse(raw_body)``."""
    delivery = delivery_of(account_id, raw_body, body, num_retry)
    try:
        return builder_for(delivery.event_name)(delivery, body)
    except BadPayload as problem:
        # Signed by Zalo, so kept: a 4xx or 5xx would only make Zalo send it again for an hour.
        return KeepDelivery(delivery=delivery, problem=str(problem))
