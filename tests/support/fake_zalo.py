"""A fake Zalo platform over real HTTP: the OA message API and OAuth, as the real platform behaves.

Typical use::

    with FakeZalo() as zalo:
        client = ZaloClient(zalo.api_base, zalo.oauth_base)
        zalo.fail_next(-230)              # script the next answer
        ...
        assert zalo.burned_reuse == 0     # no refresh token was ever used twice

Behaviour worth knowing when writing a race test:

- A send sleeps ``latency`` on arrival and is judged *after* it (token, rate limit,
  body), so a refresh during that sleep makes it fail with -216, as in life.
  ``on_send`` runs after the send is recorded and before the answer is written.
- A refresh is judged on arrival (the old access token dies at once) and its
  answer is delayed by ``refresh_latency``: the widest window in which another
  process still holds the dead pair. ``on_refresh`` runs after the judgement and
  before the answer, while the refreshing process waits.
- ``issue_pair`` is an admin getting a new pair in the API Explorer.
- Scripted failures (``fail_next``, ``http_error_next``, ``drop_next``) form one
  queue, consumed by message API calls in arrival order, before any check.
- The user-detail call answers the profiles given with ``set_profile``, and -213
  (does not follow the OA) for anyone else; ``fail_profile_next`` scripts its own queue.

The OAuth error codes (-14001, -14002, -14014) are stand-ins in Zalo's style.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Self
from urllib.parse import parse_qs

from tests.support.local_http import LocalServer, QuietHandler
from tests.support.zalo import APP_ID

SEND_PATH = "/v3.0/oa/message/cs"
USER_DETAIL_PATH = "/v3.0/oa/user/detail"
REFRESH_PATH = "/oauth/v4/oa/access_token"
MAX_TEXT = 2000

# The values the integration tests' account form connects with.
APP_SECRET = "app-secret-value"
ACCESS_TOKEN = "access-token-value"
REFRESH_TOKEN = "refresh-token-value"

BAD_REQUEST = -14001
BAD_APP = -14002
BAD_REFRESH_TOKEN = -14014

MESSAGES = {
    -216: "Access token is invalid",
    -220: "Access token has expired or has been removed",
    -32: "Request rate limit exceeded",
    -230: "User has not interacted with the OA in the last 7 days",
    -232: "The interaction window has expired",
    -213: "User has not followed OA",
    -227: "User is banned or has been inactive for more than 45 days",
    -234: "This message type can not be sent at night",
    -201: "Parameters are invalid",
    -211: "Out of quota",
    -218: "Reached the limit of messages to this user",
}

Send = dict[str, Any]


class FakeZalo:
    def __init__(
        self,
        app_id: str = APP_ID,
        app_secret: str = APP_SECRET,
        access_token: str = ACCESS_TOKEN,
        refresh_token: str = REFRESH_TOKEN,
        *,
        rate_limit: int | None = 4000,
        rate_window: float = 60.0,
        name_everyone: bool = False,
    ) -> None:
        # Unknown customers get a made-up profile rather than -213 (the benchmarks' Zalo).
        self.name_everyone = name_everyone
        self.app_id = app_id
        self.app_secret = app_secret
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.access_expired = False
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.latency = 0.0
        self.refresh_latency = 0.0
        self.expires_in = "90000"  # what a refresh answers, as Zalo writes it: a string
        self.on_send: Callable[[Send], None] | None = None
        self.on_refresh: Callable[[], None] | None = None
        self.sent: list[Send] = []
        self.send_times: list[float] = []  # time.time() of every message API call, failed or not
        self.refresh_calls = 0
        self.burned_reuse = 0
        self.burned: set[str] = set()
        self.lock = threading.Lock()
        self._script: deque[tuple[str, int, str | None]] = deque()
        self._refresh_script: deque[int] = deque()
        self.profiles: dict[str, dict[str, Any]] = {}
        self.profile_calls: list[str] = []  # the user id of every user-detail call
        self._profile_script: deque[tuple[str, int]] = deque()
        self._server: _Server | None = None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> Self:
        server = _Server(_Handler)
        server.fake = self
        # One per test: each stops without waiting out the default half-second poll.
        self._server = server.start(poll_interval=0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return self._server.port

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def oauth_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/oauth"

    # --- scripting -----------------------------------------------------------------

    def fail_next(self, code: int, times: int = 1, message: str | None = None) -> None:
        """Answer the next send(s) with ``{"error": code, "message": ...}``."""
        with self.lock:
            self._script.extend([("fail", code, message)] * times)

    def http_error_next(self, status: int = 500, times: int = 1) -> None:
        """Answer the next send(s) with this HTTP status and a body that is not JSON."""
        with self.lock:
            self._script.extend([("http", status, None)] * times)

    def drop_next(self, times: int = 1, delivered: bool = False) -> None:
        """Close the connection without answering; ``delivered``: after sending the message."""
        with self.lock:
            self._script.extend([("drop", int(delivered), None)] * times)

    def fail_refresh_next(self, times: int = 1, code: int = BAD_REFRESH_TOKEN) -> None:
        """Refuse the next refresh(es) with this code, rotating nothing."""
        with self.lock:
            self._refresh_script.extend([code] * times)

    def set_profile(self, user_id: str, display_name: str, avatar: str | None = None) -> None:
        """What the user-detail call answers for this customer, as Zalo writes it."""
        with self.lock:
            self.profiles[user_id] = _profile(user_id, display_name, avatar)

    def fail_profile_next(self, code: int | None = None, times: int = 1, status: int = 500) -> None:
        """Answer the next user-detail call(s) with ``{"error": code}``, or, without a code,
        with this HTTP status and a body that is not JSON."""
        with self.lock:
            self._profile_script.extend([("fail", code) if code else ("http", status)] * times)

    def issue_pair(self) -> tuple[str, str]:
        """A new access and refresh token, as the API Explorer gives an admin; the old die."""
        with self.lock:
            self.burned.add(self.refresh_token)
            self.access_token = f"at-explorer-{secrets.token_urlsafe(16)}"
            self.refresh_token = f"rt-explorer-{secrets.token_urlsafe(16)}"
            self.access_expired = False
            return self.access_token, self.refresh_token

    def expire_access_token(self) -> None:
        """The current access token now answers -220 (expired)."""
        with self.lock:
            self.access_expired = True

    def calls_per_window(self, seconds: float = 60.0) -> int:
        """The most message API calls seen in any window of this many seconds."""
        with self.lock:
            times = sorted(self.send_times)
        most, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= seconds:
                start += 1
            most = max(most, end - start + 1)
        return most

    # --- the message API -----------------------------------------------------------

    def handle_send(self, handler: _Handler, body: bytes) -> None:
        with self.lock:
            self.send_times.append(time.time())
            scripted = self._script.popleft() if self._script else None
        if self.latency:
            time.sleep(self.latency)
        kind, value, message = scripted or ("", 0, None)
        if kind == "http":
            handler.answer_text(value, "Internal Server Error")
            return
        if kind == "fail":
            handler.answer_json(
                {"error": value, "message": message or MESSAGES.get(value, "Error")}
            )
            return
        if kind == "drop" and not value:
            return  # the connection closes with no answer, and nothing was sent
        answer, record = self._judge_send(handler.headers.get("access_token"), body)
        if record is not None and self.on_send is not None:
            self.on_send(record)
        if kind != "drop":
            handler.answer_json(answer)

    def _judge_send(self, token: str | None, body: bytes) -> tuple[dict[str, Any], Send | None]:
        with self.lock:
            if token != self.access_token:
                return _error(-216), None
            if self.access_expired:
                return _error(-220), None
            if self.rate_limit is not None:
                since = time.time() - self.rate_window
                if sum(1 for at in self.send_times if at > since) > self.rate_limit:
                    return _error(-32), None
            parsed = _send_body(body)
            if parsed is None:
                return _error(-201), None
            recipient, text = parsed
            record: Send = {
                "recipient": recipient,
                "text": text,
                "access_token": token,
                "message_id": secrets.token_hex(10),
                "at": time.time(),
            }
            self.sent.append(record)
        user_id = recipient.get("user_id") or recipient.get("anonymous_id")
        sent_time = str(int(record["at"] * 1000))
        data = {"message_id": record["message_id"], "user_id": user_id, "sent_time": sent_time}
        return {"data": data, "error": 0, "message": "Success"}, record

    # --- the user-detail call ---------------------------------------------------------

    def handle_user_detail(self, handler: _Handler, query: str) -> None:
        with self.lock:
            self.send_times.append(time.time())
            scripted = self._profile_script.popleft() if self._profile_script else None
        if scripted is not None and scripted[0] == "http":
            handler.answer_text(scripted[1], "Internal Server Error")
            return
        if scripted is not None:
            handler.answer_json(_error(scripted[1]))
            return
        handler.answer_json(self._judge_user_detail(handler.headers.get("access_token"), query))

    def _judge_user_detail(self, token: str | None, query: str) -> dict[str, Any]:
        with self.lock:
            if token != self.access_token:
                return _error(-216)
            if self.access_expired:
                return _error(-220)
            try:
                data = json.loads(parse_qs(query).get("data", [""])[0], parse_int=str)
            except json.JSONDecodeError:
                return _error(-201)
            user_id = data.get("user_id") if isinstance(data, dict) else None
            if not isinstance(user_id, str) or not user_id:
                return _error(-201)
            self.profile_calls.append(user_id)
            profile = self.profiles.get(user_id)
        if profile is None and self.name_everyone:
            profile = _profile(user_id, f"Khách {user_id[-4:]}", None)
        if profile is None:
            return _error(-213)
        return {"data": profile, "error": 0, "message": "Success"}

    # --- OAuth ---------------------------------------------------------------------

    def handle_refresh(self, handler: _Handler, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        answer = self._judge_refresh(handler.headers.get("secret_key"), form)
        if self.on_refresh is not None:
            self.on_refresh()
        if self.refresh_latency:
            time.sleep(self.refresh_latency)
        handler.answer_json(answer)

    def _judge_refresh(self, secret: str | None, form: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self.refresh_calls += 1
            if self._refresh_script:
                return _oauth_error(self._refresh_script.popleft(), "Refresh refused (scripted)")
            if secret != self.app_secret:
                return _oauth_error(BAD_APP, "Invalid secret key")
            if form.get("app_id") != self.app_id:
                return _oauth_error(BAD_APP, "Invalid app_id")
            if form.get("grant_type") != "refresh_token":
                return _oauth_error(BAD_REQUEST, "Invalid grant_type")
            given = form.get("refresh_token", "")
            if given in self.burned:
                self.burned_reuse += 1
                return _oauth_error(BAD_REFRESH_TOKEN, "Refresh token has already been used")
            if given != self.refresh_token:
                return _oauth_error(BAD_REFRESH_TOKEN, "Invalid refresh token")
            self.burned.add(given)
            self.access_token = f"at-{secrets.token_urlsafe(24)}"
            self.refresh_token = f"rt-{secrets.token_urlsafe(24)}"
            self.access_expired = False
            return {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": self.expires_in,
            }


def _profile(user_id: str, display_name: str, avatar: str | None) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "display_name": display_name,
        "avatar": avatar,
        "avatars": {"120": avatar, "240": avatar} if avatar else {},
        "user_is_follower": True,
        "user_last_interaction_date": "21/11/2026",
        "shared_info": {},
    }


def _error(code: int) -> dict[str, Any]:
    return {"error": code, "message": MESSAGES.get(code, "Error")}


def _oauth_error(code: int, description: str) -> dict[str, Any]:
    return {
        "error": code,
        "error_name": description,
        "error_reason": description,
        "error_description": description,
    }


def _send_body(body: bytes) -> tuple[dict[str, str], str | None] | None:
    """The recipient and text of a well-formed send; None if Zalo would answer -201."""
    try:
        parsed = json.loads(body, parse_int=str)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    recipient = parsed.get("recipient") if isinstance(parsed, dict) else None
    message = parsed.get("message") if isinstance(parsed, dict) else None
    if not isinstance(recipient, dict) or not isinstance(message, dict):
        return None
    known = recipient.get("user_id") or (
        recipient.get("anonymous_id") and recipient.get("conversation_id")
    )
    text = message.get("text")
    has_text = isinstance(text, str) and 0 < len(text) <= MAX_TEXT
    if not known or not (has_text or "attachment" in message):
        return None
    return recipient, text


class _Server(LocalServer):
    request_queue_size = 128  # sixteen senders connect at once; the default 5 overflows
    fake: FakeZalo


class _Handler(QuietHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == SEND_PATH:
            self.server.fake.handle_send(self, body)
        elif self.path == REFRESH_PATH:
            self.server.fake.handle_refresh(self, body)
        else:
            self.answer_text(404, "Not Found")

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == USER_DETAIL_PATH:
            self.server.fake.handle_user_detail(self, query)
        else:
            self.answer_text(404, "Not Found")

    def answer_json(self, body: dict[str, Any], status: int = 200) -> None:
        self.answer(status, "application/json; charset=utf-8", json.dumps(body).encode())

    def answer_text(self, status: int, text: str) -> None:
        self.answer(status, "text/plain", text.encode())
