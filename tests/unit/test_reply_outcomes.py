"""A reply counts as the agent's activity once Zalo takes it; a failed one is retried."""

from __future__ import annotations

import json
from uuid import UUID

import pytest

from domain.application import Zalodesk
from domain.chat import Chat
from domain.clock import FrozenClock
from domain.commands import EndChat, EndInactiveChat, PostReply, RetryReply
from domain.errors import Conflict, NotFound
from domain.reply import Reply
from domain.values import ReplyStatus
from tests.unit.test_conversations import contact, say


def chat_of(desk: Zalodesk, account_id: UUID) -> UUID:
    say(desk, account_id, "m1")
    chat_id = contact(desk, account_id).active_chat_id
    assert chat_id is not None
    return chat_id


def names(desk: Zalodesk, aggregate_id: UUID) -> list[str]:
    return [type(e).__name__ for e in desk.events.get(aggregate_id)]


def test_a_queued_reply_is_not_yet_activity(
    desk: Zalodesk, account_id: UUID, clock: FrozenClock
) -> None:
    chat_id = chat_of(desk, account_id)
    started = desk.chat(chat_id).last_activity_at
    clock.advance(590)
    desk.post_reply(PostReply(actor="agent:lan", text="Dạ", chat_id=chat_id))
    assert desk.chat(chat_id).last_activity_at == started
    clock.advance(20)
    assert desk.end_inactive_chat(EndInactiveChat(chat_id)) is True


def test_a_reply_zalo_took_is_the_agent_s_activity(
    desk: Zalodesk, account_id: UUID, clock: FrozenClock
) -> None:
    chat_id = chat_of(desk, account_id)
    reply = desk.post_reply(PostReply(actor="agent:lan", text="Dạ", chat_id=chat_id))
    clock.advance(30)
    desk.begin_send(reply.id)
    desk.record_sent(reply.id, "z1")
    assert desk.chat(chat_id).last_activity_at == clock()
    assert names(desk, chat_id)[-2:] == ["AgentReplied", "ReplySent"]
    desk.record_sent(reply.id, "z1")  # told twice: recorded once
    assert names(desk, chat_id).count("ReplySent") == 1


def test_a_failed_reply_leaves_the_clock_alone_and_can_be_retried(
    desk: Zalodesk, account_id: UUID, clock: FrozenClock
) -> None:
    chat_id = chat_of(desk, account_id)
    started = desk.chat(chat_id).last_activity_at
    reply = desk.post_reply(PostReply(actor="agent:lan", text="Dạ", chat_id=chat_id))
    desk.begin_send(reply.id)
    desk.record_failed(reply.id, -230, "The customer has not interacted with the OA lately")
    assert desk.chat(chat_id).last_activity_at == started
    with pytest.raises(Conflict, match="only a failed reply"):
        desk.retry_reply(RetryReply(desk.post_reply(PostReply("agent:lan", "x", chat_id)).id, "a"))

    again = desk.retry_reply(RetryReply(reply.id, "agent:lan"))
    assert (again.status, again.attempts, again.in_flight) == (ReplyStatus.QUEUED, 1, False)
    # A restart before the new attempt began: it is sent, not abandoned as cut short.
    assert desk.abandon_unknown(reply.id) is False
    job = desk.begin_send(reply.id)
    assert job is not None and desk.abandon_unknown(reply.id) is True  # cut short mid-call
    desk.retry_reply(RetryReply(reply.id, "agent:lan"))
    desk.begin_send(reply.id)
    desk.record_sent(reply.id, "z2")
    final: Reply = desk.repository.get(reply.id)
    assert (final.status, final.attempts) == (ReplyStatus.SENT, 3)
    assert names(desk, reply.id) == [
        "Queued",
        "SendAttempted",
        "Failed",
        "RetryRequested",
        "SendAttempted",
        "Failed",
        "RetryRequested",
        "SendAttempted",
        "Sent",
    ]
    with pytest.raises(NotFound):
        desk.retry_reply(RetryReply(chat_id, "agent:lan"))


def test_a_reply_taken_after_its_chat_ended_records_nothing_on_the_chat(
    desk: Zalodesk, account_id: UUID
) -> None:
    chat_id = chat_of(desk, account_id)
    reply = desk.post_reply(PostReply(actor="agent:lan", text="Tạm biệt", chat_id=chat_id))
    desk.end_chat(EndChat(chat_id, "agent:lan", "agent", "closed"))
    desk.begin_send(reply.id)
    desk.record_sent(reply.id, "z1")
    assert names(desk, chat_id)[-1] == "Ended"
    assert desk.repository.get(reply.id).status == ReplyStatus.SENT


def test_an_agent_reply_stored_before_version_2_was_activity_when_queued(
    desk: Zalodesk, account_id: UUID, clock: FrozenClock
) -> None:
    chat_id = chat_of(desk, account_id)
    clock.advance(60)
    chat = desk.chat(chat_id)
    chat.agent_replied(chat_id, "agent:lan", clock())
    [recorded] = chat.collect_events()
    stored = desk.mapper.to_stored_event(recorded)
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2 and state.pop("activity") is False
    old = type(stored)(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )
    desk.recorder.insert_events([old])
    again = desk.mapper.to_domain_event(old)
    assert isinstance(again, Chat.AgentReplied) and again.activity is True
    assert desk.chat(chat_id).last_activity_at == clock()


def test_a_reply_snapshot_from_version_1_knows_an_attempt_under_way() -> None:
    state = {"status": "queued", "attempts": 1}
    Reply.upcast_v1_v2(state)
    assert state["in_flight"] is True
    state = {"status": "failed", "attempts": 1}
    Reply.upcast_v1_v2(state)
    assert state["in_flight"] is False
