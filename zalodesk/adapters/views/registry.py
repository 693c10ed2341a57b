"""The views zalodesk keeps, by name."""

from __future__ import annotations

from zalodesk.adapters.views.accounts import AccountsView
from zalodesk.adapters.views.base import View
from zalodesk.adapters.views.contacts import ContactsView
from zalodesk.adapters.views.deliveries import UnsettledView
from zalodesk.adapters.views.inbox import InboxView
from zalodesk.adapters.views.tickets import TicketsView
from zalodesk.adapters.views.transcript import TranscriptView

VIEW_CLASSES: tuple[type[View], ...] = (
    AccountsView,
    ContactsView,
    InboxView,
    TranscriptView,
    TicketsView,
    UnsettledView,
)


def all_views(suffix: str = "") -> list[View]:
    return [cls(suffix) for cls in VIEW_CLASSES]
