"""The Zalo client against a fake Zalo platform, over real HTTP."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from adapters.zalo.client import (
    REASONS,
    Profile,
    Recipient,
    TokenPair,
    ZaloClient,
    ZaloError,
    ZaloUnavailable,
    human_reason,
)
from tests.support.fake_zalo import FakeZalo

CUSTOMER = Recipient(user_id="2512523625412515921")
# Zalo's error codes that decide what the sender does.
TABLE = [-216, -220, -32, -230, -232, -213, -227, -234, -201, -211, -218]


@pytest.fixture
def zalo_client(fake: FakeZalo) -> ZaloClient:
    return ZaloClient(fake.api_base, fake.oauth_base, timeout=2.0)


def refresh(zalo_client: ZaloClient, fake: FakeZalo, refresh_token: str) -> TokenPair:
    return zalo_client.refresh(fake.app_id, fake.app_secret, refresh_token)


def test_a_sent_text_returns_zalos_message_id_as_a_string(
    fake: FakeZalo, zalo_client: ZaloClient
) -> None:
    message_id = zalo_client.send_text(fake.access_token, CUSTOMER, "Chào bạn, shop đây ạ")

    assert isinstance(message_id, str)
    assert re.fullmatch(r"[0-9a-f]{20}", message_id)
    [sent] = fake.sent
    assert sent["message_id"] == message_id
    assert sent["recipient"] == {"user_id": "2512523625412515921"}
    assert sent["text"] == "Chào bạn, shop đây ạ"
    assert sent["access_token"] == fake.access_token


def test_an_anonymous_visitor_is_addressed_by_anonymous_and_conversation_id(
    fake: FakeZalo, zalo_client: ZaloClient
) -> None:
    visitor = Recipient(anonymous_id="a1b2c3d4e5", conversation_id="7605173638941758527")
    assert visitor.as_json() == {
        "anonymous_id": "a1b2c3d4e5",
        "conversation_id": "7605173638941758527",
    }

    zalo_client.send_text(fake.access_token, visitor, "Xin chào")

    assert fake.sent[0]["recipient"] == visitor.as_json()


def test_a_recipient_needs_an_address() -> None:
    with pytest.raises(ValueError):
        Recipient()
    with pytest.raises(ValueError):
        Recipient(anonymous_id="a1b2c3d4e5")


def test_every_code_of_the_table_has_a_human_reason() -> None:
    assert set(TABLE) <= set(REASONS)
    assert human_reason(-230, "whatever Zalo says") == REASONS[-230]
    assert human_reason(-9999, "Zalo's own words") == "Zalo's own words"


@pytest.mark.parametrize("code", TABLE)
def test_each_error_code_surfaces_with_its_reason(
    fake: FakeZalo, zalo_client: ZaloClient, code: int
) -> None:
    fake.fail_next(code)

    with pytest.raises(ZaloError) as raised:
        zalo_client.send_text(fake.access_token, CUSTOMER, "hello")

    assert raised.value.code == code
    assert human_reason(raised.value.code, raised.value.message) == REASONS[code]
    assert fake.sent == []


def test_reasons_read_like_the_table() -> None:
    assert REASONS[-230] == (
        "The customer has not interacted with the OA in the last 7 days: "
        "the chat is outside Zalo's reply window."
    )
    assert REASONS[-213] == "The customer does not follow the OA."
    assert REASONS[-234] == "Zalo does not allow this message at night (22:00-06:00)."


def test_unknown_and_expired_tokens_are_told_apart(fake: FakeZalo, zalo_client: ZaloClient) -> None:
    with pytest.raises(ZaloError) as unknown:
        zalo_client.send_text("not-a-token", CUSTOMER, "hello")
    fake.expire_access_token()
    with pytest.raises(ZaloError) as expired:
        zalo_client.send_text(fake.access_token, CUSTOMER, "hello")

    assert (unknown.value.code, expired.value.code) == (-216, -220)


def test_a_token_in_zalos_message_is_not_repeated(fake: FakeZalo, zalo_client: ZaloClient) -> None:
    fake.fail_next(-216, message=f"Access token {fake.access_token} is invalid")

    with pytest.raises(ZaloError) as raised:
        zalo_client.send_text(fake.access_token, CUSTOMER, "hello")

    assert fake.access_token not in str(raised.value)
    assert fake.access_token not in raised.value.message


def test_an_invalid_text_is_an_invalid_parameter(fake: FakeZalo, zalo_client: ZaloClient) -> None:
    with pytest.raises(ZaloError) as raised:
        zalo_client.send_text(fake.access_token, CUSTOMER, "x" * 2001)

    assert raised.value.code == -201


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_http_5xx_or_429_is_unavailable_and_the_next_call_succeeds(
    fake: FakeZalo, zalo_client: ZaloClient, status: int
) -> None:
    fake.http_error_next(status)

    with pytest.raises(ZaloUnavailable):
        zalo_client.send_text(fake.access_token, CUSTOMER, "hello")
    assert zalo_client.send_text(fake.access_token, CUSTOMER, "hello")


def test_an_answer_that_is_not_json_is_unavailable(fake: FakeZalo, zalo_client: ZaloClient) -> None:
    fake.http_error_next(200)

    with pytest.raises(ZaloUnavailable):
        zalo_client.send_text(fake.access_token, CUSTOMER, "hello")


def test_a_dropped_connection_is_unavailable(fake: FakeZalo, zalo_client: ZaloClient) -> None:
    fake.drop_next()

    with pytest.raises(ZaloUnavailable):
        zalo_client.send_text(fake.access_token, CUSTOMER, "hello")
    assert fake.sent == []


def test_an_answer_lost_after_delivery_is_unavailable_though_the_message_went(
    fake: FakeZalo, zalo_client: ZaloClient
) -> None:
    fake.drop_next(delivered=True)

    with pytest.raises(ZaloUnavailable):
        zalo_client.send_text(fake.access_token, CUSTOMER, "hello")
    assert len(fake.sent) == 1


def test_a_slow_answer_times_out_as_unavailable(fake: FakeZalo) -> None:
    fake.latency = 1.0
    impatient = ZaloClient(fake.api_base, fake.oauth_base, timeout=0.2)

    with pytest.raises(ZaloUnavailable):
        impatient.send_text(fake.access_token, CUSTOMER, "hello")


def test_nothing_listening_is_unavailable(fake: FakeZalo) -> None:
    gone = ZaloClient(fake.api_base, fake.oauth_base, timeout=1.0)
    fake.stop()

    with pytest.raises(ZaloUnavailable):
        gone.send_text("token", CUSTOMER, "hello")


def test_the_echo_can_arrive_before_the_send_returns(
    fake: FakeZalo, zalo_client: ZaloClient
) -> None:
    seen: list[tuple[str, str]] = []
    fake.on_send = lambda record: seen.append(("echo", record["message_id"]))

    message_id = zalo_client.send_text(fake.access_token, CUSTOMER, "hello")
    seen.append(("returned", message_id))

    assert seen == [("echo", message_id), ("returned", message_id)]


def test_a_refresh_rotates_the_pair_and_burns_the_old_refresh_token(
    fake: FakeZalo, zalo_client: ZaloClient
) -> None:
    old_access, old_refresh = fake.access_token, fake.refresh_token

    pair = refresh(zalo_client, fake, old_refresh)

    # A new pair, and the old access token dies at once.
    assert pair == TokenPair(fake.access_token, fake.refresh_token, 90000)
    assert old_access != pair.access_token and old_refresh != pair.refresh_token
    with pytest.raises(ZaloError) as dead:
        zalo_client.send_text(old_access, CUSTOMER, "hello")
    assert dead.value.code == -216
    assert zalo_client.send_text(pair.access_token, CUSTOMER, "hello")

    # The old refresh token is single use: refused, and the fake counts the reuse.
    with pytest.raises(ZaloError) as burned:
        refresh(zalo_client, fake, old_refresh)
    assert old_refresh not in str(burned.value)
    assert (fake.refresh_calls, fake.burned_reuse) == (2, 1)
    assert fake.access_token == pair.access_token


@pytest.mark.parametrize("expires_in", ["1000000000000", "0", "-5", "soon"])
def test_a_token_lifetime_no_real_token_has_reads_as_zalos_usual(
    fake: FakeZalo, zalo_client: ZaloClient, expires_in: str
) -> None:
    fake.expires_in = expires_in
    assert refresh(zalo_client, fake, fake.refresh_token).expires_in == 90000


def test_the_token_lifetime_zalo_gives_is_kept(fake: FakeZalo, zalo_client: ZaloClient) -> None:
    fake.expires_in = "3600"
    assert refresh(zalo_client, fake, fake.refresh_token).expires_in == 3600


def test_a_wrong_app_secret_is_refused_without_repeating_the_secret(
    fake: FakeZalo, zalo_client: ZaloClient
) -> None:
    token = fake.refresh_token

    with pytest.raises(ZaloError) as raised:
        zalo_client.refresh(fake.app_id, "wrong-secret-value", token)

    assert raised.value.code < 0
    for secret in ("wrong-secret-value", fake.app_secret, token):
        assert secret not in str(raised.value)
        assert secret not in raised.value.message
    assert fake.refresh_token == token  # nothing rotated


def test_a_refused_refresh_leaves_the_token_usable(fake: FakeZalo, zalo_client: ZaloClient) -> None:
    token = fake.refresh_token
    fake.fail_refresh_next()

    with pytest.raises(ZaloError):
        refresh(zalo_client, fake, token)
    pair = refresh(zalo_client, fake, token)

    assert pair.refresh_token == fake.refresh_token
    assert fake.burned_reuse == 0


def test_two_refreshes_racing_with_one_token_are_caught_by_the_fake(
    fake: FakeZalo, zalo_client: ZaloClient
) -> None:
    fake.refresh_latency = 0.2
    token = fake.refresh_token
    outcomes: list[Any] = []

    def race() -> None:
        try:
            outcomes.append(refresh(zalo_client, fake, token))
        except ZaloError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["TokenPair", "ZaloError"]
    assert fake.burned_reuse == 1


def test_the_fake_counts_calls_and_enforces_the_rate_limit(
    fake: FakeZalo, zalo_client: ZaloClient
) -> None:
    fake.rate_limit = 3
    for _ in range(3):
        zalo_client.send_text(fake.access_token, CUSTOMER, "hello")

    with pytest.raises(ZaloError) as limited:
        zalo_client.send_text(fake.access_token, CUSTOMER, "hello")

    assert limited.value.code == -32
    assert fake.calls_per_window(60) == 4
    assert len(fake.sent) == 3


def test_a_profile_is_read_with_its_name_and_avatar(
    fake: FakeZalo, zalo_client: ZaloClient
) -> None:
    user_id = "2512523625412515921"  # beyond 2^53: sent and read as text
    fake.set_profile(user_id, "Nguyễn Văn A", "https://s240-ava-talk.zadn.vn/a.jpg")
    assert zalo_client.user_detail(fake.access_token, user_id) == Profile(
        display_name="Nguyễn Văn A", avatar="https://s240-ava-talk.zadn.vn/a.jpg"
    )
    assert fake.profile_calls == [user_id]


def test_a_profile_keeps_only_what_a_page_can_show(fake: FakeZalo, zalo_client: ZaloClient) -> None:
    fake.set_profile("1", "  Lan\x00  ", None)
    fake.profiles["1"]["avatar"] = "javascript:alert(1)"
    fake.profiles["1"]["avatars"] = {"120": "https://a/120.jpg", "240": "https://a/240.jpg"}
    assert zalo_client.user_detail(fake.access_token, "1") == Profile("Lan", "https://a/240.jpg")
    fake.set_profile("2", "   ")
    assert zalo_client.user_detail(fake.access_token, "2") == Profile(None, None)


def test_a_profile_call_fails_as_a_send_does(fake: FakeZalo, zalo_client: ZaloClient) -> None:
    with pytest.raises(ZaloError) as unknown:
        zalo_client.user_detail(fake.access_token, "3")
    assert unknown.value.code == -213  # not a follower: only the id is known
    with pytest.raises(ZaloError) as refused:
        zalo_client.user_detail("not-the-token", "3")
    assert refused.value.code == -216 and "not-the-token" not in str(refused.value)
    fake.fail_profile_next(status=503)
    with pytest.raises(ZaloUnavailable, match=re.escape("503 to GET /v3.0/oa/user/detail")):
        zalo_client.user_detail(fake.access_token, "3")
    fake.fail_profile_next(-32)
    with pytest.raises(ZaloError) as limited:
        zalo_client.user_detail(fake.access_token, "3")
    assert limited.value.code == -32
