"""Channel accounts: the form that connects an Official Account, its changes, and the
account as the API shows it (never a secret or a token)."""

from __future__ import annotations

from typing import Annotated

from pydantic import MISSING, Field

from api.schemas.base import (
    INTEGRAL,
    VERIFICATION_CODE,
    Form,
    Id,
    Shape,
    Timestamp,
    ZaloId,
    visible_text,
    within,
)
from domain.account import CHAT_INACTIVITY_SECONDS, DEFAULT_TOKEN_SECONDS, TOKEN_SECONDS

Name = Annotated[str, visible_text(200, "How agents know the account.")]
# Zalo's keys and tokens are printable ASCII: anything else could never be sent in the
# HTTP headers Zalo reads them from, and is refused here rather than failing every call.
Secret = Annotated[
    str,
    Field(
        pattern=r"^[\x21-\x7e]+$",
        min_length=1,
        max_length=4096,
        description="As Zalo gives it: printable ASCII, without spaces.",
    ),
]
ChatInactivitySeconds = Annotated[
    int,
    within(CHAT_INACTIVITY_SECONDS, "A chat ends after this long with neither side writing."),
    INTEGRAL,
]
TokenSeconds = Annotated[
    int,
    within(TOKEN_SECONDS, "How long the access token lives from now (Zalo issues 25 hours)."),
    INTEGRAL,
]
VerificationCode = Annotated[
    str, Field(pattern=VERIFICATION_CODE, description="The code from Zalo's domain page.")
]


class NewAccount(Form):
    """An Official Account to connect: its app, its keys and tokens, its chat settings."""

    name: Name
    app_id: ZaloId
    oa_id: ZaloId
    app_secret: Secret
    oa_secret_key: Secret
    access_token: Secret
    refresh_token: Secret
    access_token_expires_in: TokenSeconds = DEFAULT_TOKEN_SECONDS
    chat_inactivity_seconds: ChatInactivitySeconds | MISSING = Field(
        default=MISSING, description="Default: the service's ZALODESK_CHAT_INACTIVITY_SECONDS."
    )
    allow_postpone: bool = True
    verification_code: VerificationCode | None = None


class AccountChanges(Form):
    """Any field of the form, each left as it is when not sent; the four secrets and tokens
    together reconnect an account."""

    name: Name | MISSING = MISSING
    app_id: ZaloId | MISSING = MISSING
    oa_id: ZaloId | MISSING = MISSING
    app_secret: Secret | MISSING = MISSING
    oa_secret_key: Secret | MISSING = MISSING
    access_token: Secret | MISSING = MISSING
    refresh_token: Secret | MISSING = MISSING
    access_token_expires_in: TokenSeconds | MISSING = MISSING
    chat_inactivity_seconds: ChatInactivitySeconds | MISSING = MISSING
    allow_postpone: bool | MISSING = MISSING
    verification_code: VerificationCode | MISSING | None = Field(
        default=MISSING, description="null removes the code."
    )


class Account(Shape):
    id: Id
    name: str
    app_id: str
    oa_id: str
    webhook_url: str = Field(description="Paste into Zalo as URL prefix and webhook URL.")
    chat_inactivity_seconds: int
    allow_postpone: bool
    has_verification_code: bool
    access_token_expires_at: Timestamp | None
    needs_reconnect: bool
    created_at: Timestamp | None
    last_webhook_at: Timestamp | None
    last_signature_failure_at: Timestamp | None
    last_signature_failure: str | None


class AccountDetail(Account):
    reconnect_reason: str | None = Field(description="Why the account needs reconnecting.")


class AccountList(Shape):
    accounts: list[Account]
