"""Replies out to Zalo, against a fake platform over real HTTP."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from attrs import evolve
from falcon import testing

from adapters.postgres.credentials import Credentials
from adapters.settings import Settings
from adapters.timefmt import parse_iso
from adapters.workers.outbox import Outbox
from api import bootstrap
from api.services import Services
from domain import actors
from domain.account import fingerprint
from domain.clock import FrozenClock
from domain.handlers.outbox import ACCOUNT_REMOVED
from tests.integration.conftest import ZaloPlatform, audit, talking_to
from tests.support import zalo
from tests.support.fake_zalo import FakeZalo

CUSTOMER = "3106597011220386741"


@pytest.fixture
def settings(settings: Settings, fake: FakeZalo) -> Settings:
    return talking_to(settings, fake)


QUICK = bootstrap.WorkerTuning(
    retry_delays=(0.01, 0.01, 0.01), sleep=lambda _: None, zalo_timeout=5
)


def make_outbox(services: Services, settings: Settings, **tuning: Any) -> Outbox:
    return bootstrap.workers(services, evolve(QUICK, **tuning)).outbox


def stored(services: Services, account: dict[str, Any]) -> Credentials:
    """The account's credentials as the credential store holds them."""
    found = services.credentials.get(UUID(account["id"]))
    assert found is not None
    return found


class AccountTokens:
    """The account's tokens, as the credential store keeps them and the outbox refreshes them."""

    def __init__(self, services: Services, settings: Settings, account: dict[str, Any]) -> None:
        self.services, self.account = services, account
        self.refresher = make_outbox(services, settings).refresher

    def stored(self) -> Credentials:
        return stored(self.services, self.account)

    def refresh(self, access_token: str | None = None) -> str:
        """As the outbox refreshes on a dead ``access_token`` (by default the stored one)."""
        dead = self.stored().access_token if access_token is None else access_token
        return self.refresher.refresh(UUID(self.account["id"]), dead)

    def in_use(self) -> str:
        return self.refresher.token(UUID(self.account["id"]))


@pytest.fixture
def tokens(services: Services, settings: Settings, account: dict[str, Any]) -> AccountTokens:
    return AccountTokens(services, settings, account)


def rotations(client: testing.TestClient, account: dict[str, Any]) -> list[tuple[str, str]]:
    """Who rotated the account's tokens, and to which pair, in the order recorded."""
    events = audit(client, account["id"])
    return [
        (e["actor"], e["data"]["tokens_fingerprint"])
        for e in events
        if e["type"] == "ZaloAccount.TokensRotated"
    ]


@pytest.fixture
def outbox(services: Services, settings: Settings) -> Iterator[Outbox]:
    box = make_outbox(services, settings)
    yield box
    box.executor.shutdown()


def send_queued(outbox: Outbox) -> None:
    """One round of the outbox, and every send it started finished."""
    outbox.tick()
    outbox.wait_until_idle()


class Agent:
    """Replies through the API, lets the outbox run, and reads the chat back."""

    def __init__(self, client: testing.TestClient, project: Any, outbox: Outbox) -> None:
        self.client = client
        self.project = project
        self.outbox = outbox

    def chat(self) -> dict[str, Any]:
        self.project()
        [chat] = self.client.simulate_get("/api/chats").json["chats"]
        return dict(self.client.simulate_get(f"/api/chats/{chat['id']}").json)

    def reply(self, text: str, **extra: Any) -> testing.Result:
        chat_id = self.chat()["id"]
        return self.client.simulate_post(
            f"/api/chats/{chat_id}/messages", json={"text": text, **extra}
        )

    def deliver(self) -> list[dict[str, Any]]:
        self.project()
        send_queued(self.outbox)
        return [m for m in self.chat()["messages"] if m["direction"] == "out"]


@pytest.fixture
def agent(
    client: testing.TestClient, project: Any, outbox: Outbox, platform: ZaloPlatform
) -> Agent:
    platform.text(CUSTOMER, "Cho mình hỏi giá")
    return Agent(client, project, outbox)


def test_a_reply_is_queued_then_sent(agent: Agent, fake: FakeZalo) -> None:
    queued = agent.reply("Dạ, áo giá 250k ạ", client_message_id="c-1")
    assert queued.status_code == 202
    assert queued.json["status"] == "queued"
    [message] = agent.deliver()
    assert message["status"] == "sent"
    assert message["text"] == "Dạ, áo giá 250k ạ"
    [sent] = fake.sent
    assert sent["recipient"] == {"user_id": CUSTOMER}
    assert message["zalo_msg_id"] == sent["message_id"]


def test_the_same_client_message_id_queues_one_reply(agent: Agent, fake: FakeZalo) -> None:
    first = agent.reply("Một lần thôi", client_message_id="same")
    second = agent.reply("Một lần thôi", client_message_id="same")
    assert first.json["message_id"] == second.json["message_id"]
    assert len(agent.deliver()) == 1
    assert len(fake.sent) == 1


def test_empty_and_overlong_replies_are_refused(agent: Agent) -> None:
    empty = agent.reply("  ")
    long = agent.reply("x" * 2001)
    assert (empty.status_code, long.status_code) == (422, 422)
    assert "2000" in long.json["description"]


@pytest.mark.parametrize("code", [-230, -232, -213, -227, -234, -201, -211, -218])
def test_errors_that_cannot_be_retried_fail_visibly_at_once(
    agent: Agent, fake: FakeZalo, code: int
) -> None:
    fake.fail_next(code)
    agent.reply("Chào bạn")
    [message] = agent.deliver()
    assert message["status"] == "failed"
    assert message["error"]["code"] == code
    assert len(fake.send_times) == 1


def test_the_reply_window_error_explains_itself(agent: Agent, fake: FakeZalo) -> None:
    fake.fail_next(-230)
    agent.reply("Chào bạn")
    [message] = agent.deliver()
    assert "7 days" in message["error"]["reason"]


@pytest.mark.parametrize("code", [-216, -220])
def test_a_dead_token_is_refreshed_and_the_send_retried_once(
    agent: Agent, fake: FakeZalo, client: testing.TestClient, code: int
) -> None:
    fake.fail_next(code)
    agent.reply("Sau khi làm mới token")
    [message] = agent.deliver()
    assert message["status"] == "sent"
    assert fake.refresh_calls == 1
    assert fake.burned_reuse == 0
    assert fake.sent[0]["access_token"] == fake.access_token  # the new token was used


@pytest.mark.parametrize("trouble", ["rate limit", "http 500", "dropped connection"])
def test_transient_trouble_is_retried(agent: Agent, fake: FakeZalo, trouble: str) -> None:
    {
        "rate limit": lambda: fake.fail_next(-32, times=2),
        "http 500": lambda: fake.http_error_next(500, times=2),
        "dropped connection": lambda: fake.drop_next(times=2),
    }[trouble]()
    agent.reply("Thử lại")
    [message] = agent.deliver()
    assert message["status"] == "sent"
    assert len(fake.sent) == 1


def test_a_platform_that_stays_down_ends_in_a_visible_failure(agent: Agent, fake: FakeZalo) -> None:
    fake.http_error_next(503, times=10)
    agent.reply("Không tới")
    [message] = agent.deliver()
    assert message["status"] == "failed"
    assert "could not be reached" in message["error"]["reason"]


def test_a_failed_refresh_asks_for_a_reconnect(
    agent: Agent, fake: FakeZalo, client: testing.TestClient, project: Any
) -> None:
    fake.fail_next(-216)
    fake.fail_refresh_next()
    agent.reply("first")
    [message] = agent.deliver()
    assert message["status"] == "failed"
    assert "needs reconnecting" in message["error"]["reason"]

    project()
    [account] = client.simulate_get("/api/accounts").json["accounts"]
    assert account["needs_reconnect"] is True
    agent.reply("second")
    messages = agent.deliver()
    assert messages[1]["status"] == "failed"
    assert "needs reconnecting" in messages[1]["error"]["reason"]
    assert len(fake.send_times) == 1  # nothing more was tried
    # An admin pastes a fresh pair: the account is usable again.
    client.simulate_patch(
        f"/api/accounts/{account['id']}",
        json={"access_token": fake.access_token, "refresh_token": fake.refresh_token},
    )
    assert client.simulate_get(f"/api/accounts/{account['id']}").json["needs_reconnect"] is False


def test_two_processes_racing_to_refresh_spend_the_refresh_token_once(
    services: Services, settings: Settings, account: dict[str, Any], fake: FakeZalo
) -> None:
    fake.refresh_latency = 0.3
    stale = stored(services, account).access_token
    results: list[str] = []

    def one_process() -> None:
        process = bootstrap.build(settings, str(settings.database_url))  # a process of its own
        try:
            refresher = bootstrap.workers(process).outbox.refresher
            results.append(refresher.refresh(UUID(account["id"]), stale))
        finally:
            process.close()

    threads = [threading.Thread(target=one_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.refresh_calls == 1
    assert fake.burned_reuse == 0
    assert results == [fake.access_token, fake.access_token]


def test_a_token_near_expiry_is_refreshed_before_use(
    agent: Agent, fake: FakeZalo, clock: FrozenClock
) -> None:
    clock.advance(90000 - 60)  # a minute before the access token expires
    agent.reply("Còn hàng ạ")
    agent.deliver()
    assert fake.refresh_calls == 1
    assert fake.sent[0]["access_token"] == fake.access_token


def test_the_new_pair_is_stored_before_its_rotation_is_recorded(
    tokens: AccountTokens,
    services: Services,
    fake: FakeZalo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stored_when_recorded: list[bool] = []
    record = services.app.rotate_tokens

    def recording(account_id: UUID, tokens_fingerprint: str, *args: Any) -> Any:
        stored_when_recorded.append(tokens.stored().tokens_fingerprint == tokens_fingerprint)
        return record(account_id, tokens_fingerprint, *args)

    monkeypatch.setattr(services.app, "rotate_tokens", recording)
    assert tokens.refresh() == fake.access_token
    assert stored_when_recorded == [True]


class Crash(Exception):
    """The process dies between storing the pair and recording its rotation."""


def test_a_crash_after_zalo_issued_a_pair_keeps_the_pair(
    tokens: AccountTokens,
    services: Services,
    account: dict[str, Any],
    fake: FakeZalo,
    client: testing.TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    def crash(*args: Any) -> None:
        raise Crash

    monkeypatch.setattr(services.app, "rotate_tokens", crash)
    with pytest.raises(Crash):
        tokens.refresh()
    monkeypatch.undo()

    # Zalo spent the old pair; the new one is what the store holds, though unrecorded.
    assert (tokens.stored().access_token, tokens.stored().refresh_token) == (
        fake.access_token,
        fake.refresh_token,
    )
    assert rotations(client, account) == []
    assert tokens.in_use() == fake.access_token
    # The next refresh spends the kept refresh token, and is recorded.
    tokens.refresh(fake.access_token)
    assert (fake.refresh_calls, fake.burned_reuse) == (2, 0)
    assert rotations(client, account) == [
        (actors.OUTBOX, fingerprint(fake.access_token, fake.refresh_token))
    ]


AdminPatch = Callable[[Callable[[], dict[str, str]]], int]


@pytest.fixture
def refresh_while_the_admin_patches(
    tokens: AccountTokens, account: dict[str, Any], fake: FakeZalo, client: testing.TestClient
) -> AdminPatch:
    """A refresh during which, while Zalo is answering it, the admin patches the account
    with ``body()``; the patch's HTTP status."""

    def refresh(body: Callable[[], dict[str, str]]) -> int:
        answers: list[int] = []
        patches: list[threading.Thread] = []

        def admin_patches() -> None:
            fake.on_refresh = None
            sent = body()
            admin = threading.Thread(
                target=lambda: answers.append(
                    client.simulate_patch(f"/api/accounts/{account['id']}", json=sent).status_code
                )
            )
            admin.start()
            patches.append(admin)

        fake.on_refresh = admin_patches
        fake.refresh_latency = 0.3  # room for the admin to overtake the refresh, were it allowed
        tokens.refresh()
        patches[0].join()
        return answers[0]

    return refresh


def test_an_admin_pair_pasted_during_a_refresh_waits_for_it_and_comes_last(
    refresh_while_the_admin_patches: AdminPatch,
    tokens: AccountTokens,
    account: dict[str, Any],
    fake: FakeZalo,
    client: testing.TestClient,
) -> None:
    refreshed: list[str] = []

    def a_pair() -> dict[str, str]:
        refreshed.append(fingerprint(fake.access_token, fake.refresh_token))
        return dict(zip(("access_token", "refresh_token"), fake.issue_pair(), strict=True))

    assert refresh_while_the_admin_patches(a_pair) == 200
    # Both pairs were recorded, one after the other; the admin's, the later, is in use.
    assert rotations(client, account) == [
        (actors.OUTBOX, refreshed[0]),
        ("agent:admin", fingerprint(fake.access_token, fake.refresh_token)),
    ]
    assert tokens.stored().tokens_fingerprint == fingerprint(fake.access_token, fake.refresh_token)
    assert tokens.in_use() == fake.access_token
    assert (fake.refresh_calls, fake.burned_reuse) == (1, 0)


def test_an_access_token_pasted_during_a_refresh_keeps_the_refresh_token_zalo_just_issued(
    refresh_while_the_admin_patches: AdminPatch, tokens: AccountTokens, fake: FakeZalo
) -> None:
    refresh_while_the_admin_patches(lambda: {"access_token": "at-from-the-admin"})
    kept = tokens.stored()
    assert (kept.access_token, kept.refresh_token) == ("at-from-the-admin", fake.refresh_token)
    tokens.refresh("at-from-the-admin")  # it still refreshes
    assert (fake.refresh_calls, fake.burned_reuse) == (2, 0)


def test_a_refresh_after_an_admin_pasted_a_pair_uses_that_pair(
    tokens: AccountTokens,
    account: dict[str, Any],
    fake: FakeZalo,
    client: testing.TestClient,
) -> None:
    stale = tokens.stored().access_token  # read by the outbox, then the admin acts
    access_token, refresh_token = fake.issue_pair()
    client.simulate_patch(
        f"/api/accounts/{account['id']}",
        json={"access_token": access_token, "refresh_token": refresh_token},
    )
    assert tokens.refresh(stale) == access_token
    assert (fake.refresh_calls, fake.burned_reuse) == (0, 0)
    assert rotations(client, account) == [("agent:admin", fingerprint(access_token, refresh_token))]


def echo_of(send: dict[str, Any], admin_id: str | None = None) -> dict[str, Any]:
    sender: dict[str, str] = {"id": zalo.OA_ID}
    if admin_id:
        sender["admin_id"] = admin_id
    return {
        "app_id": zalo.APP_ID,
        "sender": sender,
        "recipient": {"id": CUSTOMER},
        "event_name": "oa_send_text",
        "message": {"text": send["text"], "msg_id": send["message_id"]},
        "timestamp": zalo.now_ms(),
    }


def test_an_echo_before_the_send_returns_never_shows_twice(
    agent: Agent, fake: FakeZalo, platform: ZaloPlatform, services: Services, clock: FrozenClock
) -> None:
    answers: list[int] = []
    fake.on_send = lambda send: answers.append(platform.send(echo_of(send)).status_code)
    agent.reply("Một bản thôi")
    agent.deliver()
    assert answers == [200]
    clock.advance(31)  # past the settler's grace time
    bootstrap.workers(services).settler.tick()
    messages = agent.deliver()
    assert [(m["text"], m["status"]) for m in messages] == [("Một bản thôi", "sent")]


def test_a_send_that_outlasts_the_grace_time_is_recorded_sent_and_never_sent_again(
    agent: Agent, fake: FakeZalo, platform: ZaloPlatform, services: Services, clock: FrozenClock
) -> None:
    settler = bootstrap.workers(services).settler

    def echo_placed_before_the_send_returns(send: dict[str, Any]) -> None:
        fake.on_send = None
        assert platform.send(echo_of(send)).status_code == 200
        agent.project()
        clock.advance(31)  # Zalo is slow to answer: the settler places the echo first
        assert settler.tick() == 1

    fake.on_send = echo_placed_before_the_send_returns
    agent.reply("Gửi chậm một chút")
    agent.deliver()
    messages = agent.deliver()  # and the outbox's next rounds
    messages = agent.deliver()

    assert [s["text"] for s in fake.sent] == ["Gửi chậm một chút"]
    [ours] = [m for m in messages if m["author"] == "agent:admin"]
    assert (ours["status"], ours["zalo_msg_id"]) == ("sent", fake.sent[0]["message_id"])
    # Placed before it could be claimed, the echo shows as the OA's message, once.
    [echo] = [m for m in messages if m["author"] == actors.OA_MANAGER]
    assert (echo["text"], echo["zalo_msg_id"]) == ("Gửi chậm một chút", ours["zalo_msg_id"])


def test_a_message_typed_in_the_oa_manager_shows_as_the_oa(
    agent: Agent, platform: ZaloPlatform, services: Services, clock: FrozenClock
) -> None:
    typed = {"text": "Shop gửi mã giảm giá", "message_id": "abcdef0123456789abcd"}
    assert platform.send(echo_of(typed, admin_id="8471026")).status_code == 200
    [message] = agent.deliver()
    assert (message["text"], message["author"]) == ("Shop gửi mã giảm giá", "zalo:oa-manager")

    # Without admin_id, and unclaimed by our outbox, it shows once the grace time is over.
    other = {"text": "Từ một công cụ khác", "message_id": "bbbbbb0123456789abcd"}
    platform.send(echo_of(other))
    assert len(agent.deliver()) == 1
    clock.advance(31)
    bootstrap.workers(services).settler.tick()
    assert [m["text"] for m in agent.deliver()] == ["Shop gửi mã giảm giá", "Từ một công cụ khác"]


def receipt(event: str, msg_id: str) -> dict[str, Any]:
    message: dict[str, Any] = {"msg_ids": [msg_id]} if "seen" in event else {"msg_id": msg_id}
    return {
        "app_id": zalo.APP_ID,
        "sender": {"id": CUSTOMER},
        "recipient": {"id": zalo.OA_ID},
        "event_name": event,
        "message": message,
        "timestamp": zalo.now_ms(),
    }


def test_receipts_move_a_reply_forward_only(
    agent: Agent, fake: FakeZalo, platform: ZaloPlatform
) -> None:
    agent.reply("Đã nhận chưa?")
    agent.deliver()
    msg_id = fake.sent[0]["message_id"]
    platform.send(receipt("user_received_message", msg_id))
    assert agent.deliver()[0]["status"] == "delivered"
    platform.send(receipt("user_seen_message", msg_id))
    assert agent.deliver()[0]["status"] == "seen"
    platform.send(receipt("user_recieved_message", msg_id))  # late, and misspelt
    assert agent.deliver()[0]["status"] == "seen"


def test_the_chat_shows_when_the_reply_window_closes(agent: Agent) -> None:
    chat = agent.chat()
    [incoming] = [m for m in chat["messages"] if m["direction"] == "in"]
    closes = agent.client.simulate_get("/api/chats").json["chats"][0]["reply_window_closes_at"]
    assert parse_iso(closes) - parse_iso(incoming["sent_at"]) == timedelta(days=7)


def test_a_reply_queued_before_a_crash_is_sent_after_restart(
    agent: Agent, services: Services, settings: Settings, fake: FakeZalo
) -> None:
    agent.reply("Trước khi sập")
    agent.project()
    restarted = make_outbox(services, settings)
    assert restarted.recover() == 0
    send_queued(restarted)
    assert [s["text"] for s in fake.sent] == ["Trước khi sập"]


def test_a_reply_cut_off_mid_send_is_failed_visibly_not_resent(
    agent: Agent, services: Services, settings: Settings, fake: FakeZalo
) -> None:
    reply_id = agent.reply("Đang gửi thì sập").json["message_id"]
    agent.project()
    assert services.app.begin_send(reply_id) is not None  # the attempt began, then the crash
    restarted = make_outbox(services, settings)
    assert restarted.recover() == 1
    [message] = agent.deliver()
    assert message["status"] == "failed"
    assert "may or may not have reached" in message["error"]["reason"]
    assert fake.sent == []


def test_a_reply_on_a_removed_account_fails_once_with_the_reason(
    agent: Agent,
    account: dict[str, Any],
    client: testing.TestClient,
    fake: FakeZalo,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat_id = agent.chat()["id"]
    reply_id = agent.reply("Shop còn mở không ạ?").json["message_id"]
    agent.project()
    assert client.simulate_delete(f"/api/accounts/{account['id']}").status_code == 204
    caplog.set_level(logging.INFO)
    for _ in range(5):  # rounds of the outbox
        send_queued(agent.outbox)

    agent.project()
    [message] = [
        m
        for m in client.simulate_get(f"/api/chats/{chat_id}").json["messages"]
        if m["direction"] == "out"
    ]
    assert (message["id"], message["status"]) == (reply_id, "failed")
    assert message["error"] == {"code": None, "reason": ACCOUNT_REMOVED}
    events = audit(client, chat_id)
    assert [e["type"] for e in events].count("Reply.Failed") == 1
    assert fake.sent == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_anonymous_visitors_are_answered_in_their_conversation(
    client: testing.TestClient, project: Any, outbox: Outbox, platform: ZaloPlatform, fake: FakeZalo
) -> None:
    body = zalo.user_text("anon-55512", "Xin chào", conversation_id="conv-9")
    body["event_name"] = "anonymous_send_text"
    platform.send(body)
    Agent(client, project, outbox).reply("Chào bạn")
    Agent(client, project, outbox).deliver()
    assert fake.sent[0]["recipient"] == {"anonymous_id": "anon-55512", "conversation_id": "conv-9"}


def test_the_per_app_limit_holds_under_load(
    services: Services,
    settings: Settings,
    platform: ZaloPlatform,
    client: testing.TestClient,
    project: Any,
    fake: FakeZalo,
) -> None:
    for n in range(6):
        platform.text(f"31065970112203867{n:02d}", "hi")
    project()
    for chat in client.simulate_get("/api/chats").json["chats"]:
        for k in range(2):
            client.simulate_post(f"/api/chats/{chat['id']}/messages", json={"text": f"r{k}"})
    project()
    limited = make_outbox(services, settings, calls_per_window=4, window_seconds=0.3)
    send_queued(limited)
    assert len(fake.sent) == 12
    assert fake.calls_per_window(0.3) <= 4


def metric(client: testing.TestClient, name: str) -> float:
    """The value of one series of /metrics (0 when it has none yet)."""
    for line in client.simulate_get("/metrics").text.splitlines():
        if line.startswith(name + " ") or (
            line.startswith(name + "{") and line.split(" ")[0] == name
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_show_the_outbox_queue_and_sends_by_outcome(
    agent: Agent, client: testing.TestClient, fake: FakeZalo
) -> None:
    sent_before = metric(client, 'zalodesk_outbox_sends_total{outcome="sent"}')
    refused_before = metric(client, 'zalodesk_outbox_sends_total{outcome="refused_by_zalo"}')
    agent.reply("Dạ có ạ")
    agent.project()
    assert metric(client, "zalodesk_outbox_queue_replies") == 1
    agent.deliver()
    assert metric(client, "zalodesk_outbox_queue_replies") == 0
    assert metric(client, 'zalodesk_outbox_sends_total{outcome="sent"}') == sent_before + 1

    fake.fail_next(-230)  # outside the window of 7 days: not retried
    agent.reply("Một lần nữa")
    agent.deliver()
    assert (
        metric(client, 'zalodesk_outbox_sends_total{outcome="refused_by_zalo"}')
        == refused_before + 1
    )
    text = client.simulate_get("/metrics").text
    assert "process_cpu_seconds_total" in text
    assert (
        'zalodesk_http_requests_total{method="POST",route="/api/chats/{chat_id:uuid}/messages",status="202"}'
        in text
    )
