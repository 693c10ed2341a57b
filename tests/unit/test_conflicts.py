"""Writers who keep getting in each other's way: a command tries again, then says so."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any
from uuid import UUID

import falcon
import pytest
from falcon import testing

from api import errors
from domain.application import Zalodesk
from domain.chat import Chat
from domain.commands import (
    Customer,
    Delivery,
    InboundMessage,
    MarkChatRead,
    ReceiveCustomerMessage,
)
from domain.contact import Contact
from domain.errors import ConcurrentChange
from domain.handlers import base
from domain.identity import contact_id
from domain.values import MessageKind

CUSTOMER = "2687558107438251665"
HANDLERS = Path(base.__file__).parent


def started_chat(desk: Zalodesk, account_id: UUID) -> UUID:
    delivery = Delivery(account_id, "user_send_text", '{"m":"m1"}', "m1", None)
    message = InboundMessage(msg_id="m1", kind=MessageKind.TEXT, text="Còn hàng không?")
    desk.receive(ReceiveCustomerMessage(delivery, Customer(CUSTOMER), message))
    contact: object = desk.repository.get(contact_id(account_id, CUSTOMER))
    assert isinstance(contact, Contact) and contact.active_chat_id is not None
    return contact.active_chat_id


class AlwaysFirst:
    """Another agent whose read mark lands before every save of ours."""

    def __init__(self, desk: Zalodesk, chat_id: UUID, monkeypatch: pytest.MonkeyPatch) -> None:
        self.desk = desk
        self.chat_id = chat_id
        self.save = desk.save
        self.marks = 0
        monkeypatch.setattr(desk, "save", self._save)

    def _save(self, *aggregates: Any, **kwargs: Any) -> Any:
        theirs: object = self.desk.repository.get(self.chat_id)
        assert isinstance(theirs, Chat)
        theirs.mark_read("agent:minh", self.desk.clock())
        self.save(theirs)
        self.marks += 1
        return self.save(*aggregates, **kwargs)


def test_a_conflict_that_persists_ends_the_command_with_nothing_changed(
    desk: Zalodesk, account_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_id = started_chat(desk, account_id)
    before = desk.chat(chat_id).version
    other = AlwaysFirst(desk, chat_id, monkeypatch)
    with pytest.raises(ConcurrentChange, match="try again"):
        desk.mark_chat_read(MarkChatRead(chat_id, "agent:lan"))
    assert other.marks == base.MAX_ATTEMPTS
    events = desk.repository.event_store.get(chat_id, gt=before)
    assert {e.actor for e in events} == {"agent:minh"}  # type: ignore[attr-defined]


def test_a_conflict_that_persists_answers_409_with_a_reason(
    desk: Zalodesk, account_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_id = started_chat(desk, account_id)
    AlwaysFirst(desk, chat_id, monkeypatch)

    class ChatRead:
        def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
            desk.mark_chat_read(MarkChatRead(chat_id, "agent:lan"))

    app = falcon.App()
    errors.register(app)
    app.add_route("/read", ChatRead())
    answer = testing.TestClient(app).simulate_post("/read")
    assert answer.status_code == 409
    assert answer.json["title"] == "Conflict"
    assert "try again" in answer.json["description"]


def saves_outside_the_retrying_path(source: str) -> list[str]:
    """Calls of ``save`` anywhere but in ``DeskBase._change`` (and ``save`` itself, which
    hands what is not aggregates to the library's), as ``function: line``."""
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef) or function.name in ("_change", "save"):
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "save"
            ):
                found.append(f"{function.name}: {node.lineno}")
    return found


@pytest.mark.parametrize("module", sorted(p.name for p in HANDLERS.glob("*.py")))
def test_every_command_saves_through_the_conflict_retrying_path(module: str) -> None:
    assert saves_outside_the_retrying_path((HANDLERS / module).read_text()) == []


def test_a_direct_save_in_a_command_is_found() -> None:
    source = "class H:\n    def mark(self, chat):\n        if chat:\n            self.save(chat)\n"
    assert saves_outside_the_retrying_path(source) == ["mark: 4"]
