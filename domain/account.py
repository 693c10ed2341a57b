"""An Official Account connection and its secrets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import event

from domain.aggregate import DeskAggregate
from domain.errors import Conflict, InvalidInput

SECRET_FIELDS = frozenset({"app_secret", "oa_secret_key", "access_token", "refresh_token"})
DEFAULT_TOKEN_SECONDS = 90000  # ZALO.md: an access token lives 25 hours
EDITABLE_FIELDS = frozenset(
    {
        "name",
        "app_id",
        "oa_id",
        "app_secret",
        "oa_secret_key",
        "verification_code",
        "chat_inactivity_seconds",
        "allow_postpone",
    }
)


class ZaloAccount(DeskAggregate):
    @staticmethod
    def create_id() -> UUID:
        return uuid4()

    @event("Connected")
    def __init__(
        self,
        name: str,
        app_id: str,
        oa_id: str,
        app_secret: str,
        oa_secret_key: str,
        access_token: str,
        refresh_token: str,
        access_token_expires_at: datetime,
        chat_inactivity_seconds: int,
        allow_postpone: bool,
        verification_code: str | None,
        actor: str,
        at: datetime,
    ) -> None:
        self.name = name
        self.app_id = app_id
        self.oa_id = oa_id
        self.app_secret = app_secret
        self.oa_secret_key = oa_secret_key
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.access_token_expires_at = access_token_expires_at
        self.chat_inactivity_seconds = chat_inactivity_seconds
        self.allow_postpone = allow_postpone
        self.verification_code = verification_code
        self.deleted = False
        self.needs_reconnect: str | None = None

    def update(self, changes: dict[str, Any], actor: str, at: datetime) -> None:
        self._require_live()
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
        effective = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if effective:
            self._updated(changes=effective, actor=actor, at=at)

    @event("Updated")
    def _updated(self, changes: dict[str, Any], actor: str, at: datetime) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def rotate_tokens(
        self, access_token: str, refresh_token: str, expires_in: int, actor: str, at: datetime
    ) -> None:
        self._require_live()
        self._tokens_rotated(
            access_token=access_token,
            refresh_token=refresh_token,
            access_token_expires_at=at + timedelta(seconds=expires_in),
            actor=actor,
            at=at,
        )

    @event("TokensRotated")
    def _tokens_rotated(
        self,
        access_token: str,
        refresh_token: str,
        access_token_expires_at: datetime,
        actor: str,
        at: datetime,
    ) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.access_token_expires_at = access_token_expires_at
        self.needs_reconnect = None

    def require_reconnect(self, reason: str, actor: str, at: datetime) -> None:
        """Refreshing failed: nothing can be sent until an admin pastes a new token pair."""
        if self.needs_reconnect != reason:
            self._reconnect_needed(reason=reason, actor=actor, at=at)

    @event("ReconnectNeeded")
    def _reconnect_needed(self, reason: str, actor: str, at: datetime) -> None:
        self.needs_reconnect = reason

    def token_due(self, now: datetime, margin_seconds: int = 300) -> bool:
        return self.access_token_expires_at - timedelta(seconds=margin_seconds) <= now

    def delete(self, actor: str, at: datetime) -> None:
        self._require_live()
        self._deleted(actor=actor, at=at)

    @event("Deleted")
    def _deleted(self, actor: str, at: datetime) -> None:
        self.deleted = True

    @property
    def signing_key(self) -> str:
        """ZALO.md: the OA secret key signs webhooks; without one, the app secret does."""
        return self.oa_secret_key or self.app_secret

    def _require_live(self) -> None:
        if self.deleted:
            raise Conflict(f"account {self.id} has been deleted")
