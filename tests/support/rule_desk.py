"""The domain on the in-memory store with a rule tracker reading its log, as the worker does."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.application import Zalodesk
from domain.automation.rule import AutomationRule
from domain.automation.ruleset import RuleSet
from domain.automation.tracker import Match, Tracker
from domain.clock import FrozenClock
from domain.commands import (
    CreateRule,
    Customer,
    Delivery,
    InboundMessage,
    PostReply,
    ReceiveCustomerMessage,
)
from domain.contact import Contact
from domain.identity import contact_id
from domain.values import MessageKind

ADMIN = "agent:admin"
CUSTOMER = "2687558107438251665"


class RuleDesk:
    def __init__(self, desk: Zalodesk, account_id: UUID, clock: FrozenClock) -> None:
        self.desk = desk
        self.account_id = account_id
        self.clock = clock
        self.tracker = Tracker(RuleSet())
        self.read = 0
        self.messages = 0

    def rule(
        self,
        trigger: str,
        actions: list[dict[str, Any]] | None = None,
        conditions: list[dict[str, Any]] | None = None,
        after_seconds: int | None = None,
        position: int = 1,
        enabled: bool = True,
        name: str = "a rule",
    ) -> AutomationRule:
        return self.desk.create_rule(
            CreateRule(
                actor=ADMIN,
                name=name,
                enabled=enabled,
                trigger=trigger,
                after_seconds=after_seconds,
                conditions=conditions or [],
                actions=actions or [{"type": "add_tag", "tag": "seen"}],
                position=position,
            )
        )

    def customer_says(self, text: str = "hi", user: str = CUSTOMER) -> None:
        self.messages += 1
        msg_id = f"m{self.messages}"
        delivery = Delivery(self.account_id, "user_send_text", f'{{"m":"{msg_id}"}}', msg_id, None)
        message = InboundMessage(msg_id=msg_id, kind=MessageKind.TEXT, text=text)
        self.desk.receive(ReceiveCustomerMessage(delivery, Customer(user), message))

    def contact(self, user: str = CUSTOMER) -> Contact:
        found: object = self.desk.repository.get(contact_id(self.account_id, user))
        assert isinstance(found, Contact)
        return found

    def chat_id(self, user: str = CUSTOMER) -> UUID:
        chat = self.contact(user).active_chat_id
        assert chat is not None
        return chat

    def ticket_id(self, user: str = CUSTOMER) -> UUID:
        ticket = self.contact(user).current_ticket_id
        assert ticket is not None
        return ticket

    def agent_replies(self, text: str = "Dạ", user: str = CUSTOMER) -> None:
        self.desk.post_reply(
            PostReply(actor="agent:lan", text=text, ticket_id=self.ticket_id(user))
        )
        self.zalo_accepts()

    def zalo_accepts(self) -> None:
        """The outbox sends every queued reply and Zalo takes it, as the worker would."""
        notifications = self.desk.recorder.select_notifications(start=1, limit=100_000)
        for n in notifications:
            if n.topic.endswith("Reply.Queued"):
                job = self.desk.begin_send(UUID(str(n.originator_id)))
                if job is not None:
                    self.desk.record_sent(job.reply_id, f"zalo-{job.reply_id.hex[:12]}")

    def matches(self) -> list[Match]:
        """What the log written since the last look triggers."""
        notifications = self.desk.recorder.select_notifications(start=self.read + 1, limit=100_000)
        found: list[Match] = []
        for n in notifications:
            found += self.tracker.observe(n.id, self.desk.mapper.to_domain_event(n))
            self.read = n.id
        return found + self.tracker.flush()

    def due(self) -> list[Match]:
        self.matches()
        return self.tracker.due(self.clock())

    def fire(self, matches: list[Match]) -> list[Any]:
        """The rules fire, and Zalo takes the replies they queued."""
        fired = [self.desk.fire_rule(m.command()) for m in matches]
        self.zalo_accepts()
        return fired

    def events(self, aggregate_id: UUID) -> list[Any]:
        return list(self.desk.repository.event_store.get(aggregate_id))
