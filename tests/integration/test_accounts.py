"""Channel accounts: admin only, and no response ever carries a secret or a token."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import psycopg
import pytest
from falcon import testing

from adapters.account_cache import AccountCache
from api.services import Services
from domain.account import fingerprint
from tests.integration.conftest import ACCOUNT_FORM, ZaloPlatform, audit
from tests.support import zalo

CUSTOMER = "2512523625412515"

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


def test_changing_the_form_records_what_changed_in_its_own_words(
    client: testing.TestClient, account: dict[str, Any], project: Any
) -> None:
    path = f"/api/accounts/{account['id']}"
    client.simulate_patch(
        path,
        json={
            "name": "Shop Hoa Mai",  # as it was: nothing to record
            "allow_postpone": False,
            "verification_code": "zalo-site-code",
            "access_token": "access-token-2",
            "refresh_token": "refresh-token-2",
            "access_token_expires_in": 3600,
        },
    )
    events = audit(client, account["id"])
    assert [(e["type"], e["actor"]) for e in events[1:]] == [
        ("ZaloAccount.ChatSettingsChanged", "agent:admin"),
        ("ZaloAccount.VerificationCodeSet", "agent:admin"),
        ("ZaloAccount.TokensRotated", "agent:admin"),
    ]
    assert events[3]["data"]["tokens_fingerprint"] == fingerprint(
        "access-token-2", "refresh-token-2"
    )
    project()
    project()
    [listed] = client.simulate_get("/api/accounts").json["accounts"]
    assert (listed["allow_postpone"], listed["has_verification_code"]) == (False, True)
    assert listed["access_token_expires_at"] == events[3]["data"]["access_token_expires_at"]


def test_webhooks_are_checked_with_a_replaced_key_at_once(
    client: testing.TestClient, platform: ZaloPlatform
) -> None:
    assert platform.text(CUSTOMER, "before").status_code == 200  # the key is cached now
    changed = client.simulate_patch(
        f"/api/accounts/{platform.account['id']}", json={"oa_secret_key": "oa-secret-key-2"}
    )
    assert changed.status_code == 200 and "oa-secret-key-2" not in changed.text
    assert platform.text(CUSTOMER, "signed with the old key").status_code == 401
    platform.key = "oa-secret-key-2"
    assert platform.text(CUSTOMER, "signed with the new key").status_code == 200


def test_another_process_takes_a_replaced_key_within_its_time_to_live(
    client: testing.TestClient, services: Services, account: dict[str, Any]
) -> None:
    now = [100.0]
    elsewhere = AccountCache(services.app, services.credentials, ttl_seconds=5, now=lambda: now[0])
    account_id = UUID(account["id"])
    assert elsewhere.signing_key(account_id) == ACCOUNT_FORM["oa_secret_key"]
    client.simulate_patch(f"/api/accounts/{account_id}", json={"oa_secret_key": "oa-secret-key-2"})
    now[0] += 4.9
    assert elsewhere.signing_key(account_id) == ACCOUNT_FORM["oa_secret_key"]
    now[0] += 0.2
    assert elsewhere.signing_key(account_id) == "oa-secret-key-2"


def test_an_account_without_stored_credentials_is_reconnected_with_all_four(
    client: testing.TestClient, platform: ZaloPlatform, db: str
) -> None:
    # As after importing a log exported without its secrets.
    with psycopg.connect(db) as conn:
        conn.execute("DELETE FROM account_credentials")
    path = f"/api/accounts/{platform.account['id']}"
    assert platform.text(CUSTOMER, "nobody can check this").status_code == 401

    partial = client.simulate_patch(path, json={"access_token": "access-token-2"})
    assert partial.status_code == 409
    assert (
        "send app_secret, oa_secret_key, access_token and refresh_token together"
        in (partial.json["description"])
    )
    whole = {
        "app_secret": "app-secret-2",
        "oa_secret_key": "oa-secret-key-2",
        "access_token": "access-token-2",
        "refresh_token": "refresh-token-2",
    }
    assert client.simulate_patch(path, json=whole).status_code == 200
    platform.key = "oa-secret-key-2"
    assert platform.text(CUSTOMER, "checked again").status_code == 200


def test_removing_an_account_removes_its_credentials(
    client: testing.TestClient, services: Services, account: dict[str, Any]
) -> None:
    assert client.simulate_delete(f"/api/accounts/{account['id']}").status_code == 204
    assert services.credentials.get(UUID(account["id"])) is None
    assert (
        client.simulate_patch(
            f"/api/accounts/{account['id']}", json={"access_token": "x"}
        ).status_code
        == 404
    )


def test_bad_forms_get_clear_errors(client: testing.TestClient) -> None:
    missing = client.simulate_post("/api/accounts", json={"name": "x"})
    assert missing.status_code == 422
    assert missing.json["description"].startswith("app_id: is required; oa_id: is required")
    wrong_type = client.simulate_post(
        "/api/accounts", json={**ACCOUNT_FORM, "chat_inactivity_seconds": "soon"}
    )
    assert wrong_type.status_code == 422
    not_json = client.simulate_post(
        "/api/accounts", body="{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400


BOUNDS = {
    "chat_inactivity_seconds": "must be a whole number from 60 to 604800",
    "access_token_expires_in": "must be a whole number from 1 to 31536000",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("access_token_expires_in", 10**12),
        ("access_token_expires_in", 0),
        ("access_token_expires_in", "9" * 40),
        ("chat_inactivity_seconds", 2**31),
        ("chat_inactivity_seconds", 59),
        ("chat_inactivity_seconds", 604801),
        ("chat_inactivity_seconds", -600),
        ("chat_inactivity_seconds", 600.5),
        ("chat_inactivity_seconds", "600"),
    ],
)
def test_numbers_out_of_bounds_are_refused_naming_the_field_and_its_bounds(
    client: testing.TestClient, account: dict[str, Any], project: Any, field: str, value: Any
) -> None:
    refused = f"{field}: {BOUNDS[field]}"
    created = client.simulate_post("/api/accounts", json={**ACCOUNT_FORM, field: value})
    assert (created.status_code, created.json["description"]) == (422, refused)
    path = f"/api/accounts/{account['id']}"
    changed = client.simulate_patch(path, json={field: value, "access_token": "access-token-2"})
    assert (changed.status_code, changed.json["description"]) == (422, refused)

    project()
    [listed] = client.simulate_get("/api/accounts").json["accounts"]
    assert (listed["chat_inactivity_seconds"], listed["access_token_expires_at"]) == (
        600,
        account["access_token_expires_at"],
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("access_token_expires_in", 1),
        ("access_token_expires_in", 31536000),
        ("chat_inactivity_seconds", 60),
        ("chat_inactivity_seconds", 604800),
    ],
)
def test_numbers_at_their_bounds_are_taken(
    client: testing.TestClient, account: dict[str, Any], field: str, value: Any
) -> None:
    another_oa = {**ACCOUNT_FORM, "oa_id": "1234567890123456789"}
    created = client.simulate_post("/api/accounts", json={**another_oa, field: value})
    assert created.status_code == 201
    changed = client.simulate_patch(f"/api/accounts/{account['id']}", json={field: value})
    assert changed.status_code == 200
    if field == "chat_inactivity_seconds":
        assert created.json[field] == changed.json[field] == int(value)


def test_tokens_401_and_403(client: testing.TestClient, services: Services) -> None:
    agent = services.tokens.create("lan", admin=False).token
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


def test_the_account_shows_its_last_webhook_and_last_signature_failure(
    client: testing.TestClient, platform: ZaloPlatform, account: dict[str, Any], project: Any
) -> None:
    path = f"/api/accounts/{account['id']}"
    fresh = client.simulate_get(path).json
    assert fresh["last_webhook_at"] is None and fresh["last_signature_failure"] is None

    raw, headers = zalo.signed(zalo.user_text(CUSTOMER, "hi"), "not-the-key")
    assert client.simulate_post(platform.path, body=raw, headers=headers).status_code == 401
    assert platform.text(CUSTOMER, "xin chào").status_code == 200

    shown = client.simulate_get(path).json
    assert shown["last_webhook_at"] is not None
    assert shown["last_signature_failure_at"] is not None
    assert "does not match this account" in shown["last_signature_failure"]
    project()
    [listed] = client.simulate_get("/api/accounts").json["accounts"]
    assert listed["last_webhook_at"] == shown["last_webhook_at"]
