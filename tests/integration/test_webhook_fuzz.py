"""Property: no webhook body, signed or not, however malformed, gets a 5xx, every
delivery answered 200 is stored exactly once, and every view applies what it caused."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from falcon import testing
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.services import Services
from tests.integration.conftest import ZaloPlatform
from tests.support import zalo

EVENTS = [
    "user_send_text",
    "user_send_image",
    "user_send_sticker",
    "anonymous_send_text",
    "oa_send_text",
    "user_received_message",
    "user_seen_message",
    "follow",
    "unfollow",
    "made_up_event",
]
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.just("a\u0000b"),
    st.text(alphabet="a\u0000ế\\", max_size=6),
    st.just([{"type": "image\u0000", "payload": {"url": "u\u0000", "k\u0000": [{"\u0000": 1}]}}]),
    st.just(""),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
PATHS = [
    ("event_name",),
    ("sender",),
    ("sender", "id"),
    ("recipient", "id"),
    ("message",),
    ("message", "msg_id"),
    ("message", "msg_ids"),
    ("message", "text"),
    ("message", "attachments"),
    ("message", "quote_msg_id"),
    ("message", "conversation_id"),
    ("sender", "admin_id"),
    ("source",),
    ("follower",),
    ("follower", "id"),
    ("timestamp",),
    ("user_id_by_app",),
]


def base_body(event: str) -> dict[str, Any]:
    if event in ("follow", "unfollow"):
        return zalo.follow("3106597011220386741", event)
    body = zalo.user_text("3106597011220386741", "xin chào")
    body["event_name"] = event
    if event.startswith("user_received") or event.startswith("user_seen"):
        body["message"] = {"msg_ids": [zalo.new_msg_id()], "msg_id": zalo.new_msg_id()}
    return body


@st.composite
def mutated_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = base_body(draw(st.sampled_from(EVENTS)))
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=4)):
        parent: Any = body
        for key in path[:-1]:
            if not isinstance(parent.get(key), dict):
                parent[key] = {}
            parent = parent[key]
        if draw(st.booleans()):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(ODD_VALUES)
    return body


def stored_receipts(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM zalodesk_events WHERE topic LIKE %s",
            ("%InboundReceipt.Received",),
        ).fetchone()
    return int(row[0]) if row else 0


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=mutated_bodies())
@example(body=zalo.user_text("31\u000006", "a\u0000b", msg_id="m\u0000", quote_msg_id="\u0000"))
@example(
    body=zalo.user_attachment(
        "3106597011220386741",
        "user_send_file",
        "file\u0000",
        {"name": "a\u0000.pdf", "\u0000": {"size": "1\u0000"}},
        text="\u0000",
    )
)
@example(body=zalo.follow("31\u000006") | {"source": "\u0000"})
@example(body=base_body("user_seen_message") | {"message": {"msg_ids": ["\u0000"]}})
def test_a_signed_body_however_malformed_is_never_a_5xx_and_the_views_apply_it(
    platform: ZaloPlatform, db: str, services: Services, project: Any, body: dict[str, Any]
) -> None:
    before = stored_receipts(db)
    answer = platform.send(body)
    assert answer.status_code < 500, (answer.status_code, answer.text, body)
    if answer.status_code == 200:
        expected = 0 if answer.json["outcome"] == "duplicate" else 1
        assert stored_receipts(db) == before + expected
        again = platform.send(body)
        assert again.status_code == 200 and again.json["outcome"] == "duplicate"
        assert stored_receipts(db) == before + expected
    project()
    assert services.set_aside() == [], body
    assert not any(services.lag().values())


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.one_of(st.binary(max_size=300), mutated_bodies().map(lambda b: json.dumps(b).encode()))
)
def test_an_unsigned_or_garbled_body_is_refused_with_a_4xx(
    client: testing.TestClient, platform: ZaloPlatform, raw: bytes
) -> None:
    answer = client.simulate_post(platform.path, body=raw, headers={"X-ZEvent-Signature": "mac=0"})
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
