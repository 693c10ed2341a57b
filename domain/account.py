"""An Official Account connection: what it is called, its app, its chat settings, and
which secrets and tokens it holds, known only by their fingerprints.

The secrets and tokens themselves never reach an event: events are forever and are
exported. They live in a credential store of their own (adapters), written before the
event that says they changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import DeskAggregate
from domain.errors import Conflict, InvalidInput

DEFAULT_TOKEN_SECONDS = 90000  # Zalo: an access token lives 25 hours
EDITABLE_FIELDS = frozenset(
    {"name", "app_id", "oa_id", "chat_inactivity_seconds", "allow_postpone", "verification_code"}
)
FINGERPRINT_DIGITS = 12

# The numbers an admin chooses, and their bounds. A chat ends after a minute of quiet at
# the soonest, and at the latest when Zalo's 7-day window for answering it has closed.
# An access token lives 25 hours as Zalo issues it; a year is beyond any real one.
CHAT_INACTIVITY_SECONDS = range(60, 7 * 24 * 3600 + 1)
TOKEN_SECONDS = range(1, 365 * 24 * 3600 + 1)


def within(field: str, value: int, allowed: range) -> int:
    """``value`` if ``allowed``; otherwise an error that names the field and its bounds."""
    if value not in allowed:
        raise InvalidInput(f"{field}: {bounds(allowed)}")
    return value


def bounds(allowed: range) -> str:
    return f"must be a whole number from {allowed.start} to {allowed.stop - 1}"


def fingerprint(*secrets: str) -> str:
    """Tells one set of secrets from another without revealing them: a short SHA-256 prefix."""
    digest = hashlib.sha256("\x1f".join(secrets).encode()).hexdigest()
    return digest[:FINGERPRINT_DIGITS]


class ZaloAccount(DeskAggregate):
    @event("Connected")
    def __init__(
        self,
        id: UUID,  # chosen by the caller: its credentials are stored under it first
        name: str,
        app_id: str,
        oa_id: str,
        secrets_fingerprint: str,
        tokens_fingerprint: str,
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
        self.secrets_fingerprint = secrets_fingerprint
        self.tokens_fingerprint = tokens_fingerprint
        self.access_token_expires_at = access_token_expires_at
        self.chat_inactivity_seconds = chat_inactivity_seconds
        self.allow_postpone = allow_postpone
        self.verification_code = verification_code
        self.deleted = False
        self.needs_reconnect: str | None = None

    def update(self, changes: Mapping[str, Any], actor: str, at: datetime) -> None:
        """An admin's changes to the form: each part recorded in its own words, if it changed."""
        self._require_live()
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
        if "chat_inactivity_seconds" in changes:
            within(
                "chat_inactivity_seconds",
                changes["chat_inactivity_seconds"],
                CHAT_INACTIVITY_SECONDS,
            )
        if changes.get("name", self.name) != self.name:
            self._renamed(name=changes["name"], actor=actor, at=at)
        app = (changes.get("app_id", self.app_id), changes.get("oa_id", self.oa_id))
        if app != (self.app_id, self.oa_id):
            self._app_changed(app_id=app[0], oa_id=app[1], actor=actor, at=at)
        settings = (
            changes.get("chat_inactivity_seconds", self.chat_inactivity_seconds),
            changes.get("allow_postpone", self.allow_postpone),
        )
        if settings != (self.chat_inactivity_seconds, self.allow_postpone):
            self._chat_settings_changed(
                chat_inactivity_seconds=settings[0], allow_postpone=settings[1], actor=actor, at=at
            )
        if changes.get("verification_code", self.verification_code) != self.verification_code:
            self._verification_code_set(
                verification_code=changes["verification_code"], actor=actor, at=at
            )

    @event("Renamed")
    def _renamed(self, name: str, actor: str, at: datetime) -> None:
        self.name = name

    @event("AppChanged")
    def _app_changed(self, app_id: str, oa_id: str, actor: str, at: datetime) -> None:
        self.app_id = app_id
        self.oa_id = oa_id

    @event("ChatSettingsChanged")
    def _chat_settings_changed(
        self, chat_inactivity_seconds: int, allow_postpone: bool, actor: str, at: datetime
    ) -> None:
        self.chat_inactivity_seconds = chat_inactivity_seconds
        self.allow_postpone = allow_postpone

    @event("VerificationCodeSet")
    def _verification_code_set(
        self, verification_code: str | None, actor: str, at: datetime
    ) -> None:
        self.verification_code = verification_code

    def replace_signing_secrets(self, secrets_fingerprint: str, actor: str, at: datetime) -> None:
        """The app secret or the OA secret key was replaced (the same ones again: nothing)."""
        self._require_live()
        if secrets_fingerprint != self.secrets_fingerprint:
            self._signing_secrets_replaced(
                secrets_fingerprint=secrets_fingerprint, actor=actor, at=at
            )

    @event("SigningSecretsReplaced")
    def _signing_secrets_replaced(self, secrets_fingerprint: str, actor: str, at: datetime) -> None:
        self.secrets_fingerprint = secrets_fingerprint

    def rotate_tokens(
        self, tokens_fingerprint: str, expires_in: int, actor: str, at: datetime
    ) -> None:
        """A new token pair: refreshed, or pasted by an admin (the same pair again: nothing,
        unless the account waits to be reconnected, which the pair then does)."""
        self._require_live()
        within("access_token_expires_in", expires_in, TOKEN_SECONDS)
        if tokens_fingerprint == self.tokens_fingerprint and self.needs_reconnect is None:
            return
        self._tokens_rotated(
            tokens_fingerprint=tokens_fingerprint,
            access_token_expires_at=at + timedelta(seconds=expires_in),
            actor=actor,
            at=at,
        )

    @event("TokensRotated")
    def _tokens_rotated(
        self,
        tokens_fingerprint: str,
        access_token_expires_at: datetime,
        actor: str,
        at: datetime,
    ) -> None:
        self.tokens_fingerprint = tokens_fingerprint
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

    def _require_live(self) -> None:
        if self.deleted:
            raise Conflict(f"account {self.id} has been deleted")
