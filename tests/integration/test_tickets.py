"""The ticket list: what it holds, its filters, and paging while tickets change."""

from __future__ import annotations

from typing import Any

from falcon import testing

from domain.clock import FrozenClock
from tests.integration.conftest import ZaloPlatform


def ended_chat_tickets(
    platform: ZaloPlatform, client: testing.TestClient, project: Any, clock: FrozenClock, n: int
) -> list[str]:
    """n customers each write once and the agent ends each chat; the ticket ids, oldest first."""
    for i in range(n):
        platform.text(f"90000000000000{i:05d}", f"question {i}")
        clock.advance(1)
    project()
    chats = client.simulate_get("/api/chats").json["chats"]
    for chat in sorted(chats, key=lambda c: c["last_activity_at"]):
        client.simulate_post(f"/api/chats/{chat['id']}/end", json={})
        clock.advance(1)
    project()
    return [c["ticket_id"] for c in sorted(chats, key=lambda c: c["last_activity_at"])]


def walk(client: testing.TestClient, project: Any, between_pages: Any, **params: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = client.simulate_get(
            "/api/tickets", params={**params, "limit": 10, **({"cursor": cursor} if cursor else {})}
        ).json
        seen += [t["id"] for t in page["tickets"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        between_pages(len(seen))
        project()


def test_paging_neither_repeats_nor_skips_while_tickets_change(
    platform: ZaloPlatform, client: testing.TestClient, project: Any, clock: FrozenClock
) -> None:
    ids = ended_chat_tickets(platform, client, project, clock, 35)
    newest_first = list(reversed(ids))
    touched: set[str] = set()

    def agents_at_work(seen_so_far: int) -> None:
        # Someone changes one ticket already seen and one not yet seen.
        for ticket_id in (newest_first[seen_so_far - 1], newest_first[seen_so_far + 2]):
            clock.advance(1)
            client.simulate_patch(f"/api/tickets/{ticket_id}", json={"tags": [f"t{seen_so_far}"]})
            touched.add(ticket_id)

    seen = walk(client, project, agents_at_work)
    assert len(seen) == len(set(seen)), "a ticket was shown twice"
    assert set(newest_first) - touched <= set(seen), "an unchanged ticket was skipped"
    # Tickets changed during the walk went to the top, where a fresh first page shows them.
    first_page = client.simulate_get("/api/tickets", params={"limit": 10}).json["tickets"]
    assert {t["id"] for t in first_page} >= touched - set(seen)


def test_filters_and_the_async_kind(
    platform: ZaloPlatform, client: testing.TestClient, project: Any, clock: FrozenClock
) -> None:
    [chat_ticket] = ended_chat_tickets(platform, client, project, clock, 1)
    created = client.simulate_post(
        "/api/tickets", json={"subject": "Hoá đơn VAT", "text": "Xin gửi hoá đơn tháng 10"}
    )
    assert created.status_code == 201
    project()

    def listed(**params: Any) -> list[str]:
        return [t["id"] for t in client.simulate_get("/api/tickets", params=params).json["tickets"]]

    assert listed() == [created.json["id"], chat_ticket]
    assert listed(kind="async") == [created.json["id"]]
    assert listed(kind="chat") == [chat_ticket]
    assert listed(status="closed") == []
    async_ticket = client.simulate_get(f"/api/tickets/{created.json['id']}").json
    assert async_ticket["subject"] == "Hoá đơn VAT"
    assert async_ticket["chats"][0]["messages"][0]["text"] == "Xin gửi hoá đơn tháng 10"
    assert client.simulate_get("/api/tickets", params={"kind": "fax"}).status_code == 400
    assert client.simulate_get("/api/tickets", params={"cursor": "garbage"}).status_code == 400


def test_changing_status_assignee_and_tags(
    platform: ZaloPlatform, client: testing.TestClient, project: Any, clock: FrozenClock
) -> None:
    [ticket_id] = ended_chat_tickets(platform, client, project, clock, 1)
    changed = client.simulate_patch(
        f"/api/tickets/{ticket_id}",
        json={"status": "pending", "assignee": "lan", "tags": ["vip", "size"]},
    )
    assert changed.status_code == 200
    assert changed.json == {
        "id": ticket_id,
        "status": "pending",
        "assignee": "lan",
        "tags": ["size", "vip"],
    }
    project()
    [listed] = client.simulate_get("/api/tickets", params={"status": "pending"}).json["tickets"]
    assert (listed["assignee"], listed["tags"]) == ("lan", ["size", "vip"])
    bad = client.simulate_patch(f"/api/tickets/{ticket_id}", json={"status": "done"})
    assert bad.status_code == 422
    assert (
        bad.json["description"]
        == "status: must be one of 'new', 'open', 'pending', 'closed' or 'spam'"
    )


def test_a_lone_surrogate_in_a_json_body_is_refused_not_a_500(client: testing.TestClient) -> None:
    body = b'{"subject": "Hoi", "text": "\\ud800", "customer": {"name": "An"}}'
    answer = client.simulate_post(
        "/api/tickets", body=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json["description"].startswith("The body could not be parsed as JSON")
