"""Chat.CustomerMessageReceived version 2 gained receipt_id: messages stored before still load.

domain/EVENTS.md walks through this example.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.application import Zalodesk
from domain.chat import Chat
from domain.values import MessageKind

ACCOUNT = UUID("0b0e9a62-22f8-4ac2-9f65-4ee1c1b8a7a4")
USER = "2512523625412515"
AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def app() -> Iterator[Zalodesk]:
    app = Zalodesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()


def started_chat(app: Zalodesk) -> Chat:
    chat = Chat(
        ticket_id=uuid4(),
        account_id=ACCOUNT,
        contact_id=uuid4(),
        reactivation=False,
        receipt_id=uuid4(),
        actor=f"customer:{USER}",
        at=AT,
    )
    app.save(chat)
    return chat


def version_1_message(app: Zalodesk, chat: Chat) -> StoredEvent:
    """A customer's message as version 1 of the class wrote it: no receipt_id, no class_version."""
    state = {
        "timestamp": AT,
        "message_id": uuid4(),
        "zalo_msg_id": "7605173638941758527",
        "kind": "text",
        "text": "Còn size M không?",
        "attachments": [],
        "quote_msg_id": None,
        "platform_at": AT,
        "actor": f"customer:{USER}",
        "at": AT,
    }
    return StoredEvent(
        originator_id=chat.id,
        originator_version=chat.version + 1,
        topic=get_topic(Chat.CustomerMessageReceived),
        state=app.mapper.transcoder.encode(state),
    )


def test_a_message_stored_before_receipt_ids_is_read_with_none(app: Zalodesk) -> None:
    chat = started_chat(app)
    app.recorder.insert_events([version_1_message(app, chat)])

    again: Chat = app.repository.get(chat.id)

    assert again.version == 2 and again.last_activity_at == AT
    [_, stored] = app.recorder.select_events(chat.id)
    event = app.mapper.to_domain_event(stored)
    assert isinstance(event, Chat.CustomerMessageReceived)
    assert event.receipt_id is None and event.text == "Còn size M không?"


def test_new_messages_are_stored_as_version_2_with_their_receipt(app: Zalodesk) -> None:
    chat = started_chat(app)
    receipt_id = uuid4()
    chat.receive_customer_message(
        message_id=uuid4(),
        zalo_msg_id="7605173638941758528",
        kind=MessageKind.TEXT,
        text="Cho hỏi thêm",
        attachments=[],
        quote_msg_id=None,
        platform_at=AT,
        receipt_id=receipt_id,
        actor=f"customer:{USER}",
        at=AT,
    )
    app.save(chat)

    [_, stored] = app.recorder.select_events(chat.id)
    state = json.loads(stored.state)
    assert state["class_version"] == 2 and UUID(state["receipt_id"]["_data_"]) == receipt_id
    event = app.mapper.to_domain_event(stored)
    assert isinstance(event, Chat.CustomerMessageReceived) and event.receipt_id == receipt_id


def test_a_chat_with_old_and_new_messages_goes_on(app: Zalodesk) -> None:
    chat = started_chat(app)
    app.recorder.insert_events([version_1_message(app, chat)])
    again: Chat = app.repository.get(chat.id)

    again.agent_replied(uuid4(), actor="agent:lan", at=AT)
    app.save(again)

    assert app.repository.get(chat.id).version == 3
