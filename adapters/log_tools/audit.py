"""What happened to a ticket, chat, contact or account: its events, and those of its parts.

A ticket's timeline has its own events, those of every chat session its own
``Ticket.ChatAttached`` events name, and those of the replies those sessions
record (``Chat.AgentReplied.message_id`` is the reply's id). A chat's has its
own and its replies'. Anything else (contact, account, receipt) has its own.

An event caused by a Zalo webhook delivery names it: its ``receipt_id`` is the id of
the delivery's ``InboundReceipt``, whose ``Received`` event holds the exact body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from adapters.log_tools.event_log import EventLog, LoggedEvent, event_time, event_type
from adapters.timefmt import iso
from domain.errors import NotFound

TEXT_CLIP = 80


class AuditTrail:
    def __init__(self, log: EventLog) -> None:
        self.log = log

    def timeline(self, aggregate_id: UUID) -> list[LoggedEvent]:
        own = self.log.of_aggregates([aggregate_id])
        if not own:
            raise NotFound("aggregate", aggregate_id)
        related = self._related(own)
        if not related:
            return own
        return self.log.of_aggregates([aggregate_id, *related])

    def _related(self, own: list[LoggedEvent]) -> list[UUID]:
        kind = event_type(own[0].event).partition(".")[0]
        if kind == "Ticket":
            chats = _values(own, "Ticket.ChatAttached", "chat_id")
            return [
                *chats,
                *_values(self.log.of_aggregates(chats), "Chat.AgentReplied", "message_id"),
            ]
        if kind == "Chat":
            return _values(own, "Chat.AgentReplied", "message_id")
        return []

    def delivery_bodies(self, entries: list[LoggedEvent]) -> dict[UUID, str]:
        """The exact body of each Zalo delivery that caused one of these events, by receipt id."""
        receipts = {rid for e in entries if (rid := cause(e)) is not None}
        if not receipts:
            return {}
        return {
            r.event.originator_id: str(r.event.raw_body)
            for r in self.log.of_aggregates(sorted(receipts))
            if event_type(r.event) == "InboundReceipt.Received"
        }


def cause(entry: LoggedEvent) -> UUID | None:
    """The receipt of the webhook delivery that caused this event, if one did."""
    receipt_id = getattr(entry.event, "receipt_id", None)
    return receipt_id if isinstance(receipt_id, UUID) else None


def _values(entries: list[LoggedEvent], kind: str, field: str) -> list[UUID]:
    return [getattr(e.event, field) for e in entries if event_type(e.event) == kind]


# One line per event, for a terminal


def audit_line(entry: LoggedEvent, actor_names: Mapping[str, str] | None = None) -> str:
    """One line for a person; an agent's token name stands beside its id."""
    event = entry.event
    actor = str(getattr(event, "actor", "") or "-")
    if actor in (actor_names or {}):
        actor = f"{actor} ({(actor_names or {})[actor]})"
    return (
        f"{iso(event_time(event))}  #{entry.position:<8} {actor:<30} "
        f"{event_type(event):<30} {describe(event)}"
    )


def describe(event: Any) -> str:
    """What happened, and why where the event says."""
    summary = SUMMARIES.get(event_type(event))
    return summary(event) if summary else _generic(event)


def _quote(text: Any) -> str:
    text = " ".join(str(text or "").split())
    clipped = text if len(text) <= TEXT_CLIP else text[: TEXT_CLIP - 1] + "…"
    return json.dumps(clipped, ensure_ascii=False)


def _generic(event: Any) -> str:
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "at"}
    return ", ".join(f"{k}={v}" for k, v in vars(event).items() if k not in skip)


def _status(e: Any) -> str:
    because = f" because {e.reason}" if e.reason else ""
    return f"status set to {e.status}{because}"


def _ended(e: Any) -> str:
    status = f", status set to {e.status}" if e.status else ", status kept"
    return f"chat ended ({e.reason}){status}"


def _failed(e: Any) -> str:
    code = f" (Zalo error {e.code})" if e.code is not None else ""
    return f"Zalo did not take the reply: {e.reason}{code}"


def _received(e: Any) -> str:
    retry = f", retry {e.num_retry}" if e.num_retry else ""
    kept = f"; kept unread: {e.problem}" if e.problem else ""
    return f"Zalo delivered {e.event_name or 'an event without a name'}{retry}{kept}"


def _rule_shape(e: Any) -> str:
    after = f" after {e.after_seconds} s" if e.after_seconds else ""
    actions = ", ".join(str(a.get("type")) for a in e.actions)
    return f"on {e.trigger}{after}, {len(e.conditions)} condition(s), then {actions}"


def _rule_fired(e: Any) -> str:
    done = "; ".join(
        f"{o.get('type')} {o.get('outcome')}" + (f" ({o['reason']})" if o.get("reason") else "")
        for o in e.outcomes
    )
    return f"rule {e.rule_id} fired on {e.trigger}: {done}"


SUMMARIES: dict[str, Callable[[Any], str]] = {
    "ZaloAccount.Connected": lambda e: f"account {_quote(e.name)} connected (OA {e.oa_id})",
    "ZaloAccount.Renamed": lambda e: f"renamed {_quote(e.name)}",
    "ZaloAccount.AppChanged": lambda e: f"now app {e.app_id}, OA {e.oa_id}",
    "ZaloAccount.ChatSettingsChanged": lambda e: (
        f"chats end after {e.chat_inactivity_seconds} s without a message; postponing "
        + ("allowed" if e.allow_postpone else "not allowed")
    ),
    "ZaloAccount.VerificationCodeSet": lambda e: (
        "domain verification code set"
        if e.verification_code
        else "domain verification code removed"
    ),
    "ZaloAccount.SigningSecretsReplaced": lambda e: (
        f"app secret or OA secret key replaced (fingerprint {e.secrets_fingerprint})"
    ),
    "ZaloAccount.TokensRotated": lambda e: (
        f"tokens rotated (fingerprint {e.tokens_fingerprint}); "
        f"access token valid until {iso(e.access_token_expires_at)}"
    ),
    "ZaloAccount.ReconnectNeeded": lambda e: f"needs reconnecting: {e.reason}",
    "ZaloAccount.Deleted": lambda e: "account removed",
    "Contact.Registered": lambda e: (
        f"customer {e.zalo_user_id} first seen" + (" (anonymous)" if e.anonymous else "")
    ),
    "Contact.ConversationAttached": lambda e: f"talking on ticket {e.ticket_id}, chat {e.chat_id}",
    "Contact.ChatDetached": lambda e: f"chat {e.chat_id} no longer active",
    "Contact.ConversationIdChanged": lambda e: f"widget conversation now {e.conversation_id}",
    "Contact.Followed": lambda e: f"followed the OA (from {e.source or 'unknown'})",
    "Contact.Unfollowed": lambda e: f"unfollowed the OA (from {e.source or 'unknown'})",
    "Contact.ProfileFetched": lambda e: (
        f"Zalo profile fetched: {_quote(e.display_name) if e.display_name else 'no name'}"
        + (f", avatar {e.avatar}" if e.avatar else "")
    ),
    "Contact.ProfileUnavailable": lambda e: (
        f"Zalo gives no profile: {e.reason}"
        + (f" (Zalo error {e.code})" if e.code is not None else "")
    ),
    "Ticket.Opened": lambda e: f"{e.kind} ticket opened on {e.channel}: {_quote(e.subject)}",
    "Ticket.StatusChanged": _status,
    "Ticket.ChatAttached": lambda e: (
        f"chat {e.chat_id} {'reactivated the ticket' if e.reactivation else 'started'}"
    ),
    "Ticket.ChatDetached": lambda e: f"chat {e.chat_id} ended: ticket back in the ticket list",
    "Ticket.CustomerNamed": lambda e: f"customer named {_quote(e.name)}",
    "Ticket.Assigned": lambda e: f"assigned to {e.assignee}" if e.assignee else "unassigned",
    "Ticket.TagsSet": lambda e: f"tags set to {', '.join(e.tags) or '(none)'}",
    "Ticket.MessageAdded": lambda e: (
        f"{'customer' if e.direction == 'in' else 'agent'} wrote {_quote(e.text)}"
    ),
    "Chat.Started": lambda e: "chat session reactivated" if e.reactivation else "chat started",
    "Chat.CustomerMessageReceived": lambda e: f"customer sent {e.kind} {_quote(e.text)}",
    "Chat.AgentReplied": lambda e: (
        f"agent replied (reply {e.message_id})"
        + ("" if e.activity else ": the customer is answered once Zalo takes it")
    ),
    "Chat.ReplySent": lambda e: f"Zalo took reply {e.message_id}: the customer is answered",
    "Chat.Postponed": lambda e: f"automatic end postponed by {e.seconds} s",
    "Chat.ReadMarked": lambda e: "read by the agent",
    "Chat.Ended": _ended,
    "Reply.Queued": lambda e: f"reply queued {_quote(e.text)}",
    "Reply.SendAttempted": lambda e: f"attempt {e.attempt}: calling Zalo",
    "Reply.RetryRequested": lambda e: "sent again: a new attempt queued",
    "Reply.Sent": lambda e: f"sent to Zalo as {e.zalo_msg_id}",
    "Reply.Failed": _failed,
    "Reply.Progressed": lambda e: f"{e.status} by the customer",
    "InboundReceipt.Received": _received,
    "Ticket.RuleFired": _rule_fired,
    "AutomationRule.Created": lambda e: (
        f"rule {_quote(e.name)} created{'' if e.enabled else ', disabled'}: "
        f"{_rule_shape(e)}, position {e.position}"
    ),
    "AutomationRule.Renamed": lambda e: f"rule renamed {_quote(e.name)}",
    "AutomationRule.Redefined": lambda e: f"rule changed: {_rule_shape(e)}",
    "AutomationRule.Enabled": lambda e: "rule enabled",
    "AutomationRule.Disabled": lambda e: "rule disabled",
    "AutomationRule.Moved": lambda e: f"rule moved to position {e.position}",
    "AutomationRule.Deleted": lambda e: "rule deleted",
    "RuleFiring.Fired": lambda e: (
        f"rule {e.rule_id} fired on {e.trigger} (position {e.trigger_position}) "
        f"for ticket {e.ticket_id}"
    ),
}
