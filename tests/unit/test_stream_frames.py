"""The stream's frames and its clients' buffers, in memory."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.settings import Settings, SettingsError, next_port
from adapters.stream.frames import Framer, aggregate_of
from adapters.stream.hub import Client
from adapters.stream.source import Batch
from domain.chat import Chat

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def started_chat() -> Chat:
    return Chat(
        ticket_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        contact_id=uuid.uuid4(),
        reactivation=False,
        receipt_id=None,
        actor="zalo:customer",
        at=AT,
    )


def parsed(frame: bytes) -> tuple[list[str], dict[str, Any]]:
    lines = frame.decode().split("\n")
    assert frame.endswith(b"\n\n")
    return lines[:2], json.loads(lines[2].removeprefix("data: "))


def test_a_chats_events_name_its_ticket_account_and_contact() -> None:
    chat = started_chat()
    chat.agent_replied(uuid.uuid4(), "agent:x", AT)
    started, replied = chat.collect_events()
    looked_up: list[uuid.UUID] = []
    framer = Framer(lambda aggregate_id: looked_up.append(aggregate_id))

    head, data = parsed(framer.frame(7, "Chat", started))
    assert head == ["id: 7", "event: chat"]
    assert data == {
        "position": 7,
        "type": "Chat.Started",
        "at": "2026-12-01T10:00:00.000Z",
        "chat_id": str(chat.id),
        "ticket_id": str(chat.ticket_id),
        "contact_id": str(chat.contact_id),
        "reply_id": None,
        "account_id": str(chat.account_id),
    }
    _, later = parsed(framer.frame(9, "Chat", replied))
    assert later["type"] == "Chat.AgentReplied"
    assert later["ticket_id"] == str(chat.ticket_id)  # remembered from its start
    assert looked_up == []


def test_an_aggregate_first_seen_later_is_looked_up_once() -> None:
    chat = started_chat()
    chat.agent_replied(uuid.uuid4(), "agent:x", AT)
    chat.agent_replied(uuid.uuid4(), "agent:x", AT)
    _, first, second = chat.collect_events()
    looked_up: list[uuid.UUID] = []

    def lookup(aggregate_id: uuid.UUID) -> Chat:
        looked_up.append(aggregate_id)
        return chat

    framer = Framer(lookup)
    assert parsed(framer.frame(3, "Chat", first))[1]["account_id"] == str(chat.account_id)
    assert parsed(framer.frame(4, "Chat", second))[1]["contact_id"] == str(chat.contact_id)
    assert looked_up == [chat.id]


def test_only_the_aggregates_agents_see_make_frames() -> None:
    assert aggregate_of("domain.chat:Chat.CustomerMessageReceived") == "Chat"
    assert aggregate_of("domain.reply:Reply.Sent") == "Reply"
    assert aggregate_of("domain.receipt:InboundReceipt.Received") is None
    assert aggregate_of("domain.account:ZaloAccount.Connected") is None


def test_a_client_gets_only_what_is_past_its_place_and_overflows_at_its_limit() -> None:
    client = Client(after=5, limit=100)
    frames = [(4, b"a"), (5, b"b"), (6, b"c"), (7, b"d")]
    assert client.push(Batch(7, frames), b"abcd")
    assert client.take() == b"cd"
    assert client.push(Batch(9, []), b"")  # moved on, nothing to send
    assert client.after == 9
    assert client.push(Batch(10, [(10, b"x" * 60)]), b"x" * 60)
    assert not client.push(Batch(11, [(11, b"y" * 60)]), b"y" * 60)


def test_stream_settings() -> None:
    assert next_port("127.0.0.1:8000") == "127.0.0.1:8001"
    found = Settings.from_env({"ZALODESK_STREAM_BIND": "0.0.0.0:9001"})
    assert found.stream_port == 9001
    assert Settings.from_env({}).stream_port == 8001
    with pytest.raises(SettingsError):
        Settings.from_env({"ZALODESK_STREAM_BIND": "9001"})
    with pytest.raises(SettingsError):
        Settings.from_env({"ZALODESK_STREAM_URL": "desk.example"})
