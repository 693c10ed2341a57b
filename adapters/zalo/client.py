"""The Zalo OA Open API: sending a consultation message, reading a customer's profile,
and refreshing tokens.

Two kinds of failure, because the caller does different things with them:

- ``ZaloError``: Zalo answered, with a non-zero ``error`` code. Whether to refresh
  the token, back off, or give up is decided by the code (``REASONS``).
- ``ZaloUnavailable``: no usable answer (network error, timeout, HTTP 5xx or 429,
  a body that is not a JSON object): retry with backoff. For a refresh, Zalo may
  have rotated the pair before the answer was lost.

Every JSON number is parsed as its text, so that ids beyond 2^53 stay exact.
No token or secret is ever put into an exception message.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from attrs import frozen

from domain.account import TOKEN_SECONDS

SEND_PATH = "/v3.0/oa/message/cs"
USER_DETAIL_PATH = "/v3.0/oa/user/detail"
REFRESH_PATH = "/v4/oa/access_token"
DEFAULT_EXPIRES_IN = 90_000  # 25 hours, what Zalo issues

REASONS: dict[int, str] = {
    -216: "Zalo refused the OA's access token as invalid: reconnect the Zalo account.",
    -220: "The OA's access token has expired or was removed: reconnect the Zalo account.",
    -32: "Zalo's rate limit was reached (4,000 calls a minute per app).",
    -230: (
        "The customer has not interacted with the OA in the last 7 days: "
        "the chat is outside Zalo's reply window."
    ),
    -232: "The customer's reply window has expired: the chat is outside Zalo's reply window.",
    -213: "The customer does not follow the OA.",
    -227: "The customer's Zalo account is banned or has been inactive for over 45 days.",
    -234: "Zalo does not allow this message at night (22:00-06:00).",
    -201: "Zalo rejected the message: a parameter is invalid.",
    -211: "The OA is out of its Zalo sending quota.",
    -218: "The limit of messages to this customer has been reached.",
}


def human_reason(code: int, message: str) -> str:
    """What an agent should read for this failure: the table's reason, else Zalo's own words."""
    return REASONS.get(code) or message or f"Zalo error {code}"


class ZaloError(Exception):
    """Zalo answered with an error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Zalo error {code}: {message}")
        self.code = code
        self.message = message


class ZaloUnavailable(Exception):
    """No usable answer from Zalo: a network error, a timeout, HTTP 5xx, or a body that is not JSON."""


@frozen
class Recipient:
    """A logged-in customer (``user_id``), or an anonymous visitor with their conversation."""

    user_id: str | None = None
    anonymous_id: str | None = None
    conversation_id: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.user_id and not (self.anonymous_id and self.conversation_id):
            raise ValueError("a recipient needs user_id, or anonymous_id with conversation_id")

    def as_json(self) -> dict[str, str]:
        if self.user_id:
            return {"user_id": self.user_id}
        assert self.anonymous_id and self.conversation_id
        return {"anonymous_id": self.anonymous_id, "conversation_id": self.conversation_id}


@frozen
class Profile:
    """What the user-detail call tells of a customer: each part None when Zalo leaves it out."""

    display_name: str | None
    avatar: str | None


@frozen
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


class ZaloClient:
    """Thread-safe: every call opens its own connection."""

    def __init__(self, api_base: str, oauth_base: str, timeout: float = 10.0) -> None:
        self.api_base = _checked_base(api_base)
        self.oauth_base = _checked_base(oauth_base)
        self.timeout = timeout

    def send_text(self, access_token: str, recipient: Recipient, text: str) -> str:
        """Send a consultation text; Zalo's ``message_id`` (always a string)."""
        body = json.dumps({"recipient": recipient.as_json(), "message": {"text": text}})
        headers = {"access_token": access_token, "Content-Type": "application/json"}
        answer = self._call(
            "POST", self.api_base + SEND_PATH, body.encode(), headers, [access_token]
        )
        _raise_for_error(answer, [access_token])
        data = answer.get("data")
        message_id = data.get("message_id") if isinstance(data, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise ZaloUnavailable("Zalo answered success without data.message_id")
        return message_id

    def user_detail(self, access_token: str, user_id: str) -> Profile:
        """A customer's display name and avatar (``GET /v3.0/oa/user/detail``)."""
        query = urlencode({"data": json.dumps({"user_id": user_id})})
        url = f"{self.api_base}{USER_DETAIL_PATH}?{query}"
        answer = self._call("GET", url, None, {"access_token": access_token}, [access_token])
        _raise_for_error(answer, [access_token])
        data = answer.get("data")
        if not isinstance(data, dict):
            raise ZaloUnavailable("Zalo answered success without data")
        return Profile(display_name=_text(data.get("display_name")), avatar=_avatar(data))

    def refresh(self, app_id: str, app_secret: str, refresh_token: str) -> TokenPair:
        """Trade the (single-use) refresh token for a new pair; the old access token dies."""
        form = {"app_id": app_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
        headers = {"secret_key": app_secret, "Content-Type": "application/x-www-form-urlencoded"}
        hidden = [app_secret, refresh_token]
        answer = self._call(
            "POST", self.oauth_base + REFRESH_PATH, urlencode(form).encode(), headers, hidden
        )
        access_token = answer.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            words = answer.get("error_description") or answer.get("error_reason")
            message = str(words or answer.get("message") or "no access_token in the answer")
            raise ZaloError(_code(answer.get("error", "-1")), _scrub(message, hidden))
        # The old refresh token may be burned by now: never lose a pair Zalo issued.
        new_refresh = answer.get("refresh_token")
        return TokenPair(
            access_token=access_token,
            refresh_token=new_refresh
            if isinstance(new_refresh, str) and new_refresh
            else refresh_token,
            expires_in=_expires_in(answer.get("expires_in")),
        )

    def _call(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], hidden: list[str]
    ) -> dict[str, Any]:
        what = f"{method} {_path(url)}"
        status, raw = self._exchange(method, url, body, {**headers, "User-Agent": "zalodesk"})
        if status >= 500 or status == 429:
            raise ZaloUnavailable(f"Zalo answered HTTP {status} to {what}")
        try:
            answer = json.loads(raw.decode("utf-8"), parse_int=str)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ZaloUnavailable(f"Zalo's answer to {what} is not JSON") from None
        if not isinstance(answer, dict):
            raise ZaloUnavailable(f"Zalo's answer to {what} is not a JSON object")
        if status >= 400 and "error" not in answer and "access_token" not in answer:
            raise ZaloError(-1, _scrub(f"HTTP {status} from {what}", hidden))
        return answer

    def _exchange(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.netloc, timeout=self.timeout)
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            raise ZaloUnavailable(
                f"no answer from Zalo to {method} {parts.path}: {type(error).__name__}"
            ) from None
        finally:
            connection.close()


def _checked_base(base: str) -> str:
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ValueError(f"not an http(s) base URL: {base!r}")
    return base.rstrip("/")


def _raise_for_error(answer: dict[str, Any], hidden: list[str]) -> None:
    if "error" not in answer:
        raise ZaloError(-1, "Zalo's answer has no error code")
    code = _code(answer["error"])
    if code != 0:
        raise ZaloError(code, _scrub(str(answer.get("message") or ""), hidden))


def _code(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ZaloUnavailable("Zalo answered with an unreadable error code") from None


def _expires_in(value: Any) -> int:
    """Zalo's lifetime of the new access token; what no real token lives reads as the usual."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return DEFAULT_EXPIRES_IN
    return seconds if seconds in TOKEN_SECONDS else DEFAULT_EXPIRES_IN


def _scrub(text: str, hidden: list[str]) -> str:
    for secret in hidden:
        if secret:
            text = text.replace(secret, "***")
    return text


# A display name or an avatar URL longer than these is cut: they are shown, never parsed.
NAME_LIMIT = 200
URL_LIMIT = 2000


def _text(value: Any) -> str | None:
    """Zalo's text as a view can hold it (no U+0000), or None when there is none."""
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()[:NAME_LIMIT]
    return cleaned or None


def _avatar(data: dict[str, Any]) -> str | None:
    """The avatar's URL: ``avatar``, else the largest of ``avatars``; only an http(s) URL,
    since agents' browsers load it."""
    sizes = data.get("avatars")
    candidates = [data.get("avatar")]
    if isinstance(sizes, dict):
        candidates += [sizes[k] for k in sorted(sizes, key=_size, reverse=True)]
    for url in candidates:
        if (
            isinstance(url, str)
            and url.startswith(("https://", "http://"))
            and len(url) <= URL_LIMIT
        ):
            return url
    return None


def _size(key: str) -> int:
    return int(key) if key.isdigit() else 0


def _path(url: str) -> str:
    return urlsplit(url).path
