"""The repository's copies of cached aggregates are independent of the cache."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from uuid import uuid4

from domain.ticket import Ticket
from domain.values import Channel, TicketKind

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_changing_a_copy_leaves_the_original_as_it_was() -> None:
    original = Ticket(
        kind=TicketKind.CHAT,
        account_id=uuid4(),
        contact_id=uuid4(),
        subject="s",
        channel=Channel.ZALO,
        receipt_id=uuid4(),
        actor="customer:1",
        at=AT,
    )
    original.retag(["vip"], actor="agent:lan", at=AT)
    original.collect_events()

    clone = copy.deepcopy(original)
    clone.retag(["vip", "size"], actor="agent:lan", at=AT)
    clone.set_status("pending", reason="", receipt_id=None, actor="agent:lan", at=AT)

    assert (original.tags, original.status.value, original.version) == (["vip"], "new", 2)
    assert original.collect_events() == []
    assert (clone.tags, clone.status.value, clone.version) == (["size", "vip"], "pending", 4)
    assert len(clone.collect_events()) == 2
