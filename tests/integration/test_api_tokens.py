"""API tokens with ids: two agents of one name are told apart in the audit, and a revoked
token is refused from the next request on."""

from __future__ import annotations

from typing import Any

from falcon import testing

from tests.integration.conftest import ZaloPlatform, audit, only_chat

CUSTOMER = "2512523625412515"


def issue(client: testing.TestClient, name: str, admin: bool = False) -> dict[str, Any]:
    answer = client.simulate_post("/api/tokens", json={"name": name, "admin": admin})
    assert answer.status_code == 201, answer.text
    return dict(answer.json)


def test_two_agents_of_one_name_are_told_apart_in_the_audit(
    client: testing.TestClient, platform: ZaloPlatform, project: Any
) -> None:
    first, second = issue(client, "Lan"), issue(client, "Lan")
    assert first["id"] != second["id"] and first["token"] != second["token"]
    platform.text(CUSTOMER, "Xin chào")
    chat = only_chat(client, project)
    for agent in (first, second):
        as_agent = {"Authorization": f"Bearer {agent['token']}"}
        sent = client.simulate_post(
            f"/api/chats/{chat['id']}/messages", json={"text": "Dạ"}, headers=as_agent
        )
        assert sent.status_code == 202, sent.text

    events = audit(client, chat["id"])
    replies = [e for e in events if e["type"] == "Chat.AgentReplied"]
    assert [(e["actor"], e["actor_name"]) for e in replies] == [
        (f"agent:{first['id']}", "Lan"),
        (f"agent:{second['id']}", "Lan"),
    ]


def test_a_revoked_token_is_refused_and_listed_as_revoked(client: testing.TestClient) -> None:
    agent = issue(client, "Minh")
    as_agent = {"Authorization": f"Bearer {agent['token']}"}
    assert client.simulate_get("/api/chats", headers=as_agent).status_code == 200

    assert client.simulate_delete(f"/api/tokens/{agent['id']}").status_code == 204
    assert client.simulate_get("/api/chats", headers=as_agent).status_code == 401
    [listed] = [t for t in client.simulate_get("/api/tokens").json["tokens"] if t["name"] == "Minh"]
    assert listed["id"] == agent["id"] and listed["revoked_at"] is not None
    assert "token" not in listed
    assert client.simulate_delete(f"/api/tokens/{agent['id']}").status_code == 204  # again: same
    unknown = client.simulate_delete("/api/tokens/0b0e9a62-22f8-4ac2-9f65-4ee1c1b8a7a4")
    assert unknown.status_code == 404


def test_only_admins_manage_tokens(client: testing.TestClient) -> None:
    agent = issue(client, "Hoa")
    as_agent = {"Authorization": f"Bearer {agent['token']}"}
    assert client.simulate_get("/api/tokens", headers=as_agent).status_code == 403
    assert (
        client.simulate_post("/api/tokens", json={"name": "x"}, headers=as_agent).status_code == 403
    )
    assert client.simulate_delete(f"/api/tokens/{agent['id']}", headers=as_agent).status_code == 403
