"""The eventsourcing Application: every command is one small transaction."""

from __future__ import annotations

from domain.handlers.accounts import AccountHandlers
from domain.handlers.chats import ChatHandlers
from domain.handlers.contacts import ContactHandlers
from domain.handlers.inbound import InboundHandlers, Outcome
from domain.handlers.outbox import OutboxHandlers, SendJob
from domain.handlers.rules import RuleHandlers
from domain.handlers.tickets import TicketHandlers

__all__ = ["Outcome", "SendJob", "Zalodesk"]


class Zalodesk(
    AccountHandlers,
    InboundHandlers,
    RuleHandlers,
    ChatHandlers,
    TicketHandlers,
    OutboxHandlers,
    ContactHandlers,
):
    """zalodesk's commands, grouped by the part of the business they belong to."""
