"""The views zalodesk keeps, by name."""

from __future__ import annotations

from adapters.read_models.views.accounts import AccountsView
from adapters.read_models.views.base import View
from adapters.read_models.views.contacts import ContactsView
from adapters.read_models.views.deliveries import UnsettledView
from adapters.read_models.views.inbox import InboxView
from adapters.read_models.views.rules import RulesView
from adapters.read_models.views.tickets import TicketsView
from adapters.read_models.views.transcript import TranscriptView

VIEW_CLASSES: tuple[type[View], ...] = (
    AccountsView,
    ContactsView,
    InboxView,
    TranscriptView,
    TicketsView,
    UnsettledView,
    RulesView,
)


def all_views(suffix: str = "") -> list[View]:
    return [cls(suffix) for cls in VIEW_CLASSES]
