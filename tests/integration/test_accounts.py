"""Channel accounts: admin only, and no response ever carries a secret or a token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from falcon import testing

from api.services import Services
from tests.integration.conftest import ACCOUNT_FORM

SECRETS = [
    ACCOUNT_FORM[k] for k in ("app_secret", "oa_secret_key", "access_token", "refresh_token")
]


def assert_no_secret(result: testing.Result) -> None:
    for secret in SECRETS:
        assert secret not in result.text


def test_connecting_an_account_shows_its_webhook_url_and_no_secret(
    client: testing.TestClient, project: Any
) -> None:
    created = client.simulate_post("/api/accounts", json=ACCOUNT_FORM)
    assert created.status_code == 201
    account = created.json
    assert account["webhook_url"] == f"https://desk.example/webhooks/zalo/{account['id']}"
    assert (account["chat_inactivity_seconds"], account["allow_postpone"]) == (600, True)
    assert_no_secret(created)

    project()
    listed = client.simulate_get("/api/accounts")
    assert [a["id"] for a in listed.json["accounts"]] == [account["id"]]
    assert_no_secret(listed)
    assert_no_secret(client.simulate_get(f"/api/accounts/{account['id']}"))


def test_changing_and_removing_an_account(
    client: testing.TestClient, account: dict[str, Any], project: Any
) -> None:
    path = f"/api/accounts/{account['id']}"
    changed = client.simulate_patch(
        path,
        json={"name": "Shop Hoa Mai 2", "chat_inactivity_seconds": 300, "app_secret": "new-secret"},
    )
    assert changed.status_code == 200
    assert (changed.json["name"], changed.json["chat_inactivity_seconds"]) == (
        "Shop Hoa Mai 2",
        300,
    )
    assert "new-secret" not in changed.text
    assert client.simulate_patch(path, json={"oa_id": ""}).status_code == 422
    assert client.simulate_patch(path, json={"colour": "red"}).status_code == 422
    assert client.simulate_delete(path).status_code == 204
    assert client.simulate_get(path).status_code == 404
    project()
    assert client.simulate_get("/api/accounts").json["accounts"] == []


def test_bad_forms_get_clear_errors(client: testing.TestClient) -> None:
    missing = client.simulate_post("/api/accounts", json={"name": "x"})
    assert missing.status_code == 422
    assert missing.json["description"] == "app_id: is required"
    wrong_type = client.simulate_post(
        "/api/accounts", json={**ACCOUNT_FORM, "chat_inactivity_seconds": "soon"}
    )
    assert wrong_type.status_code == 422
    not_json = client.simulate_post(
        "/api/accounts", body="{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400


def test_tokens_401_and_403(client: testing.TestClient, services: Services) -> None:
    agent = services.tokens.create("lan", admin=False)
    as_agent = {"Authorization": f"Bearer {agent}"}
    assert client.simulate_get("/api/chats", headers={"Authorization": ""}).status_code == 401
    assert (
        client.simulate_get("/api/chats", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    assert client.simulate_get("/api/chats", headers=as_agent).status_code == 200
    forbidden = client.simulate_get("/api/accounts", headers=as_agent)
    assert forbidden.status_code == 403
    assert json.loads(forbidden.text)["title"] == "Admin only"
    with services.pool.connection() as conn:
        stored = conn.execute("SELECT token_hash FROM api_tokens").fetchall()
    assert agent not in str(stored)  # only a hash is kept


def test_the_log_lines_carry_no_secret(client: testing.TestClient, caplog: Any) -> None:
    caplog.set_level("INFO")
    client.simulate_post("/api/accounts", json=ACCOUNT_FORM)
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "/api/accounts" in logged
    for secret in SECRETS:
        assert secret not in logged


@pytest.mark.parametrize(
    "path", ["//api/events", "/api//events", "/api/events/", "/api/%65vents", "//api/accounts"]
)
def test_no_spelling_of_a_path_reaches_the_api_without_a_token(
    client: testing.TestClient, path: str
) -> None:
    result = client.simulate_get(path, headers={"Authorization": ""})
    assert result.status_code in (401, 404), (path, result.status_code)
