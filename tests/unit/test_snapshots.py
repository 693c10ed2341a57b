"""An aggregate restored from a stored snapshot reads as the one that was snapshotted."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.domain import Aggregate, Snapshot

from domain.application import Zalodesk
from domain.reply import Reply
from domain.ticket import Ticket
from domain.values import Channel, ReplyStatus, TicketKind, TicketStatus

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def through_the_store(aggregate: Aggregate) -> object:
    """Snapshot the aggregate, encode it as the store does, and restore it from that."""
    app = Zalodesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    stored = app.mapper.to_stored_event(Snapshot.take(aggregate))
    snapshot = app.mapper.to_domain_event(stored)
    assert isinstance(snapshot, Snapshot)
    return snapshot.mutate(None)


def test_a_restored_ticket_reads_its_status_kind_and_channel_as_words_of_their_sets() -> None:
    ticket = Ticket(
        kind=TicketKind.ASYNC,
        account_id=None,
        contact_id=None,
        subject="Đổi size",
        channel=Channel.API,
        receipt_id=None,
        actor="agent:lan",
        at=AT,
    )
    ticket.set_status("pending", reason="", receipt_id=None, actor="agent:lan", at=AT)

    restored = through_the_store(ticket)

    assert isinstance(restored, Ticket)
    assert restored.status is TicketStatus.PENDING and restored.status.value == "pending"
    assert (restored.kind, restored.channel) == (TicketKind.ASYNC, Channel.API)
    assert restored.kind is TicketKind.ASYNC and restored.channel is Channel.API


def test_a_restored_reply_reads_its_status_as_a_reply_status() -> None:
    reply = Reply(
        ticket_id=uuid4(),
        chat_id=uuid4(),
        account_id=uuid4(),
        contact_id=uuid4(),
        text="Dạ còn ạ",
        client_message_id=None,
        actor="agent:lan",
        at=AT,
    )
    reply.record_sent("z1", actor="system:outbox", at=AT)

    restored = through_the_store(reply)

    assert isinstance(restored, Reply) and restored.status is ReplyStatus.SENT
