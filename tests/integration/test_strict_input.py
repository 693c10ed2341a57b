"""Wrong input is refused, saying what was wrong; nothing is coerced or silently ignored."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from falcon import testing

from tests.integration.conftest import ACCOUNT_FORM, ZaloPlatform, only_chat

CUSTOMER = "1594636778967000002"


def refused(result: testing.Result, status: int, *named: str) -> str:
    """The refusal has the usual {title, description} and its description names ``named``."""
    assert result.status_code == status, result.text
    assert result.headers["content-type"].startswith("application/json"), result.headers
    body = result.json
    assert set(body) == {"title", "description"}, body
    for name in named:
        assert name in body["description"], body
    return str(body["description"])


@pytest.fixture
def chat(platform: ZaloPlatform, client: testing.TestClient, project: Any) -> dict[str, Any]:
    assert platform.text(CUSTOMER, "Shop ơi").status_code == 200
    return only_chat(client, project)


def test_unknown_query_parameters_are_refused_by_name(client: testing.TestClient) -> None:
    described = refused(client.simulate_get("/api/chats", params={"page": "2"}), 400, "page")
    assert "it takes account_id, assignee, limit, cursor" in described
    described = refused(client.simulate_get("/api/tickets", params={"page": "2"}), 400, "page")
    assert "it takes status, account_id, customer_id, kind, limit, cursor" in described
    refused(client.simulate_get("/api/accounts", params={"verbose": "1"}), 400, "verbose")


def test_query_values_are_read_as_their_type_and_never_coerced(
    client: testing.TestClient,
) -> None:
    for limit in ("5.0", " 5", "1_0", "", "five"):
        described = refused(client.simulate_get(f"/api/tickets?limit={limit}"), 400, "limit")
        assert described == "limit: must be a whole number from 1 to 200"
    refused(client.simulate_get("/api/tickets?limit=201"), 400, "limit")
    refused(client.simulate_get("/api/tickets?limit=1&limit=2"), 400, "limit: given more than once")
    refused(client.simulate_get("/api/tickets?account_id=nope"), 400, "account_id: must be an id")
    refused(client.simulate_get("/api/tickets?kind=fax"), 400, "kind: must be one of")
    refused(client.simulate_get("/api/tickets?cursor=garbage"), 400, "cursor")
    refused(client.simulate_get("/api/events?after=-1"), 400, "after")
    assert client.simulate_get("/api/tickets?limit=7&kind=chat").status_code == 200


def test_an_unknown_field_in_a_change_is_refused_and_changes_nothing(
    client: testing.TestClient, project: Any
) -> None:
    opened = client.simulate_post("/api/tickets", json={"text": "Xin gửi hoá đơn"})
    ticket = opened.json["id"]
    described = refused(
        client.simulate_patch(f"/api/tickets/{ticket}", json={"status": "open", "priority": 1}),
        422,
        "priority",
    )
    assert described.startswith("priority: is not a field of this call (it takes status,")
    project()
    assert client.simulate_get(f"/api/tickets/{ticket}").json["status"] == "new"


def test_a_number_is_not_text_and_text_is_not_a_number(
    client: testing.TestClient, chat: dict[str, Any], project: Any
) -> None:
    path = f"/api/chats/{chat['id']}/messages"
    assert refused(client.simulate_post(path, json={"text": 5}), 422) == "text: must be a string"
    refused(client.simulate_post(path, json={"text": ["hi"]}), 422, "text")
    refused(client.simulate_post(path, json={"text": "   "}), 422, "text", "visible character")
    refused(client.simulate_post(path, json={"text": "x" * 2001}), 422, "text", "2000")
    refused(client.simulate_post(path, json={"text": "hi", "client_message_id": 7}), 422, "client")
    account = {**ACCOUNT_FORM, "oa_id": "1234567890", "allow_postpone": "yes"}
    refused(client.simulate_post("/api/accounts", json=account), 422, "allow_postpone")
    project()
    detail = client.simulate_get(f"/api/chats/{chat['id']}").json
    assert [m["direction"] for m in detail["messages"]] == ["in"], "a refused reply was queued"


def test_a_whole_number_may_be_written_with_a_zero_fraction(client: testing.TestClient) -> None:
    form = {**ACCOUNT_FORM, "oa_id": "1234567890", "chat_inactivity_seconds": 900.0}
    created = client.simulate_post("/api/accounts", json=form)
    assert created.status_code == 201, created.text
    assert created.json["chat_inactivity_seconds"] == 900


def test_null_where_a_value_is_needed_is_refused(
    client: testing.TestClient, account: dict[str, Any]
) -> None:
    path = f"/api/accounts/{account['id']}"
    refused(client.simulate_patch(path, json={"name": None}), 422, "name: must be a string")
    # null is a value only where it means something: no verification code.
    cleared = client.simulate_patch(path, json={"verification_code": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json["has_verification_code"] is False


def test_a_body_that_is_not_sent_as_json_is_refused_saying_so(
    client: testing.TestClient, chat: dict[str, Any]
) -> None:
    path = f"/api/chats/{chat['id']}/messages"
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        described = refused(
            client.simulate_post(
                path, body='{"text": "hi"}', headers={"Content-Type": content_type}
            ),
            415,
            "Content-Type: application/json",
        )
        assert content_type in described
    refused(client.simulate_post(path, body='{"text": "hi"}'), 415, "no Content-Type")
    sent = client.simulate_post(
        path, body='{"text": "hi"}', headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert sent.status_code == 202, sent.text


def test_bodies_that_are_not_a_json_object_are_refused(
    client: testing.TestClient, chat: dict[str, Any]
) -> None:
    path = f"/api/chats/{chat['id']}/messages"
    json_type = {"Content-Type": "application/json"}
    refused(client.simulate_post(path, body="{", headers=json_type), 400, "could not be parsed")
    refused(client.simulate_post(path, body="[1]", headers=json_type), 400, "a JSON object")
    refused(client.simulate_post(path), 400, "takes a JSON object with text, client_message_id")
    # A call that takes no body takes an empty object, and nothing else.
    read = f"/api/chats/{chat['id']}/read"
    assert client.simulate_post(read, json={}).status_code == 200
    assert client.simulate_post(read).status_code == 200
    refused(client.simulate_post(read, json={"all": True}), 422, "all", "it takes no fields")
    refused(client.simulate_get("/api/chats", json={}), 400, "A GET takes no body")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("app_id", "…"),
        ("oa_id", "…"),
        ("app_id", "app-1"),
        ("oa_id", "12345678901234567890"),
        ("oa_id", 388613280878808645),
        ("app_id", ""),
    ],
)
def test_ids_that_cannot_be_zalo_ids_are_refused(
    client: testing.TestClient, field: str, value: Any
) -> None:
    described = refused(
        client.simulate_post("/api/accounts", json={**ACCOUNT_FORM, field: value}), 422, field
    )
    if isinstance(value, str):
        assert described == f"{field}: must be a Zalo id: a string of 1 to 19 digits"
    assert client.simulate_get("/api/accounts").json["accounts"] == []


@pytest.mark.parametrize("value", ["tôken-có-dấu", "two words", "tab\there"])
def test_keys_and_tokens_that_no_http_header_can_carry_are_refused(
    client: testing.TestClient, project: Any, value: str
) -> None:
    created = client.simulate_post("/api/accounts", json=ACCOUNT_FORM)
    path = f"/api/accounts/{created.json['id']}"
    for field in ("access_token", "refresh_token", "app_secret", "oa_secret_key"):
        refused(client.simulate_patch(path, json={field: value}), 422, field)
        refused(client.simulate_post("/api/accounts", json={**ACCOUNT_FORM, field: value}), 422)
    project()
    assert len(client.simulate_get("/api/accounts").json["accounts"]) == 1


def test_a_customer_of_a_ticket_needs_a_zalo_user_id_with_its_account_or_a_name(
    client: testing.TestClient, account: dict[str, Any]
) -> None:
    who = {"account_id": account["id"], "zalo_user_id": "…"}
    refused(
        client.simulate_post("/api/tickets", json={"text": "hi", "customer": who}),
        422,
        "customer.by_zalo_id.zalo_user_id: must be a Zalo id",
    )
    refused(
        client.simulate_post(
            "/api/tickets", json={"text": "hi", "customer": {"zalo_user_id": CUSTOMER}}
        ),
        422,
        "customer.by_zalo_id.account_id: is required",
    )
    refused(
        client.simulate_post(
            "/api/tickets", json={"text": "hi", "customer": {"account_id": account["id"]}}
        ),
        422,
        "customer.by_name.name: is required",
    )
    refused(
        client.simulate_post("/api/tickets", json={"text": "hi", "customer": {"name": "  "}}),
        422,
        "customer.by_name.name: must be text with at least one visible character",
    )


def test_an_oa_connected_already_is_refused_until_its_account_is_removed(
    client: testing.TestClient, account: dict[str, Any], db: str
) -> None:
    again = {**ACCOUNT_FORM, "name": "Shop Hoa Mai 2", "app_id": "1111111111"}
    described = refused(client.simulate_post("/api/accounts", json=again), 409, "oa_id")
    assert account["id"] in described
    with psycopg.connect(db) as conn:
        kept = conn.execute("SELECT count(*) FROM account_credentials").fetchone()
    assert kept == (1,), "the refused account's secrets were kept"

    other = client.simulate_post("/api/accounts", json={**again, "oa_id": "2222222222"}).json
    moved = client.simulate_patch(
        f"/api/accounts/{other['id']}", json={"oa_id": ACCOUNT_FORM["oa_id"]}
    )
    refused(moved, 409, "oa_id", ACCOUNT_FORM["oa_id"])

    assert client.simulate_delete(f"/api/accounts/{account['id']}").status_code == 204
    moved = client.simulate_patch(
        f"/api/accounts/{other['id']}", json={"oa_id": ACCOUNT_FORM["oa_id"]}
    )
    assert moved.status_code == 200, moved.text
    # Its old OA is free again.
    reconnected = client.simulate_post("/api/accounts", json={**again, "oa_id": "2222222222"})
    assert reconnected.status_code == 201, reconnected.text


def test_one_oa_connected_by_two_admins_at_once_is_connected_once(
    client: testing.TestClient, project: Any
) -> None:
    start = threading.Barrier(4)

    def connect(n: int) -> int:
        start.wait()
        form = {**ACCOUNT_FORM, "name": f"Shop {n}"}
        return client.simulate_post("/api/accounts", json=form).status_code

    with ThreadPoolExecutor(4) as pool:
        answers = sorted(pool.map(connect, range(4)))
    assert answers == [201, 409, 409, 409]
    project()
    assert len(client.simulate_get("/api/accounts").json["accounts"]) == 1


def test_a_client_message_id_reused_with_other_text_is_refused(
    client: testing.TestClient, chat: dict[str, Any], project: Any
) -> None:
    path = f"/api/chats/{chat['id']}/messages"
    first = client.simulate_post(path, json={"text": "Dạ có ạ", "client_message_id": "m-1"})
    assert first.status_code == 202
    same = client.simulate_post(path, json={"text": "Dạ có ạ", "client_message_id": "m-1"})
    assert same.json["message_id"] == first.json["message_id"]
    other = client.simulate_post(path, json={"text": "Hết hàng rồi", "client_message_id": "m-1"})
    refused(other, 409, "client_message_id m-1")
    project()
    detail = client.simulate_get(f"/api/chats/{chat['id']}").json
    assert [m["text"] for m in detail["messages"] if m["direction"] == "out"] == ["Dạ có ạ"]


def test_a_client_message_id_on_an_asynchronous_ticket_is_one_message(
    client: testing.TestClient, project: Any
) -> None:
    ticket = client.simulate_post("/api/tickets", json={"text": "Xin gửi hoá đơn"}).json["id"]
    path = f"/api/tickets/{ticket}/messages"
    first = client.simulate_post(path, json={"text": "Đã gửi", "client_message_id": "n-1"})
    assert first.status_code == 201
    same = client.simulate_post(path, json={"text": "Đã gửi", "client_message_id": "n-1"})
    assert (same.status_code, same.json) == (201, first.json)
    refused(
        client.simulate_post(path, json={"text": "Chưa gửi", "client_message_id": "n-1"}),
        409,
        "client_message_id n-1",
    )
    project()
    [session] = client.simulate_get(f"/api/tickets/{ticket}").json["chats"]
    assert [m["text"] for m in session["messages"]] == ["Xin gửi hoá đơn", "Đã gửi"]


def test_router_errors_have_the_same_shape_as_every_other(client: testing.TestClient) -> None:
    refused(client.simulate_get("/api/nothing-here"), 404, "/api/nothing-here")
    refused(client.simulate_get("/api/chats/not-an-id"), 404, "/api/chats/not-an-id")
    no_hyphens = "6f1c2b0e3c0a4f579a531f3f2f2c9a10"
    refused(client.simulate_get(f"/api/chats/{no_hyphens}"), 404, "ids are UUIDs")
    wrong = client.simulate_put("/api/chats")
    refused(wrong, 405, "PUT", "/api/chats")
    assert "GET" in wrong.headers["allow"]
    refused(client.simulate_delete("/healthz"), 405, "DELETE")
    # JSON whatever the client would rather have.
    refused(client.simulate_get("/api/nothing", headers={"Accept": "application/xml"}), 404)
