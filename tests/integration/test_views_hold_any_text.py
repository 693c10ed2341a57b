"""Whatever text a signed delivery carries, the views hold it as a person would see it."""

from __future__ import annotations

from typing import Any

import pytest
from falcon import testing

from api import cli
from tests.integration.conftest import ZaloPlatform
from tests.support import zalo

CUSTOMER = "2512523625412515"
NUL = "\u0000"
SHOWN = "\ufffd"  # the replacement character, where the views cannot hold a NUL


def the_chat(client: testing.TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    [chat] = client.simulate_get("/api/chats").json["chats"]
    return chat, client.simulate_get(f"/api/chats/{chat['id']}").json


def nothing_set_aside(client: testing.TestClient) -> None:
    answer = client.simulate_get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json["set_aside"] == []


def test_a_nul_in_the_text_shows_as_the_replacement_character(
    platform: ZaloPlatform, client: testing.TestClient, project: Any
) -> None:
    assert platform.text(CUSTOMER, f"hết{NUL}hàng").status_code == 200
    assert platform.text(CUSTOMER, "viết \\u0000 😀").status_code == 200
    project()

    chat, transcript = the_chat(client)
    assert [m["text"] for m in transcript["messages"]] == [f"hết{SHOWN}hàng", "viết \\u0000 😀"]
    assert chat["last_message"]["text"] == "viết \\u0000 😀"  # typed as such: kept
    assert chat["unread_count"] == 2
    nothing_set_aside(client)


def test_a_nul_in_the_last_message_shows_in_the_inbox(
    platform: ZaloPlatform, client: testing.TestClient, project: Any
) -> None:
    assert platform.text(CUSTOMER, f"{NUL}a{NUL}").status_code == 200
    project()

    chat, _ = the_chat(client)
    assert chat["last_message"]["text"] == f"{SHOWN}a{SHOWN}"
    nothing_set_aside(client)


def test_a_nul_in_the_sender_and_message_ids(
    platform: ZaloPlatform, client: testing.TestClient, project: Any
) -> None:
    body = zalo.user_text(f"25{NUL}12", "xin chào", msg_id=f"ab{NUL}cd", quote_msg_id=f"q{NUL}")
    assert platform.send(body).status_code == 200
    project()

    chat, transcript = the_chat(client)
    assert chat["customer"]["zalo_user_id"] == f"25{SHOWN}12"
    [message] = transcript["messages"]
    assert message["text"] == "xin chào"
    assert message["zalo_msg_id"] == f"ab{SHOWN}cd"
    assert message["quote_msg_id"] == f"q{SHOWN}"
    nothing_set_aside(client)


def test_a_nul_in_an_attachments_fields_and_their_names(
    platform: ZaloPlatform, client: testing.TestClient, project: Any
) -> None:
    payload = {"url": f"https://f.zalo.me/a{NUL}.jpg", f"note{NUL}": [f"x{NUL}", {"y": NUL}]}
    body = zalo.user_attachment(CUSTOMER, "user_send_image", f"image{NUL}", payload, f"ảnh{NUL}")
    assert platform.send(body).status_code == 200
    project()

    chat, transcript = the_chat(client)
    [message] = transcript["messages"]
    assert message["text"] == f"ảnh{SHOWN}"
    assert message["attachments"] == [
        {
            "type": f"image{SHOWN}",
            "url": f"https://f.zalo.me/a{SHOWN}.jpg",
            f"note{SHOWN}": [f"x{SHOWN}", {"y": SHOWN}],
        }
    ]
    assert chat["last_message"]["text"] == f"ảnh{SHOWN}"
    nothing_set_aside(client)


def test_a_nul_from_an_anonymous_visitor_and_an_oa_echo(
    platform: ZaloPlatform, client: testing.TestClient, project: Any
) -> None:
    visitor = zalo.user_text(f"v{NUL}1", f"hỏi{NUL}", conversation_id=f"c{NUL}1")
    visitor["event_name"] = "anonymous_send_text"
    assert platform.send(visitor).status_code == 200
    echo = {
        **zalo.user_text(zalo.OA_ID, f"trả lời{NUL}"),
        "event_name": "oa_send_text",
        "sender": {"id": zalo.OA_ID, "admin_id": f"adm{NUL}"},
        "recipient": {"id": f"v{NUL}1"},
    }
    echo["message"]["conversation_id"] = f"c{NUL}1"
    assert platform.send(echo).status_code == 200
    project()

    chat, transcript = the_chat(client)
    assert chat["customer"]["zalo_user_id"] == f"v{SHOWN}1"
    assert [m["text"] for m in transcript["messages"]] == [f"hỏi{SHOWN}", f"trả lời{SHOWN}"]
    nothing_set_aside(client)


def test_what_an_agent_types_with_a_nul_is_refused_naming_the_field(
    platform: ZaloPlatform, client: testing.TestClient, project: Any
) -> None:
    """The API takes text without U+0000 from agents (what Zalo delivers is kept as sent)."""
    assert platform.text(CUSTOMER, "xin chào").status_code == 200
    project()
    chat, _ = the_chat(client)
    answer = client.simulate_post(
        f"/api/chats/{chat['id']}/messages",
        json={"text": f"dạ{NUL}", "client_message_id": "r1"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json["description"].startswith("text: ")
    answer = client.simulate_patch(
        f"/api/tickets/{chat['ticket_id']}",
        json={"tags": [f"vip{NUL}"], "assignee": f"an{NUL}"},
    )
    assert answer.status_code == 422, answer.text
    project()
    nothing_set_aside(client)


def test_views_holding_a_replaced_character_rebuild_and_verify_equal(
    platform: ZaloPlatform,
    client: testing.TestClient,
    project: Any,
    db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert platform.text(f"25{NUL}", f"a{NUL}", msg_id=f"m{NUL}").status_code == 200
    project()
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)

    assert cli.main(["replay"]) == 0
    assert cli.main(["verify"]) == 0
    chat, transcript = the_chat(client)
    assert chat["last_message"]["text"] == f"a{SHOWN}"
    assert transcript["messages"][0]["zalo_msg_id"] == f"m{SHOWN}"
    nothing_set_aside(client)
