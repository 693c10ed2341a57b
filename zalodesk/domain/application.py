"""The eventsourcing Application: every command is one small transaction."""

from __future__ import annotations

from zalodesk.domain.handlers.accounts import AccountHandlers
from zalodesk.domain.handlers.chats import ChatHandlers
from zalodesk.domain.handlers.inbound import InboundHandlers, Outcome
from zalodesk.domain.handlers.outbox import OutboxHandlers, SendJob
from zalodesk.domain.handlers.tickets import TicketHandlers

__all__ = ["Outcome", "SendJob", "Zalodesk"]


class Zalodesk(AccountHandlers, InboundHandlers, ChatHandlers, TicketHandlers, OutboxHandlers):
    """zalodesk's commands, grouped by the part of the business they belong to."""
