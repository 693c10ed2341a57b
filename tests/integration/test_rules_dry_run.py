"""Trying a rule on the history in the log before it is switched on: over HTTP and from the
command line, acting on nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from falcon import testing

from adapters.workers.outbox import Outbox
from api import cli
from api.services import Services
from domain.clock import FrozenClock
from tests.integration.conftest import ZaloPlatform, audit
from tests.integration.test_outbox import outbox, send_queued, settings

# Fixtures shared with the outbox tests: Zalo is the fake, and the outbox sends to it.
__all__ = ["outbox", "settings"]

LAN, MAI, HOA = "5512523625412515001", "5512523625412515002", "5512523625412515003"
LATE = {
    "trigger": "customer_waiting",
    "after_seconds": 300,
    "actions": [{"type": "add_tag", "tag": "late"}, {"type": "assign", "agent": "lead"}],
}
DAY = 24 * 3600


class History:
    """A morning at the shop: Lan answered in a minute, Mai after ten, Hoa never."""

    def __init__(
        self,
        client: testing.TestClient,
        platform: ZaloPlatform,
        project: Any,
        clock: FrozenClock,
        outbox: Outbox,
    ) -> None:
        self.client, self.platform, self.project, self.clock = client, platform, project, clock
        self.outbox = outbox
        self.asked: dict[str, str] = {}  # customer: when they wrote

    def happened(self) -> None:
        for customer in (LAN, MAI, HOA):
            self.asked[customer] = self.now()
            assert (
                self.platform.text(customer, f"Chào shop, mình là {customer[-1]}").status_code
                == 200
            )
            self.clock.advance(10)
        self.clock.advance(60)
        self.answer(LAN)
        self.clock.advance(600)
        self.answer(MAI)
        self.end(LAN, "pending")
        self.clock.advance(3600)

    def now(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def chat(self, customer: str) -> dict[str, Any]:
        self.project()
        chats = self.client.simulate_get("/api/chats").json["chats"]
        [found] = [c for c in chats if c["customer"]["zalo_user_id"] == customer]
        return dict(found)

    def answer(self, customer: str) -> None:
        chat = self.chat(customer)
        path = f"/api/chats/{chat['id']}/messages"
        assert self.client.simulate_post(path, json={"text": "Dạ shop nghe"}).status_code == 202
        self.project()
        send_queued(self.outbox)  # Zalo takes it: the customer is answered

    def end(self, customer: str, status: str) -> None:
        chat = self.chat(customer)
        path = f"/api/chats/{chat['id']}/end"
        assert self.client.simulate_post(path, json={"status": status}).status_code == 200

    def first_message_position(self, customer: str) -> int:
        chat = self.chat(customer) if customer != LAN else None
        ticket_id = chat["ticket_id"] if chat else self.lan_ticket()
        events = audit(self.client, ticket_id)
        return int(
            next(e["position"] for e in events if e["type"] == "Chat.CustomerMessageReceived")
        )

    def lan_ticket(self) -> str:
        self.project()
        tickets = self.client.simulate_get("/api/tickets").json["tickets"]
        return str(next(t["id"] for t in tickets if t["customer"]["zalo_user_id"] == LAN))


@pytest.fixture
def history(
    client: testing.TestClient,
    platform: ZaloPlatform,
    project: Any,
    clock: FrozenClock,
    outbox: Outbox,
) -> History:
    story = History(client, platform, project, clock, outbox)
    story.happened()
    return story


def dry_run(client: testing.TestClient, **body: Any) -> dict[str, Any]:
    answer = client.simulate_post("/api/rules/dry-run", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json)


def test_a_rule_tried_on_the_morning_names_the_customers_it_would_have_tagged(
    client: testing.TestClient, history: History, services: Services
) -> None:
    head = services.log.head()
    found = dry_run(client, name="late", enabled=False, **LATE)

    assert found["events_scanned"] == head
    matched = [(m["at"], m["trigger_position"]) for m in found["matches"]]
    assert matched == [
        ("2026-11-24T10:05:10.000Z", history.first_message_position(MAI)),
        ("2026-11-24T10:05:20.000Z", history.first_message_position(HOA)),
    ]
    mai, hoa = found["matches"]
    assert mai["ticket_id"] == history.chat(MAI)["ticket_id"]
    assert mai["chat_id"] == history.chat(MAI)["id"]
    assert hoa["actions"] == [
        {"type": "add_tag", "tag": "late", "outcome": "applied"},
        {"type": "assign", "agent": "lead", "outcome": "applied"},
    ]
    # Acting on nothing.
    assert services.log.head() == head
    history.project()
    assert all(t["tags"] == [] for t in client.simulate_get("/api/tickets").json["tickets"])


def test_since_and_until_bound_the_answer(client: testing.TestClient, history: History) -> None:
    only_hoa = dry_run(client, since="2026-11-24T10:05:15Z", **LATE)
    assert [m["at"] for m in only_hoa["matches"]] == ["2026-11-24T10:05:20.000Z"]
    # Up to 10:03 nobody had waited five minutes yet.
    assert dry_run(client, until="2026-11-24T10:03:00Z", **LATE)["matches"] == []
    # Up to 10:05:15 Mai had; Hoa not yet.
    early = dry_run(client, until="2026-11-24T10:05:15Z", **LATE)
    assert [m["at"] for m in early["matches"]] == ["2026-11-24T10:05:10.000Z"]


def test_an_event_rule_tried_with_its_conditions(
    client: testing.TestClient, history: History
) -> None:
    found = dry_run(
        client,
        trigger="agent_replied",
        conditions=[{"field": "status", "op": "eq", "value": "new"}],
        actions=[{"type": "set_status", "status": "new"}, {"type": "end_chat", "status": "open"}],
    )
    lan = client.simulate_get(f"/api/tickets/{history.lan_ticket()}").json
    assert [m["chat_id"] for m in found["matches"]] == [
        lan["chats"][0]["id"],
        history.chat(MAI)["id"],
    ]
    assert found["matches"][0]["actions"] == [
        {
            "type": "set_status",
            "status": "new",
            "outcome": "skipped",
            "reason": "the status is already new",
        },
        {"type": "end_chat", "status": "open", "outcome": "applied"},
    ]


def test_a_pending_ticket_left_three_days_would_be_closed(
    client: testing.TestClient, history: History, clock: FrozenClock
) -> None:
    closing = {
        "trigger": "ticket_unchanged",
        "after_seconds": 3 * DAY,
        "conditions": [{"field": "status", "op": "eq", "value": "pending"}],
        "actions": [{"type": "set_status", "status": "closed"}],
    }
    assert dry_run(client, **closing)["matches"] == []
    clock.advance(3 * DAY)
    [lan] = dry_run(client, **closing)["matches"]
    assert lan["ticket_id"] == history.lan_ticket() and lan["chat_id"] is None
    assert lan["actions"] == [{"type": "set_status", "status": "closed", "outcome": "applied"}]


def test_a_bad_rule_or_time_is_refused(client: testing.TestClient) -> None:
    bad = client.simulate_post("/api/rules/dry-run", json={**LATE, "after_seconds": -5})
    assert bad.status_code == 422
    assert bad.json["description"].startswith("after_seconds: must be a whole number from 1")
    when = client.simulate_post("/api/rules/dry-run", json={**LATE, "since": "last month"})
    assert when.status_code == 422 and when.json["description"].startswith("since: must be")


def test_the_command_line_dry_run(
    history: History,
    db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)
    rule = tmp_path / "late.json"
    rule.write_text(json.dumps({"name": "late", "enabled": True, **LATE}))

    assert cli.main(["rules", "dry-run", str(rule), "--since", "2026-11-24T10:05:15Z"]) == 0
    out, err = capsys.readouterr()
    found = json.loads(out)
    assert [m["at"] for m in found["matches"]] == ["2026-11-24T10:05:20.000Z"]
    assert "dry run: " in err and "events/s" in err
    assert "would have fired 1 time(s)" in err

    rule.write_text(json.dumps({**LATE, "trigger": "when_bored"}))
    assert cli.main(["rules", "dry-run", str(rule)]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "late.json: trigger: unknown trigger 'when_bored'; one of ticket_created, "
            "customer_replied, agent_replied, chat_started, chat_reactivated, customer_waiting, "
            "ticket_unchanged"
        )
    )
    assert cli.main(["rules", "dry-run", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
