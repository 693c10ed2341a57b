"""What every handler shares: finding aggregates, retrying on conflicts, the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeAlias, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.utils import EnvType

from domain import actors
from domain.account import ZaloAccount
from domain.chat import Chat
from domain.clock import Clock, system_clock
from domain.contact import Contact
from domain.errors import ConcurrentChange, NotFound
from domain.reply import Reply
from domain.ticket import Ticket

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")

# What a command decided: its answer, and the aggregates to save, in the order the log
# should record their events (none: nothing to save).
Decision: TypeAlias = tuple[R, Sequence[Aggregate]]

# Forty customers' worth of simultaneous writers to one aggregate all get through.
MAX_ATTEMPTS = 100


class DeskBase(Application):  # type: ignore[type-arg]
    name = "zalodesk"
    # Contact, ticket and chat of every customer active in the last while, per process.
    env = {"AGGREGATE_CACHE_MAXSIZE": "30000", "AGGREGATE_CACHE_FASTFORWARD": "y"}  # noqa: RUF012
    snapshotting_intervals = {Chat: 100, Ticket: 100, Contact: 100, Reply: 100}  # noqa: RUF012

    def __init__(
        self,
        env: EnvType | None = None,
        clock: Clock = system_clock,
        default_timeout: int = 600,
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.default_timeout = default_timeout

    def account(self, account_id: UUID) -> ZaloAccount:
        return self._get(ZaloAccount, account_id, "account")

    def chat(self, chat_id: UUID) -> Chat:
        return self._get(Chat, chat_id, "chat")

    def ticket(self, ticket_id: UUID) -> Ticket:
        return self._get(Ticket, ticket_id, "ticket")

    def _contact(
        self,
        account_id: UUID,
        zalo_user_id: str,
        anonymous: bool,
        receipt_id: UUID | None,
        now: datetime,
    ) -> Contact:
        """The customer, registered on first sight (a deterministic id: races conflict).

        ``receipt_id`` is the webhook delivery that first showed them, if one did.
        """
        cid = Contact.create_id(account_id, zalo_user_id)
        return self._find(Contact, cid) or Contact(
            account_id=account_id,
            zalo_user_id=zalo_user_id,
            anonymous=anonymous,
            conversation_id=None,
            receipt_id=receipt_id,
            actor=actors.customer(zalo_user_id),
            at=now,
        )

    def _start_chat(
        self,
        contact: Contact,
        ticket: Ticket,
        receipt_id: UUID | None,
        actor: str,
        now: datetime,
    ) -> Chat:
        """A new chat session on the ticket; ``receipt_id`` names the delivery that began it."""
        reactivation = ticket.chat_count > 0
        chat = Chat(
            ticket_id=ticket.id,
            account_id=contact.account_id,
            contact_id=contact.id,
            reactivation=reactivation,
            receipt_id=receipt_id,
            actor=actor,
            at=now,
        )
        ticket.attach_chat(
            chat.id, reactivation=reactivation, receipt_id=receipt_id, actor=actor, at=now
        )
        contact.attach(ticket.id, chat.id, receipt_id=receipt_id, actor=actor, at=now)
        return chat

    def _timeout(self, account_id: UUID) -> int:
        account = self._find(ZaloAccount, account_id)
        return account.chat_inactivity_seconds if account else self.default_timeout

    def _find(self, kind: type[A], aggregate_id: UUID | None) -> A | None:
        if aggregate_id is None:
            return None
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, projector_func=_project)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def _get(self, kind: type[A], aggregate_id: UUID, what: str) -> A:
        """The aggregate, or ``NotFound`` naming ``what`` was looked for: a deleted one (an
        account, a rule) is not found either."""
        found = self._find(kind, aggregate_id)
        if found is None or getattr(found, "deleted", False):
            raise NotFound(what, aggregate_id)
        return found

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _change(self, decide: Callable[[], Decision[R]]) -> R:
        """The one way a command saves: ``decide`` loads what it needs, changes it, and says
        what to save; all of it is saved in one transaction.

        A conflict means someone else (a customer's message, another agent, a worker)
        saved one of those aggregates after ``decide`` loaded it: nothing was saved, so
        ``decide`` runs again on what is there now. ``decide`` must load everything
        itself, every time. A conflict that persists ends in ``ConcurrentChange``.
        """
        for _ in range(MAX_ATTEMPTS):
            answer, changed = decide()
            if not changed:
                return answer
            try:
                self.save(*changed)
            except IntegrityError:
                continue
            return answer
        raise ConcurrentChange(
            f"others changed the same records at the same moment {MAX_ATTEMPTS} times in a "
            "row; nothing was changed: try again"
        )

    def _update(self, load: Callable[[], A], change: Callable[[A, datetime], object]) -> A:
        """A command on one aggregate: ``load`` gets it, ``change`` changes it at the
        clock's time; saved (and retried on a conflict) as ``_change`` does."""

        def decide() -> Decision[A]:
            aggregate = load()
            change(aggregate, self.clock())
            return aggregate, [aggregate]

        return self._change(decide)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """``Application.save``; for aggregates alone, without asking of every object
        whether it is an event or an aggregate by ``isinstance`` against the library's
        runtime protocols, which Python 3.11 answers slowly (a twentieth of a webhook's CPU).
        """
        if kwargs or not all(isinstance(obj, Aggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in objs:
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's ``project_aggregate`` without its per-event protocol assertion (slow
    on Python 3.11, see ``_save_aggregates``): stored events always mutate."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
