"""The agent console in a real headless Chromium, against ``zalodesk serve`` and a fake Zalo.

An agent signs in with a token made by ``zalodesk token create``; a customer writes and the
chat appears with the green indicator without a reload; the agent replies and watches the
tick move as Zalo's receipts arrive; a reply Zalo refuses shows its reason and is sent
again; the agent ends the chat with a status and finds it in the ticket list. Screenshots
of the main steps go to tests/e2e/screenshots/ (or ZALODESK_SCREENSHOTS).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import LAPTOP, PHONE, Browser, chromium_paths
from tests.e2e.server import ADMIN_TOKEN, Account, Service, run_cli, service_env, wait_for
from tests.support import zalo
from tests.support.databases import fresh_database
from tests.support.fake_zalo import ACCESS_TOKEN, APP_SECRET, REFRESH_TOKEN, FakeZalo
from tests.support.local_http import LocalServer, QuietHandler

ANNA = "3106597011220386741"
BINH = "3106597011220386742"
CUONG = "3106597011220386743"
DUNG = "3106597011220386744"
EM = "3106597011220386745"
NOT_FOLLOWING = -213


# --- the service, Zalo's side, a picture host and the browser -----------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeZalo]:
    with FakeZalo() as running:
        yield running


@pytest.fixture(scope="module")
def desk(fake: FakeZalo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``zalodesk serve`` whose Zalo is the fake."""
    chromium_paths()  # skip before starting anything when there is no browser
    folder = tmp_path_factory.mktemp("console")
    with fresh_database("zalodesk_console") as url:
        env = service_env(folder / "data", url)
        env["ZALODESK_ZALO_API_BASE"] = fake.api_base
        env["ZALODESK_ZALO_OAUTH_BASE"] = fake.oauth_base
        running = Service(env, logs=folder / "logs").start()
        try:
            yield running
        finally:
            running.stop()
        running.assert_no_tracebacks()


@pytest.fixture(scope="module")
def account(desk: Service) -> Account:
    return desk.connect_account(
        access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN, app_secret=APP_SECRET
    )


@pytest.fixture(scope="module")
def agent_token(desk: Service) -> str:
    """A token as the README tells an administrator to make one."""
    made = run_cli(desk.env, "token", "create", "lan")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@pytest.fixture(scope="module")
def pictures() -> Iterator[str]:
    """A picture host standing in for Zalo's: any path is a small PNG."""
    with LocalServer(_Picture) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser(desk: Service, agent_token: str) -> Iterator[Browser]:
    opened = Browser(f"http://127.0.0.1:{desk.port}")
    try:
        sign_in(opened, agent_token)
        yield opened
    finally:
        opened.quit()


# --- what the tests say --------------------------------------------------------------


def sign_in(browser: Browser, token: str) -> None:
    browser.open("/")
    browser.type("#token", token)
    browser.click("#signin-button")
    browser.wait_shown("#tab-tickets", "the console after signing in")


def needs(desk: Service, path: str, part: str) -> None:
    """Skip, naming the endpoint, when the service does not have it yet."""
    if path not in desk.get("/openapi.json").json()["paths"]:
        pytest.skip(f"{path} is not on this service yet ({part} of issue 12)")


def chat_of(desk: Service, account: Account, customer: str) -> dict[str, Any] | None:
    found = [c for c in desk.chats(account.id) if c["customer"]["zalo_user_id"] == customer]
    return found[0] if found else None


def item(browser: Browser, chat_id: str) -> Any:
    return browser.shown(f'.chat-item[data-chat-id="{chat_id}"]')


def message(browser: Browser, message_id: str) -> Any:
    return browser.shown(f'#transcript .message[data-message-id="{message_id}"]')


def status_of(browser: Browser, message_id: str) -> str | None:
    shown = message(browser, message_id)
    return shown.get_attribute("data-status") if shown is not None else None


def receipt(account: Account, customer: str, event: str, msg_id: str) -> dict[str, Any]:
    body = zalo.user_text(customer, "")
    body["event_name"] = event
    body["message"] = {"msg_ids": [msg_id]} if "seen" in event else {"msg_id": msg_id}
    body["app_id"] = account.form["app_id"]
    body["recipient"] = {"id": account.form["oa_id"]}
    return body


def attachment(
    account: Account, customer: str, kind: str, payload: dict[str, Any], **more: Any
) -> dict[str, Any]:
    body = zalo.user_attachment(customer, f"user_send_{kind}", kind, payload, **more)
    body["app_id"] = account.form["app_id"]
    body["recipient"] = {"id": account.form["oa_id"]}
    return body


def reply(browser: Browser, desk: Service, chat_id: str, text: str, becomes: str) -> str:
    """Type and send a reply; its message id, once the transcript shows it ``becomes``."""
    browser.type("#reply-text", text)
    browser.click("#reply-send")

    def found() -> dict[str, Any] | None:
        messages = desk.admin_get(f"/api/chats/{chat_id}")["messages"]
        return next((m for m in messages if m["direction"] == "out" and m["text"] == text), None)

    message_id = str(wait_for(found, 20, f"the reply {text!r}")["id"])
    browser.wait(lambda: status_of(browser, message_id) == becomes, f"the reply {becomes}")
    return message_id


def refused(browser: Browser, desk: Service, fake: FakeZalo, chat_id: str, text: str) -> str:
    """A reply Zalo refuses (the customer does not follow the OA), shown as failed."""
    fake.fail_next(NOT_FOLLOWING)
    return reply(browser, desk, chat_id, text, "failed")


def receipted(
    browser: Browser, fake: FakeZalo, account: Account, message_id: str, event: str, shows: str
) -> None:
    """Zalo's receipt for the last message it took, and the tick it moves."""
    last = fake.sent[-1]
    customer = last["recipient"]["user_id"]
    assert account.send(receipt(account, customer, event, last["message_id"])).status == 200
    browser.wait(lambda: status_of(browser, message_id) == shows, f"the {shows} ticks")


# --- the scenarios -------------------------------------------------------------------


def test_an_agent_answers_a_chat_live_and_finds_it_in_the_ticket_list(
    desk: Service, account: Account, fake: FakeZalo, browser: Browser, pictures: str
) -> None:
    needs(desk, "/api/stream/tokens", "the live stream")
    browser.wait(lambda: browser.find("#live").text == "live", "the stream to connect")
    browser.script("window.signedInOnce = true")
    browser.shot("01-signed-in")

    # A customer writes: the chat appears, green, without a reload, and her Zalo name
    # once the worker has asked Zalo for it.
    fake.set_profile(ANNA, "Trần Ngọc Anh", f"{pictures}/anh.png")
    assert (
        account.send(account.text(ANNA, "Chào shop, đơn hàng #1042 của tôi chưa tới")).status == 200
    )
    chat = wait_for(lambda: chat_of(desk, account, ANNA), 20, "Anna's chat")
    shown = browser.wait(lambda: item(browser, chat["id"]), "Anna's chat in the inbox")
    assert "new" in shown.get_attribute("class").split()
    assert browser.find("#indicator").is_displayed() and int(browser.find("#indicator").text) >= 1
    assert "waiting" in shown.text
    browser.wait(lambda: "Trần Ngọc Anh" in item(browser, chat["id"]).text, "her name")
    avatar = browser.find(f'.chat-item[data-chat-id="{chat["id"]}"] img.avatar')
    assert avatar.get_attribute("src") == f"{pictures}/anh.png"
    assert browser.script("return window.signedInOnce") is True, "the page was reloaded"
    photo = {"url": f"{pictures}/kho.png", "thumbnail": f"{pictures}/kho-small.png"}
    assert (
        account.send(attachment(account, ANNA, "image", photo, text="Ảnh kiện hàng")).status == 200
    )
    browser.shot("02-new-chat")

    # The agent opens it and replies; Zalo's receipts move the tick.
    browser.click(f'.chat-item[data-chat-id="{chat["id"]}"] a')
    browser.wait(lambda: browser.shown("#transcript .message.kind-image img"), "the photo")
    sent = reply(browser, desk, chat["id"], "Dạ, shop kiểm tra ngay ạ", "sent")
    receipted(browser, fake, account, sent, "user_received_message", "delivered")
    receipted(browser, fake, account, sent, "user_seen_message", "seen")
    browser.shot("03-ticks")

    # Zalo refuses the next reply: it shows, with the reason.
    failed = refused(browser, desk, fake, chat["id"], "Mã vận đơn là VN123456")
    reason = message(browser, failed).find_element("css selector", ".reason").text
    assert "does not follow the OA" in reason
    browser.click("#mark-read")
    browser.wait(
        lambda: not item(browser, chat["id"]).find_elements("css selector", ".unread"), "read"
    )
    browser.shot("04-failed-reply")

    # The agent ends the chat as pending and finds it in the ticket list.
    browser.choose("#end-status", "pending")
    browser.click("#end-chat")
    browser.wait(lambda: item(browser, chat["id"]) is None, "the chat to leave the inbox")
    browser.click("#tab-tickets")
    ticket = browser.wait(
        lambda: browser.shown(f'.ticket-item[data-ticket-id="{chat["ticket_id"]}"]'), "the ticket"
    )
    assert ticket.get_attribute("data-status") == "pending"
    browser.choose("#status-filter", "pending")
    browser.wait(
        lambda: browser.shown(f'.ticket-item[data-ticket-id="{chat["ticket_id"]}"]'),
        "the ticket under its status",
    )
    browser.click(f'.ticket-item[data-ticket-id="{chat["ticket_id"]}"] a')
    browser.wait_shown("#status-history li", "the status history")
    history = [e.get_attribute("data-status") for e in browser.find_all("#status-history li")]
    assert history == ["new", "pending"], history
    assert "Mã vận đơn là VN123456" in browser.find("#ticket-sessions").text
    browser.shot("05-ticket")
    browser.click("#ticket-assign-me")
    browser.wait(lambda: "assigned to lan" in browser.find("#ticket-meta").text, "the ticket taken")
    browser.choose("#ticket-status", "closed")
    browser.click("#ticket-set-status")
    browser.wait(
        lambda: (
            [e.get_attribute("data-status") for e in browser.find_all("#status-history li")]
            == ["new", "pending", "closed"]
        ),
        "the ticket closed",
    )
    browser.choose("#status-filter", "")


def test_a_failed_reply_is_sent_again(
    desk: Service, account: Account, fake: FakeZalo, browser: Browser
) -> None:
    needs(desk, "/api/replies/{reply_id}/retry", "replies that failed")
    assert account.send(account.text(BINH, "Shop ơi")).status == 200
    chat = wait_for(lambda: chat_of(desk, account, BINH), 20, "Binh's chat")
    browser.open(f"/#/inbox/{chat['id']}")
    failed = refused(browser, desk, fake, chat["id"], "Shop đây ạ")
    browser.click(f'#transcript .message[data-message-id="{failed}"] .retry')
    browser.wait(lambda: status_of(browser, failed) == "sent", "the reply sent again")
    assert [s["text"] for s in fake.sent][-1] == "Shop đây ạ"
    browser.shot("06-retried")


def test_the_stream_reopens_after_the_last_event_it_saw(
    desk: Service, account: Account, browser: Browser
) -> None:
    needs(desk, "/api/stream/tokens", "the live stream")
    browser.open("/#/inbox")
    browser.wait(lambda: browser.find("#live").text == "live", "the stream to connect")
    assert account.send(account.text(EM, "Alo shop")).status == 200
    chat = wait_for(lambda: chat_of(desk, account, EM), 20, "Em's chat")
    browser.wait(lambda: item(browser, chat["id"]), "Em's chat, live")
    seen = browser.wait(lambda: browser.script("return state.lastEventId"), "an event id")

    # The connection breaks (as when its short-lived token has expired at a reconnect).
    browser.script("state.stream.dispatchEvent(new Event('error'))")
    browser.wait(
        lambda: (
            f"last_event_id={seen}"
            in browser.script("return (state.stream && state.stream.url) || ''")
        ),
        "a new stream from the last event seen",
    )
    browser.wait(lambda: browser.find("#live").text == "live", "the stream again")
    assert account.send(account.text(EM, "Còn đó không?")).status == 200
    browser.wait(
        lambda: "Còn đó không?" in item(browser, chat["id"]).text, "the next message, live"
    )


def test_every_kind_of_message_shows(
    desk: Service, account: Account, browser: Browser, pictures: str
) -> None:
    for body in (
        account.text(CUONG, "Tôi gửi mấy thứ"),
        attachment(account, CUONG, "sticker", {"id": "s1", "url": f"{pictures}/sticker.png"}),
        attachment(
            account,
            CUONG,
            "file",
            {"url": f"{pictures}/hd.pdf", "name": "hop-dong.pdf", "size": "4443", "type": "pdf"},
        ),
        attachment(
            account,
            CUONG,
            "location",
            {"coordinates": {"latitude": "10.7642473", "longitude": "106.6564313"}},
        ),
        attachment(
            account,
            CUONG,
            "business_card",
            {
                "thumbnail": f"{pictures}/an.png",
                "url": "https://zalo.me/0912345678",
                "description": '{"phone":"0912345678","qrCodeUrl":"https://qr.zalo.me/c/an"}',
            },
            text="Nguyễn Văn An",
        ),
    ):
        assert account.send(body).status == 200

    def all_five() -> dict[str, Any] | None:
        chat = chat_of(desk, account, CUONG)
        if chat is None or len(desk.admin_get(f"/api/chats/{chat['id']}")["messages"]) < 5:
            return None
        return chat

    chat = wait_for(all_five, 20, "Cuong's five messages")
    browser.open(f"/#/inbox/{chat['id']}")
    sticker = browser.wait_shown("#transcript .kind-sticker img", "the sticker")
    browser.wait(
        lambda: browser.script("return arguments[0].naturalWidth", sticker) > 0, "the sticker drawn"
    )
    file = browser.find("#transcript .kind-file a")
    assert file.get_attribute("href") == f"{pictures}/hd.pdf" and "hop-dong.pdf" in file.text
    location = browser.find("#transcript .kind-location a")
    assert "10.7642473" in location.get_attribute("href") and "106.6564313" in location.text
    card = browser.find("#transcript .kind-business_card").text
    assert "Nguyễn Văn An" in card and "0912345678" in card
    browser.shot("07-message-kinds")


def test_the_console_is_usable_at_a_phone_width(
    desk: Service, account: Account, browser: Browser
) -> None:
    assert account.send(account.text(ANNA, "Còn ai không?")).status == 200
    chat = wait_for(lambda: chat_of(desk, account, ANNA), 20, "Anna's new chat")
    browser.size(*PHONE)
    try:
        browser.open("/#/inbox")
        browser.wait(lambda: item(browser, chat["id"]), "the chat at a phone's width")
        assert browser.shown("#transcript") is None, "one pane at a time"
        assert browser.script("return document.documentElement.scrollWidth <= window.innerWidth")
        browser.shot("08-phone-inbox")
        browser.click(f'.chat-item[data-chat-id="{chat["id"]}"] a')
        browser.wait_shown("#reply-text", "the reply box")
        assert browser.shown("#chat-list") is None and browser.shown(".back") is not None
        assert browser.script("return document.documentElement.scrollWidth <= window.innerWidth")
        browser.shot("09-phone-chat")
        browser.click(".back")
        browser.wait_shown("#chat-list", "the list again")
    finally:
        browser.size(*LAPTOP)


def test_signing_out_forgets_the_token(desk: Service, agent_token: str, browser: Browser) -> None:
    browser.click("#sign-out")
    browser.wait_shown("#token", "the sign-in form")
    assert browser.script("return sessionStorage.length") == 0
    browser.open("/")
    browser.wait_shown("#token", "the sign-in form after a reload")
    browser.type("#token", "not-a-token")
    browser.click("#signin-button")
    error = browser.wait_shown("#signin-error", "the refusal")
    assert "valid API token" in error.text
    sign_in(browser, agent_token)


def test_a_revoked_token_signs_the_agent_out(
    desk: Service, account: Account, agent_token: str, browser: Browser
) -> None:
    issued = desk.post("/api/tokens", {"name": "mai"}, token=ADMIN_TOKEN)
    assert issued.status == 201, issued.text
    browser.click("#sign-out")
    sign_in(browser, issued.json()["token"])
    revoked = desk.request("DELETE", f"/api/tokens/{issued.json()['id']}", token=ADMIN_TOKEN)
    assert revoked.status == 204, revoked.text
    assert account.send(account.text(EM, "Shop ơi, còn hàng không?")).status == 200
    browser.wait_shown("#token", "the sign-in form, live or at the next poll")
    assert "Signed out" in browser.wait_shown(".toast.error", "why").text
    assert browser.script("return sessionStorage.length") == 0
    sign_in(browser, agent_token)


# --- the page as files, over HTTP ----------------------------------------------------


def test_the_page_and_its_files_are_served_with_cache_headers(live: Service) -> None:
    page = live.get("/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-cache"
    assert "//" not in page.text.replace("<!DOCTYPE", ""), "the page loads nothing from elsewhere"
    again = live.get("/", headers={"If-None-Match": page.headers["etag"]})
    assert again.status == 304 and again.body == b""
    script = live.get("/web/app.js")
    assert script.status == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "new EventSource(" in script.text and "sessionStorage" in script.text
    style = live.get("/web/app.css")
    assert style.status == 200 and style.headers["content-type"].startswith("text/css")
    assert "@media (max-width" in style.text
    missing = live.get("/web/nothing.js")
    assert missing.status == 404 and missing.json()["title"] == "Not found"
    paths = live.get("/openapi.json").json()["paths"]
    assert {"/", "/web/{name}.js", "/web/{name}.css"} <= set(paths)
    assert paths["/"]["get"]["security"] == []


# A picture host's answers


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# One colour per path, so that pictures (and avatars) tell apart.
PICTURES = [
    _png(160, 120, rgb)
    for rgb in ((242, 176, 80), (94, 160, 222), (120, 190, 120), (214, 120, 150), (150, 130, 210))
]


class _Picture(QuietHandler):
    def do_GET(self) -> None:
        self.answer(200, "image/png", PICTURES[zlib.crc32(self.path.encode()) % len(PICTURES)])


@pytest.mark.slow
def test_a_chat_about_to_end_counts_down_and_is_postponed(desk: Service, browser: Browser) -> None:
    quick = desk.connect_account(
        access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN, chat_inactivity_seconds=60
    )
    assert quick.send(quick.text(DUNG, "Alo?")).status == 200
    chat = wait_for(lambda: chat_of(desk, quick, DUNG), 20, "Dung's chat")
    browser.open("/#/inbox")
    ending = browser.wait(
        lambda: (
            (shown := item(browser, chat["id"]))
            and "ending" in shown.get_attribute("class").split()
            and shown
        ),
        "the chat's last minutes",
        seconds=70,
    )
    assert "ends in" in ending.find_element("css selector", ".ends").text
    browser.shot("10-ending-soon")
    browser.click(f'.chat-item[data-chat-id="{chat["id"]}"] .postpone-item')
    browser.wait(
        lambda: "ending" not in item(browser, chat["id"]).get_attribute("class").split(),
        "the chat postponed",
    )

    # Where the account does not allow it, the agent is told so and the button goes.
    strict = desk.connect_account(
        access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN, allow_postpone=False
    )
    assert strict.send(strict.text(DUNG, "Alo?")).status == 200
    other = wait_for(lambda: chat_of(desk, strict, DUNG), 20, "Dung's other chat")
    browser.open(f"/#/inbox/{other['id']}")
    browser.click("#postpone")
    refusal = browser.wait_shown(".toast.error", "the refusal")
    assert "Conflict" in refusal.text
    browser.wait(lambda: browser.shown("#postpone") is None, "the button gone")


# The next first-page request of the inbox (a refresh) is answered only when the test calls
# window.refreshHeld(); window.inboxLoads counts the inbox's requests answered since.
HOLD_NEXT_REFRESH = """
const send = window.fetch;
window.refreshHeld = null;
window.inboxLoads = 0;
window.fetch = async (url, options) => {
  const path = String(url);
  if (!path.startsWith("/api/chats?") && path !== "/api/chats") return send(url, options);
  const refresh = !path.includes("cursor=") && window.refreshHeld === null;
  let release = () => {};
  const released = new Promise((resolve) => { release = resolve; });
  if (refresh) window.refreshHeld = release; else release();
  const answer = await send(url, options);
  await released;
  window.inboxLoads += 1;
  return answer;
};
"""


def test_an_agent_takes_a_chat_filters_the_inbox_and_pages_on(
    desk: Service, account: Account, browser: Browser
) -> None:
    needs(desk, "/api/chats/{chat_id}/assign", "the inbox for real teams")
    customers = [f"31065970112204{n:05d}" for n in range(55)]
    for customer in customers:
        assert account.send(account.text(customer, "Cho tôi hỏi giá")).status == 200
    chat = wait_for(lambda: chat_of(desk, account, customers[-1]), 20, "the last one's chat")

    browser.open("/#/inbox")
    browser.wait(lambda: len(browser.find_all(".chat-item")) == 50, "the first page")
    # A live refresh still on its way when the agent asks for more must not take the
    # page they asked for away again: the refresh's answer is held until both are asked.
    browser.script(HOLD_NEXT_REFRESH)
    browser.script("refresh()")
    browser.wait(lambda: browser.script("return window.refreshHeld !== null"), "the refresh sent")
    browser.click("#chats-more")
    browser.script("window.refreshHeld()")
    browser.wait(lambda: browser.script("return window.inboxLoads") >= 2, "both answered")
    browser.wait(lambda: len(browser.find_all(".chat-item")) > 50, "the next page")
    shown = [i.get_attribute("data-chat-id") for i in browser.find_all(".chat-item")]
    assert len(shown) == len(set(shown)), "a chat listed twice"

    browser.click(f'.chat-item[data-chat-id="{chat["id"]}"] a')
    browser.click("#assign-me")
    browser.wait(lambda: "assigned to lan" in browser.find("#chat-meta").text, "the chat taken")
    browser.choose("#assignee-filter", "me")
    browser.wait(lambda: len(browser.find_all(".chat-item")) == 1, "only the agent's chat")
    assert item(browser, chat["id"]) is not None
    assert "(1)" in browser.find('#assignee-filter option[value="me"]').text
    browser.choose("#assignee-filter", "none")
    browser.wait(lambda: item(browser, chat["id"]) is None, "the unassigned without it")
    browser.choose("#chat-account-filter", account.id)
    browser.choose("#assignee-filter", "")
    browser.wait(lambda: item(browser, chat["id"]) is not None, "the account's chats")
    browser.choose("#chat-account-filter", "")

    # Their chats ended, the ticket list pages on too.
    for customer in customers:
        found = chat_of(desk, account, customer)
        if found is not None:
            ended = desk.post(f"/api/chats/{found['id']}/end", {}, token=ADMIN_TOKEN)
            assert ended.status == 200, ended.text
    browser.click("#tab-tickets")
    browser.wait(lambda: len(browser.find_all(".ticket-item")) == 50, "the first tickets")
    browser.click("#tickets-more")
    browser.wait(lambda: len(browser.find_all(".ticket-item")) > 50, "the next tickets")
    browser.click("#tab-inbox")


def test_the_readme_picture(desk: Service, fake: FakeZalo, browser: Browser, pictures: str) -> None:
    """tests/e2e/console.png is this step's screenshot: a shop's busy inbox, one chat open."""
    shop = desk.connect_account(
        name="Hoa Sen Shop", access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN
    )
    for earlier in desk.chats():  # the other tests' chats, out of the picture
        desk.post(f"/api/chats/{earlier['id']}/end", {}, token=ADMIN_TOKEN)
    giang, hai, khanh = "3106597011220386791", "3106597011220386792", "3106597011220386793"
    for customer, name in ((giang, "Nguyễn Thu Giang"), (hai, "Lê Văn Hải"), (khanh, "Phạm Khánh")):
        fake.set_profile(customer, name, f"{pictures}/{customer}.png")
    assert shop.send(shop.text(hai, "Shop có giao hàng ra Đà Nẵng không?")).status == 200
    assert shop.send(shop.text(khanh, "Cho mình đổi size áo M sang L nhé")).status == 200
    assert shop.send(shop.text(giang, "Chào shop, mình nhận được hàng rồi")).status == 200
    photo = {"url": f"{pictures}/ao.png", "thumbnail": f"{pictures}/ao-small.png"}
    body = attachment(shop, giang, "image", photo, text="Nhưng áo bị lỗi đường may")
    assert shop.send(body).status == 200
    chat = wait_for(lambda: chat_of(desk, shop, giang), 20, "Giang's chat")
    wait_for(lambda: chat_of(desk, shop, khanh), 20, "Khanh's chat")
    browser.open(f"/#/inbox/{chat['id']}")
    browser.wait(lambda: browser.shown("#transcript .message.kind-image img"), "the photo")
    sent = reply(browser, desk, chat["id"], "Dạ shop xin lỗi bạn, shop đổi áo mới ngay ạ", "sent")
    receipted(browser, fake, shop, sent, "user_seen_message", "seen")
    refused(browser, desk, fake, chat["id"], "Bạn gửi giúp shop địa chỉ nhận hàng nhé")
    browser.wait(lambda: len(browser.find_all(".chat-item")) == 3, "the shop's three chats")
    browser.wait(lambda: "Phạm Khánh" in browser.find("#chat-list").text, "the customers' names")
    browser.script("document.getElementById('toasts').replaceChildren()")
    browser.shot("console")
