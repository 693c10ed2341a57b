"""Settings from the environment (the README's table), read once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from attrs import frozen
from psycopg.conninfo import conninfo_to_dict

from domain.account import CHAT_INACTIVITY_SECONDS


class SettingsError(ValueError):
    """A setting has a value zalodesk cannot use."""


DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEFAULT_ZALO_API_BASE = "https://openapi.zalo.me"
DEFAULT_ZALO_OAUTH_BASE = "https://oauth.zaloapp.com"
DEFAULT_STREAM_BIND = "127.0.0.1:8001"


@frozen
class Settings:
    database_url: str | None = None
    data_dir: Path = Path(".zalodesk")
    admin_token: str | None = None
    public_url: str = DEFAULT_PUBLIC_URL
    zalo_api_base: str = DEFAULT_ZALO_API_BASE
    zalo_oauth_base: str = DEFAULT_ZALO_OAUTH_BASE
    chat_inactivity_seconds: int = 600
    cipher_key: str | None = None
    # Threads per gunicorn worker: `zalodesk serve` and `api` set it for their workers.
    web_threads: int = 1
    # The live stream server's HOST:PORT (unset: the API's port + 1, set by `serve`), and
    # the base URL the API's GET /api/stream redirects to (unset: the request's host, that port).
    stream_bind: str | None = None
    stream_url: str | None = None

    def public_url_problem(self) -> str | None:
        """Why Zalo could not reach the webhook URLs this service shows, if it could not."""
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return (
                f"ZALODESK_PUBLIC_URL {self.public_url!r} is not an http(s) URL: the webhook "
                "URLs shown for accounts will not work (set it like https://desk.example.com)"
            )
        if parts.hostname in ("localhost", "::1") or parts.hostname.startswith("127."):
            return (
                f"ZALODESK_PUBLIC_URL is {self.public_url}, which Zalo cannot reach: set it to "
                "the address Zalo reaches this service at before pasting webhook URLs into Zalo"
            )
        return None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(f"ZALODESK_{name}", "").strip()
            return value or None

        return cls(
            database_url=_database_url(get("DATABASE_URL")),
            data_dir=Path(get("DATA_DIR") or ".zalodesk"),
            admin_token=get("ADMIN_TOKEN"),
            public_url=(get("PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/"),
            zalo_api_base=(get("ZALO_API_BASE") or DEFAULT_ZALO_API_BASE).rstrip("/"),
            zalo_oauth_base=(get("ZALO_OAUTH_BASE") or DEFAULT_ZALO_OAUTH_BASE).rstrip("/"),
            chat_inactivity_seconds=_seconds(
                "ZALODESK_CHAT_INACTIVITY_SECONDS",
                get("CHAT_INACTIVITY_SECONDS"),
                600,
                CHAT_INACTIVITY_SECONDS,
            ),
            cipher_key=get("CIPHER_KEY"),
            web_threads=_whole("ZALODESK_WEB_THREADS", get("WEB_THREADS"), 1),
            stream_bind=_bind("ZALODESK_STREAM_BIND", get("STREAM_BIND")),
            stream_url=_base_url("ZALODESK_STREAM_URL", get("STREAM_URL")),
        )

    @property
    def stream_port(self) -> int:
        return int((self.stream_bind or DEFAULT_STREAM_BIND).rpartition(":")[2])


def _database_url(raw: str | None) -> str | None:
    """A PostgreSQL URL (``postgresql://...``) or libpq ``key=value`` string; nothing else."""
    if raw is None:
        return None
    scheme, found, _ = raw.partition("://")
    if found and scheme not in ("postgresql", "postgres"):
        raise SettingsError(
            f"ZALODESK_DATABASE_URL must be a PostgreSQL URL (postgresql://...), not {scheme}://..."
        )
    try:
        conninfo_to_dict(raw)
    except psycopg.ProgrammingError as ex:
        raise SettingsError(f"ZALODESK_DATABASE_URL cannot be read: {ex}") from None
    return raw


def _seconds(name: str, raw: str | None, default: int, allowed: range) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number of seconds, not {raw!r}") from None
    if value not in allowed:
        raise SettingsError(
            f"{name} must be from {allowed.start} to {allowed.stop - 1} seconds, not {value}"
        )
    return value


def _whole(name: str, raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def next_port(bind: str) -> str:
    """HOST:PORT+1: where the stream listens beside an API bound to ``bind``."""
    host, _, port = bind.rpartition(":")
    return f"{host}:{int(port) + 1}"


def _bind(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{name} must be HOST:PORT, such as 127.0.0.1:8001, not {raw!r}")
    return raw


def _base_url(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an http(s) URL, such as https://desk.example.com")
    return raw.rstrip("/")
