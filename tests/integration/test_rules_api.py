"""Automation rules over HTTP: made, listed, changed and deleted by admins, each step audited."""

from __future__ import annotations

from typing import Any

import pytest
from falcon import testing

from api.services import Services
from tests.integration.conftest import audit

WAITING = {
    "name": "Khách chờ 5 phút",
    "enabled": True,
    "trigger": "customer_waiting",
    "after_seconds": 300,
    "conditions": [{"field": "channel", "op": "eq", "value": "zalo"}],
    "actions": [{"type": "add_tag", "tag": "late"}, {"type": "assign", "agent": "lead"}],
}
NEW_CHATS = {
    "name": "Kết thúc chat mới",
    "trigger": "chat_started",
    "actions": [{"type": "end_chat", "status": "open"}],
}


def test_an_admin_makes_lists_changes_and_deletes_a_rule(
    client: testing.TestClient, project: Any
) -> None:
    made = client.simulate_post("/api/rules", json=WAITING)
    assert made.status_code == 201
    rule = made.json
    assert made.headers["location"] == f"/api/rules/{rule['id']}"
    assert {k: rule[k] for k in WAITING} == WAITING
    assert rule["position"] == 1
    assert rule["created_at"] == rule["updated_at"] == "2026-11-24T10:00:00.000Z"

    second = client.simulate_post("/api/rules", json=NEW_CHATS).json
    assert (second["enabled"], second["conditions"], second["position"]) == (True, [], 1)
    project()
    third = client.simulate_post("/api/rules", json={**NEW_CHATS, "name": "third"}).json
    assert third["position"] == 2  # after the last one listed
    project()
    assert [r["name"] for r in client.simulate_get("/api/rules").json["rules"]] == [
        "Khách chờ 5 phút",
        "Kết thúc chat mới",
        "third",
    ]

    changed = client.simulate_patch(
        f"/api/rules/{rule['id']}",
        json={"enabled": False, "after_seconds": 600, "position": 9, "name": "Chờ 10 phút"},
    )
    assert changed.status_code == 200
    assert (changed.json["enabled"], changed.json["after_seconds"]) == (False, 600)
    assert (changed.json["position"], changed.json["name"]) == (9, "Chờ 10 phút")
    assert client.simulate_get(f"/api/rules/{rule['id']}").json == changed.json
    project()
    listed = client.simulate_get("/api/rules").json["rules"]
    assert [r["name"] for r in listed] == ["Kết thúc chat mới", "third", "Chờ 10 phút"]
    assert listed[-1] == changed.json

    assert client.simulate_delete(f"/api/rules/{rule['id']}").status_code == 204
    assert client.simulate_get(f"/api/rules/{rule['id']}").status_code == 404
    assert client.simulate_patch(f"/api/rules/{rule['id']}", json={}).status_code == 404
    assert client.simulate_delete(f"/api/rules/{rule['id']}").status_code == 404
    project()
    assert len(client.simulate_get("/api/rules").json["rules"]) == 2


def test_the_audit_shows_who_did_what_to_a_rule(
    client: testing.TestClient, services: Services
) -> None:
    other = services.tokens.create("minh", admin=True)
    as_minh = {"Authorization": f"Bearer {other.token}"}
    rule = client.simulate_post("/api/rules", json=WAITING).json
    client.simulate_patch(f"/api/rules/{rule['id']}", json={"enabled": False}, headers=as_minh)
    client.simulate_patch(f"/api/rules/{rule['id']}", json={"enabled": True})
    client.simulate_patch(
        f"/api/rules/{rule['id']}",
        json={"name": "Chờ lâu", "conditions": [], "trigger": "customer_replied"},
        headers=as_minh,
    )
    client.simulate_delete(f"/api/rules/{rule['id']}")

    events = audit(client, rule["id"])
    assert [(e["type"], e["actor_name"]) for e in events] == [
        ("AutomationRule.Created", "ZALODESK_ADMIN_TOKEN"),
        ("AutomationRule.Disabled", "minh"),
        ("AutomationRule.Enabled", "ZALODESK_ADMIN_TOKEN"),
        ("AutomationRule.Renamed", "minh"),
        ("AutomationRule.Redefined", "minh"),
        ("AutomationRule.Deleted", "ZALODESK_ADMIN_TOKEN"),
    ]
    assert events[1]["actor"] == f"agent:{other.info.id}"
    assert {k: v for k, v in events[4]["data"].items() if k not in ("actor", "at")} == {
        "trigger": "customer_replied",
        "after_seconds": None,
        "conditions": [],
        "actions": WAITING["actions"],
    }
    assert all(e["at"] for e in events)


def test_rules_are_for_admins(client: testing.TestClient, services: Services) -> None:
    agent = {"Authorization": f"Bearer {services.tokens.create('lan', admin=False).token}"}
    rule = client.simulate_post("/api/rules", json=WAITING).json
    for method, path in (
        ("GET", "/api/rules"),
        ("POST", "/api/rules"),
        ("POST", "/api/rules/dry-run"),
        ("GET", f"/api/rules/{rule['id']}"),
        ("PATCH", f"/api/rules/{rule['id']}"),
        ("DELETE", f"/api/rules/{rule['id']}"),
    ):
        answer = client.simulate_request(method, path, json=WAITING, headers=agent)
        assert answer.status_code == 403, (method, path)
    assert client.simulate_get("/api/rules", headers={"Authorization": ""}).status_code == 401


REFUSED = [
    ({"trigger": "ticket_solved"}, "trigger: must be one of 'ticket_created'"),
    (
        {"conditions": [{"field": "priority", "op": "eq", "value": "high"}]},
        "conditions.0.field: must be one of 'channel'",
    ),
    (
        {"conditions": [{"field": "status", "op": "startswith", "value": "o"}]},
        "conditions.0.op: must be one of 'eq', 'ne', 'in' or 'contains'",
    ),
    (
        {"conditions": [{"field": "status", "op": "eq", "value": "solved"}]},
        "conditions[0].value: status 'solved' does not exist",
    ),
    (
        {"conditions": [{"field": "tags", "op": "contains", "value": ["vip"]}]},
        "conditions[0].value: tags needs a string, not list",
    ),
    ({"actions": [{"type": "escalate"}]}, "actions.0.type: must be one of 'end_chat'"),
    (
        {"actions": [{"type": "set_status", "status": "done"}]},
        "actions[0].status: status 'done' does not exist",
    ),
    ({"after_seconds": "5m"}, "after_seconds: must be a whole number from 1 to 31622400"),
    ({"enabled": "yes"}, "enabled: must be true or false"),
    ({"name": ""}, "name: must not be empty"),
    ({"priority": 1}, "priority: is not a field of this call"),
    ({"position": 0}, "position: must be a whole number from 1 to 1000000"),
]


@pytest.mark.parametrize(("change", "description"), REFUSED, ids=[d for _, d in REFUSED])
def test_a_bad_rule_is_refused_naming_the_bad_part(
    client: testing.TestClient, change: dict[str, Any], description: str
) -> None:
    answer = client.simulate_post("/api/rules", json={**WAITING, **change})
    assert answer.status_code == 422
    assert answer.json["description"].startswith(description), answer.json


def test_a_bad_change_is_refused_and_changes_nothing(client: testing.TestClient) -> None:
    rule = client.simulate_post("/api/rules", json=WAITING).json
    answer = client.simulate_patch(
        f"/api/rules/{rule['id']}",
        json={"name": "ok", "actions": [{"type": "assign"}]},
    )
    assert answer.status_code == 422
    assert answer.json["description"] == "actions[0].agent: assign needs agent"
    assert client.simulate_get(f"/api/rules/{rule['id']}").json == rule


def test_the_rules_are_in_the_api_reference(client: testing.TestClient) -> None:
    paths = client.simulate_get("/openapi.json").json["paths"]
    assert set(paths["/api/rules"]) == {"get", "post"}
    assert set(paths["/api/rules/{rule_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/api/rules/dry-run"]) == {"post"}
