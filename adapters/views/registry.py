"""The views zalodesk keeps, by name."""

from __future__ import annotations

from adapters.views.accounts import AccountsView
from adapters.views.base import View
from adapters.views.contacts import ContactsView
from adapters.views.deliveries import UnsettledView
from adapters.views.inbox import InboxView
from adapters.views.tickets import TicketsView
from adapters.views.transcript import TranscriptView

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
