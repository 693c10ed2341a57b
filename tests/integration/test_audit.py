"""What happened to a ticket, chat, contact or account: the API, the log, and the terminal."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from falcon import testing

from adapters.workers.echo_settler import EchoSettler
from api import cli
from api.services import Services
from domain.account import fingerprint
from domain.clock import FrozenClock
from tests.integration.conftest import ZaloPlatform, audit, only_chat
from tests.support import zalo

CUSTOMER = "2512523625412515"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def two_sessions(
    platform: ZaloPlatform, client: testing.TestClient, project: Any, clock: FrozenClock
) -> dict[str, Any]:
    """A customer writes, the agent answers and ends the chat; the customer writes again."""
    platform.text(CUSTOMER, "Xin chào")
    first = only_chat(client, project)
    clock.advance(30)
    client.simulate_post(f"/api/chats/{first['id']}/messages", json={"text": "Chào anh"})
    clock.advance(30)
    client.simulate_post(f"/api/chats/{first['id']}/end", json={"status": "pending"})
    clock.advance(600)
    platform.text(CUSTOMER, "Cho hỏi thêm")
    second = only_chat(client, project)
    assert second["ticket_id"] == first["ticket_id"] and second["id"] != first["id"]
    return {"ticket_id": first["ticket_id"], "chats": [first["id"], second["id"]], **first}


class Terminal:
    """``zalodesk`` run on the tests' database, and what it printed."""

    def __init__(self, capsys: Any) -> None:
        self.capsys = capsys

    def run(self, *args: str) -> tuple[int, str, str]:
        code = cli.main(list(args))
        out, err = self.capsys.readouterr()
        return code, out, err

    def timeline(self, aggregate_id: str) -> list[dict[str, Any]]:
        """``zalodesk audit ID --json --raw``: the events with their raw deliveries."""
        code, out, _ = self.run("audit", aggregate_id, "--json", "--raw")
        assert code == 0
        return list(json.loads(out)["events"])


@pytest.fixture
def terminal(db: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Terminal:
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)
    return Terminal(capsys)


def test_a_ticket_timeline_spans_its_chat_sessions_and_replies(
    two_sessions: dict[str, Any], client: testing.TestClient
) -> None:
    events = audit(client, two_sessions["ticket_id"])

    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and all(isinstance(p, int) for p in positions)
    types = [e["type"] for e in events]
    assert types == [
        "Ticket.Opened",
        "Ticket.ChatAttached",
        "Chat.Started",
        "Chat.CustomerMessageReceived",
        "Chat.AgentReplied",
        "Reply.Queued",
        "Chat.Ended",
        "Ticket.StatusChanged",
        "Ticket.ChatDetached",
        "Ticket.ChatAttached",
        "Ticket.StatusChanged",
        "Chat.Started",
        "Chat.CustomerMessageReceived",
    ]
    assert all(ISO_MS.match(e["at"]) for e in events)
    ended = events[types.index("Chat.Ended")]
    assert ended["actor"] == "agent:admin" and ended["at"] == "2026-11-24T10:01:00.000Z"
    assert ended["data"] == {
        "reason": "agent",
        "status": "pending",
        "actor": "agent:admin",
        "at": "2026-11-24T10:01:00.000Z",
    }
    attached = [e["data"]["chat_id"] for e in events if e["type"] == "Ticket.ChatAttached"]
    assert attached == two_sessions["chats"]


def test_a_chat_timeline_has_its_replies(
    two_sessions: dict[str, Any], client: testing.TestClient
) -> None:
    events = audit(client, two_sessions["chats"][0])
    assert [e["type"] for e in events] == [
        "Chat.Started",
        "Chat.CustomerMessageReceived",
        "Chat.AgentReplied",
        "Reply.Queued",
        "Chat.Ended",
    ]
    assert events[1]["actor"] == f"customer:{CUSTOMER}" and events[1]["data"]["text"] == "Xin chào"


def test_contact_and_account_timelines_never_show_a_secret(
    two_sessions: dict[str, Any], platform: ZaloPlatform, client: testing.TestClient
) -> None:
    contact = audit(client, two_sessions["customer"]["id"])
    assert contact[0]["type"] == "Contact.Registered"
    assert contact[0]["data"]["zalo_user_id"] == CUSTOMER

    account_id = platform.account["id"]
    client.simulate_patch(f"/api/accounts/{account_id}", json={"app_secret": "s3cret-new"})
    result = client.simulate_get(f"/api/audit/{account_id}")
    assert [e["type"] for e in result.json["events"]] == [
        "ZaloAccount.Connected",
        "ZaloAccount.SigningSecretsReplaced",
    ]
    assert "secret-value" not in result.text and "s3cret-new" not in result.text
    assert "token-value" not in result.text
    assert result.json["events"][1]["data"] == {
        "secrets_fingerprint": fingerprint("s3cret-new", "oa-secret-key-value"),
        "actor": "agent:admin",
        "at": result.json["events"][1]["at"],
    }


def test_an_unknown_id_is_404(client: testing.TestClient) -> None:
    result = client.simulate_get("/api/audit/0b0e9a62-22f8-4ac2-9f65-4ee1c1b8a7a4")
    assert result.status_code == 404 and result.json["title"] == "Not found"
    assert client.simulate_get("/api/audit/not-an-id").status_code == 404


def test_the_log_pages_by_position(
    two_sessions: dict[str, Any], client: testing.TestClient, services: Services
) -> None:
    seen: list[dict[str, Any]] = []
    after = 0
    while page := client.simulate_get("/api/events", params={"after": after, "limit": 4}).json:
        if not page["events"]:
            assert page["next_after"] == after
            break
        seen += page["events"]
        after = page["next_after"]
    positions = [e["position"] for e in seen]
    assert positions == sorted(set(positions))
    assert positions[-1] == services.app.recorder.max_notification_id() and len(seen) >= 20
    assert {"ZaloAccount.Connected", "InboundReceipt.Received"} <= {e["type"] for e in seen}
    assert "secret-value" not in json.dumps(seen)


def test_the_log_is_for_admins(client: testing.TestClient, services: Services) -> None:
    agent = services.tokens.create("lan", admin=False).token
    result = client.simulate_get("/api/events", headers={"Authorization": f"Bearer {agent}"})
    assert result.status_code == 403
    assert client.simulate_get("/api/events", headers={"Authorization": ""}).status_code == 401


def test_the_terminal_timeline_with_raw_deliveries(
    two_sessions: dict[str, Any], terminal: Terminal
) -> None:
    code, printed, _ = terminal.run("audit", two_sessions["ticket_id"], "--raw")
    assert code == 0
    out = printed.splitlines()

    assert out[0].startswith("2026-11-24T10:00:00.000Z  #")
    assert (
        "customer:2512523625412515" in out[0] and 'chat ticket opened on zalo: "Xin chào"' in out[0]
    )
    ended = next(line for line in out if "Chat.Ended" in line)
    assert "agent:admin" in ended and "chat ended (agent), status set to pending" in ended
    bodies = [line for line in out if line.startswith("    zalo body: ")]
    assert len(bodies) == 2 and json.loads(bodies[1][15:])["message"]["text"] == "Cho hỏi thêm"


def test_the_terminal_timeline_as_json(two_sessions: dict[str, Any], terminal: Terminal) -> None:
    events = terminal.timeline(two_sessions["chats"][1])
    assert [e["type"] for e in events] == ["Chat.Started", "Chat.CustomerMessageReceived"]
    # The customer's second message started the session: one delivery caused both.
    assert events[0]["raw"] == events[1]["raw"] and '"Cho hỏi thêm"' in events[1]["raw"]
    assert events[0]["data"]["receipt_id"] == events[1]["data"]["receipt_id"]


def test_what_the_agent_did_has_no_delivery(
    two_sessions: dict[str, Any], terminal: Terminal
) -> None:
    events = terminal.timeline(two_sessions["chats"][0])

    raw = {e["type"]: e["raw"] for e in events}
    assert '"Xin chào"' in raw["Chat.CustomerMessageReceived"]
    assert raw["Chat.AgentReplied"] is None and raw["Chat.Ended"] is None
    assert "receipt_id" not in next(e for e in events if e["type"] == "Chat.Ended")["data"]


def test_an_event_names_the_delivery_that_caused_it(
    two_sessions: dict[str, Any], client: testing.TestClient
) -> None:
    events = audit(client, two_sessions["chats"][1])
    receipt_id = events[-1]["data"]["receipt_id"]

    receipt = audit(client, receipt_id)

    assert [e["type"] for e in receipt] == ["InboundReceipt.Received"]
    assert json.loads(receipt[0]["data"]["raw_body"])["message"]["text"] == "Cho hỏi thêm"


def test_a_message_placed_after_the_grace_time_links_to_its_delivery(
    two_sessions: dict[str, Any],
    platform: ZaloPlatform,
    services: Services,
    clock: FrozenClock,
    client: testing.TestClient,
    project: Any,
    terminal: Terminal,
) -> None:
    # Sent through the OA by another tool: no admin id, and our outbox never claims it.
    echo = {
        "app_id": zalo.APP_ID,
        "sender": {"id": zalo.OA_ID},
        "recipient": {"id": CUSTOMER},
        "event_name": "oa_send_text",
        "message": {"text": "Từ một công cụ khác", "msg_id": zalo.new_msg_id()},
        "timestamp": zalo.now_ms(),
    }
    platform.send(echo)
    for n in range(40):  # other customers write meanwhile: the delivery is far back in the log
        platform.text(f"31065970112203867{n:02d}", "hi")
    clock.advance(31)
    project()
    assert EchoSettler(services.app, services.pool).tick() == 1

    events = terminal.timeline(two_sessions["chats"][1])
    recorded = next(e for e in events if e["type"] == "Chat.OAManagerMessageRecorded")
    assert json.loads(recorded["raw"])["message"]["text"] == "Từ một công cụ khác"

    receipt_id = recorded["data"]["receipt_id"]
    receipt = audit(client, receipt_id)
    assert [e["type"] for e in receipt] == ["InboundReceipt.Received", "InboundReceipt.Settled"]
    assert receipt[1]["data"]["outcome"] == "oa_manager_message"


def test_the_terminal_refuses_what_is_not_there(terminal: Terminal) -> None:
    code, _, err = terminal.run("audit", "nope")
    assert (code, err) == (2, "zalodesk: 'nope' is not an id\n")
    code, _, err = terminal.run("audit", "0b0e9a62-22f8-4ac2-9f65-4ee1c1b8a7a4")
    assert code == 2 and "not found" in err
