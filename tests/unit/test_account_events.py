"""An Official Account's history, in the words of the business, and never a secret in it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import DomainEvent

from domain.account import ZaloAccount, fingerprint
from domain.application import Zalodesk
from domain.errors import Conflict, InvalidInput, NotFound
from tests.unit.conftest import connect_shop

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ADMIN = "agent:admin"
SECRET_NAMES = ("app_secret", "oa_secret_key", "access_token", "refresh_token")


def new_account(**changes: Any) -> ZaloAccount:
    """An account just connected, its first event not collected; ``changes`` replace fields."""
    fields: dict[str, Any] = {
        "id": uuid4(),
        "name": "Shop Hoa Mai",
        "app_id": "360846524940903967",
        "oa_id": "388613280878808645",
        "secrets_fingerprint": fingerprint("app-secret", "oa-secret-key"),
        "tokens_fingerprint": fingerprint("access-token", "refresh-token"),
        "access_token_expires_at": AT + timedelta(hours=25),
        "chat_inactivity_seconds": 600,
        "allow_postpone": True,
        "verification_code": None,
        "actor": ADMIN,
        "at": AT,
    }
    return ZaloAccount(**{**fields, **changes})


def connected() -> ZaloAccount:
    account = new_account()
    account.collect_events()
    return account


def recorded(account: ZaloAccount) -> list[tuple[str, dict[str, Any]]]:
    """What the account recorded since last asked: each event's name and its own fields."""
    envelope = {"originator_id", "originator_version", "timestamp", "actor", "at"}
    return [
        (type(e).__name__, {k: v for k, v in vars(e).items() if k not in envelope})
        for e in account.collect_events()
    ]


def test_a_fingerprint_tells_secrets_apart_without_showing_them() -> None:
    print_ = fingerprint("app-secret", "oa-secret-key")
    assert len(print_) == 12 and "secret" not in print_
    assert print_ == fingerprint("app-secret", "oa-secret-key")
    assert print_ != fingerprint("app-secret", "another-key")
    assert fingerprint("ab", "c") != fingerprint("a", "bc")  # where one ends matters


def test_connecting_records_the_account_and_only_fingerprints_of_its_credentials() -> None:
    account = new_account(
        app_id="1",
        oa_id="2",
        secrets_fingerprint="aaaaaaaaaaaa",
        tokens_fingerprint="bbbbbbbbbbbb",
        verification_code="zalo-code",
    )
    [(name, fields)] = recorded(account)
    assert name == "Connected"
    assert fields == {
        "originator_topic": "domain.account:ZaloAccount",
        "name": "Shop Hoa Mai",
        "app_id": "1",
        "oa_id": "2",
        "secrets_fingerprint": "aaaaaaaaaaaa",
        "tokens_fingerprint": "bbbbbbbbbbbb",
        "access_token_expires_at": AT + timedelta(hours=25),
        "chat_inactivity_seconds": 600,
        "allow_postpone": True,
        "verification_code": "zalo-code",
    }


def test_each_change_of_the_form_is_recorded_in_its_own_words() -> None:
    account = connected()
    account.update(
        {
            "name": "Shop Hoa Mai 2",
            "oa_id": "999",
            "chat_inactivity_seconds": 300,
            "verification_code": "new-code",
        },
        actor=ADMIN,
        at=AT,
    )
    assert recorded(account) == [
        ("Renamed", {"name": "Shop Hoa Mai 2"}),
        ("AppChanged", {"app_id": "360846524940903967", "oa_id": "999"}),
        ("ChatSettingsChanged", {"chat_inactivity_seconds": 300, "allow_postpone": True}),
        ("VerificationCodeSet", {"verification_code": "new-code"}),
    ]
    account.update({"verification_code": None}, actor=ADMIN, at=AT)
    assert recorded(account) == [("VerificationCodeSet", {"verification_code": None})]
    assert (account.name, account.oa_id, account.chat_inactivity_seconds) == (
        "Shop Hoa Mai 2",
        "999",
        300,
    )


def test_a_value_that_stays_records_nothing() -> None:
    account = connected()
    account.update(
        {"name": "Shop Hoa Mai", "app_id": "360846524940903967", "allow_postpone": True},
        actor=ADMIN,
        at=AT,
    )
    account.replace_signing_secrets(account.secrets_fingerprint, actor=ADMIN, at=AT)
    account.rotate_tokens(account.tokens_fingerprint, 90000, actor=ADMIN, at=AT)
    assert recorded(account) == []


def test_the_form_refuses_what_is_not_in_it() -> None:
    account = connected()
    with pytest.raises(InvalidInput, match="cannot change app_secret, colour"):
        account.update({"colour": "red", "app_secret": "x"}, actor=ADMIN, at=AT)
    assert recorded(account) == []


def test_new_signing_secrets_are_recorded_by_their_fingerprint() -> None:
    account = connected()
    new = fingerprint("new-app-secret", "oa-secret-key")
    account.replace_signing_secrets(new, actor=ADMIN, at=AT)
    assert recorded(account) == [("SigningSecretsReplaced", {"secrets_fingerprint": new})]
    assert account.secrets_fingerprint == new


def test_a_new_token_pair_records_its_fingerprint_and_the_access_tokens_expiry() -> None:
    account = connected()
    later = AT + timedelta(hours=24)
    new = fingerprint("access-2", "refresh-2")
    account.rotate_tokens(new, 90000, actor="system:outbox", at=later)
    assert recorded(account) == [
        (
            "TokensRotated",
            {"tokens_fingerprint": new, "access_token_expires_at": later + timedelta(hours=25)},
        )
    ]
    assert not account.token_due(later + timedelta(hours=24))
    assert account.token_due(later + timedelta(hours=25) - timedelta(minutes=4))


def test_the_same_pair_again_reconnects_an_account_that_needed_it() -> None:
    account = connected()
    account.require_reconnect("refreshing the access token failed", actor="system:outbox", at=AT)
    account.require_reconnect("refreshing the access token failed", actor="system:outbox", at=AT)
    assert recorded(account) == [
        ("ReconnectNeeded", {"reason": "refreshing the access token failed"})
    ]
    account.rotate_tokens(account.tokens_fingerprint, 90000, actor=ADMIN, at=AT)
    assert [name for name, _ in recorded(account)] == ["TokensRotated"]
    assert account.needs_reconnect is None


def test_a_removed_account_refuses_every_change() -> None:
    account = connected()
    account.delete(actor=ADMIN, at=AT)
    assert recorded(account) == [("Deleted", {})]
    with pytest.raises(Conflict):
        account.update({"name": "again"}, actor=ADMIN, at=AT)
    with pytest.raises(Conflict):
        account.replace_signing_secrets("cccccccccccc", actor=ADMIN, at=AT)
    with pytest.raises(Conflict):
        account.rotate_tokens("cccccccccccc", 90000, actor=ADMIN, at=AT)


def account_event_classes() -> list[type[DomainEvent]]:
    """Every event class of the account but the library's bases (``Event``, ``Created``)."""
    return [
        value
        for value in vars(ZaloAccount).values()
        if isinstance(value, type)
        and issubclass(value, DomainEvent)
        and value not in (ZaloAccount.Event, ZaloAccount.Created)
    ]


def test_no_account_event_has_room_for_a_secret() -> None:
    classes = account_event_classes()
    assert {c.__name__ for c in classes} >= {
        "Connected",
        "Renamed",
        "AppChanged",
        "ChatSettingsChanged",
        "VerificationCodeSet",
        "SigningSecretsReplaced",
        "TokensRotated",
        "ReconnectNeeded",
        "Deleted",
    }
    for cls in classes:
        for field in dataclasses.fields(cls):
            assert field.name not in SECRET_NAMES, f"{cls.__name__}.{field.name}"
            if "secret" in field.name or "token" in field.name:
                assert field.name.endswith("_fingerprint") or field.name.endswith("_expires_at"), (
                    f"{cls.__name__}.{field.name}"
                )
        assert {"actor", "at"} <= {f.name for f in dataclasses.fields(cls)}


def test_settings_and_token_lifetimes_out_of_bounds_record_nothing() -> None:
    account = connected()
    with pytest.raises(
        InvalidInput, match="chat_inactivity_seconds: must be a whole number from 60 to 604800"
    ):
        account.update({"name": "Shop 2", "chat_inactivity_seconds": 2**31}, actor=ADMIN, at=AT)
    with pytest.raises(
        InvalidInput, match="access_token_expires_in: must be a whole number from 1 to 31536000"
    ):
        account.rotate_tokens(fingerprint("a", "r"), 10**12, actor=ADMIN, at=AT)
    assert recorded(account) == []


@pytest.mark.parametrize(("expires_in", "inactivity"), [(10**12, 600), (90000, 2**31), (90000, 5)])
def test_an_account_is_not_connected_with_numbers_out_of_bounds(
    desk: Zalodesk, expires_in: int, inactivity: int
) -> None:
    command = connect_shop(
        access_token_expires_in=expires_in, chat_inactivity_seconds=inactivity, allow_postpone=True
    )
    with pytest.raises(InvalidInput, match="must be a whole number from"):
        desk.connect_account(command)
    with pytest.raises(NotFound):
        desk.account(command.account_id)
