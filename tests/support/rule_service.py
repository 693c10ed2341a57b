"""Automation rules driven over HTTP, with the workers run by hand: the projector, the
automation worker and the outbox, in the order the service runs them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from falcon import testing

from adapters.workers.automation import Automation
from adapters.workers.outbox import Outbox
from domain.clock import FrozenClock
from tests.integration.conftest import ZaloPlatform, audit


@dataclass
class RuleService:
    client: testing.TestClient
    platform: ZaloPlatform
    project: Any
    automation: Automation
    outbox: Outbox
    clock: FrozenClock

    # Running the workers

    def settle(self) -> None:
        """Every worker until nothing is left to do: the views, the rules (and what their
        firings write), the replies out to Zalo."""
        for _ in range(3):
            self.project()
            self.automation.catch_up()
        self.outbox.tick()
        self.outbox.wait_until_idle()
        self.project()

    def wait(self, seconds: float) -> None:
        """Time passes; the automation worker's clock comes round."""
        self.settle()
        self.clock.advance(seconds)
        self.automation.tick()
        self.settle()

    # What an admin, an agent and a customer do

    def rule(self, **body: Any) -> dict[str, Any]:
        form = {"name": "a rule", "enabled": True, "conditions": [], **body}
        made = self.client.simulate_post("/api/rules", json=form)
        assert made.status_code == 201, made.text
        return dict(made.json)

    def says(self, user: str, text: str, **extra: Any) -> None:
        answered = self.platform.text(user, text, **extra)
        assert answered.status_code == 200, answered.text

    def chat_of(self, user: str) -> dict[str, Any] | None:
        self.project()
        chats = self.client.simulate_get("/api/chats").json["chats"]
        found = [c for c in chats if c["customer"]["zalo_user_id"] == user]
        return dict(found[0]) if found else None

    def ticket_of(self, user: str) -> dict[str, Any]:
        """The customer's latest ticket, in the inbox or in the ticket list."""
        self.project()
        chat = self.chat_of(user)
        if chat is not None:
            return self.ticket(chat["ticket_id"])
        tickets = self.client.simulate_get("/api/tickets").json["tickets"]
        [found] = [t for t in tickets if t["customer"]["zalo_user_id"] == user][:1]
        return self.ticket(found["id"])

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        self.project()
        found = self.client.simulate_get(f"/api/tickets/{ticket_id}")
        assert found.status_code == 200, found.text
        return dict(found.json)

    def reply(self, user: str, text: str) -> None:
        chat = self.chat_of(user)
        assert chat is not None
        sent = self.client.simulate_post(f"/api/chats/{chat['id']}/messages", json={"text": text})
        assert sent.status_code == 202, sent.text

    def end(self, user: str, status: str | None = None) -> None:
        chat = self.chat_of(user)
        assert chat is not None
        body = {"status": status} if status else {}
        assert (
            self.client.simulate_post(f"/api/chats/{chat['id']}/end", json=body).status_code == 200
        )

    def audit(self, aggregate_id: str) -> list[dict[str, Any]]:
        return audit(self.client, aggregate_id)

    def messages_out(self, ticket: dict[str, Any]) -> list[dict[str, Any]]:
        return [m for chat in ticket["chats"] for m in chat["messages"] if m["direction"] == "out"]
