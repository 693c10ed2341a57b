"""The X-ZEvent-Signature: SHA-256 of app_id + raw body + timestamp + key."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from adapters.zalo.signature import (
    field_text,
    mac_from_header,
    signature_ok,
    value_text,
    webhook_mac,
)
from adapters.zalo.translate import parse

KEY = "oa-secret-key-for-tests"
APP_ID = "2002784327294716319"
TIMESTAMP = "1594636778967"
# A real read receipt, compact, exactly as Zalo sends it.
RECEIPT = (Path(__file__).parent / "payloads" / "user_seen_message.json").read_bytes().rstrip(b"\n")
# Worked out once with hashlib and pinned here, so that a change of formula shows.
RECEIPT_MAC = "9417d87fc6514c2fae55836c13ec0a7c8ea1acc2171a64856e98a6ec3ae17baf"


def signed(raw: bytes, key: str = KEY, timestamp: str = TIMESTAMP) -> str:
    return "mac=" + webhook_mac(APP_ID, raw, timestamp, key)


# The formula ------------------------------------------------------------------------


def test_the_mac_is_plain_sha256_of_app_id_body_timestamp_and_key() -> None:
    by_hand = hashlib.sha256(APP_ID.encode() + RECEIPT + TIMESTAMP.encode() + KEY.encode())

    assert webhook_mac(APP_ID, RECEIPT, TIMESTAMP, KEY) == by_hand.hexdigest()
    assert webhook_mac(APP_ID, RECEIPT, TIMESTAMP, KEY) == RECEIPT_MAC


def test_the_mac_of_a_tiny_body_matches_a_pinned_vector() -> None:
    assert webhook_mac("1", b"{}", "2", "k") == (
        "de8e4e4cd3996baf4a4549475ad3ebf35118b2bcef3fbe9dc44903244f01e17e"
    )


def test_the_mac_is_not_an_hmac() -> None:
    as_hmac = hmac.new(KEY.encode(), APP_ID.encode() + RECEIPT + TIMESTAMP.encode(), "sha256")

    assert webhook_mac(APP_ID, RECEIPT, TIMESTAMP, KEY) != as_hmac.hexdigest()


def test_the_mac_is_64_lowercase_hex_characters() -> None:
    mac = webhook_mac(APP_ID, RECEIPT, TIMESTAMP, KEY)

    assert len(mac) == 64
    assert mac == mac.lower()
    int(mac, 16)


# Reading the header ------------------------------------------------------------------


def test_the_header_is_read_with_or_without_the_mac_prefix() -> None:
    assert mac_from_header(f"mac={RECEIPT_MAC}") == RECEIPT_MAC
    assert mac_from_header(RECEIPT_MAC) == RECEIPT_MAC


def test_the_header_may_be_upper_case_or_padded() -> None:
    assert mac_from_header(f"MAC={RECEIPT_MAC.upper()}") == RECEIPT_MAC
    assert mac_from_header(f"  mac={RECEIPT_MAC}\r\n") == RECEIPT_MAC
    assert mac_from_header(f"mac = {RECEIPT_MAC}") == RECEIPT_MAC


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "mac=",
        "mac=xyz",
        "sha256=" + RECEIPT_MAC,
        RECEIPT_MAC[:63],
        RECEIPT_MAC + "0",
        "g" * 64,
        f"mac={RECEIPT_MAC},mac={RECEIPT_MAC}",
    ],
)
def test_a_header_without_one_clean_mac_gives_none(header: str | None) -> None:
    assert mac_from_header(header) is None


# Verifying -----------------------------------------------------------------------------


def test_a_correctly_signed_body_verifies() -> None:
    assert signature_ok(f"mac={RECEIPT_MAC}", RECEIPT, APP_ID, TIMESTAMP, KEY)


def test_a_signature_without_the_prefix_or_in_upper_case_verifies_too() -> None:
    assert signature_ok(RECEIPT_MAC, RECEIPT, APP_ID, TIMESTAMP, KEY)
    assert signature_ok(f"mac={RECEIPT_MAC.upper()}", RECEIPT, APP_ID, TIMESTAMP, KEY)


def test_a_signature_made_with_another_key_fails() -> None:
    assert not signature_ok(signed(RECEIPT, key="someone-else"), RECEIPT, APP_ID, TIMESTAMP, KEY)


def test_a_tampered_body_fails() -> None:
    tampered = RECEIPT.replace(b"e72c0a55e95fcb00924f", b"e72c0a55e95fcb00924e")

    assert not signature_ok(signed(RECEIPT), tampered, APP_ID, TIMESTAMP, KEY)


def test_a_body_reserialised_with_spaces_fails() -> None:
    spaced = RECEIPT.replace(b'":', b'": ')

    assert not signature_ok(signed(RECEIPT), spaced, APP_ID, TIMESTAMP, KEY)


def test_another_timestamp_or_app_fails() -> None:
    assert not signature_ok(signed(RECEIPT), RECEIPT, APP_ID, "1594636778968", KEY)
    assert not signature_ok(signed(RECEIPT), RECEIPT, "2002784327294716318", TIMESTAMP, KEY)


@pytest.mark.parametrize("header", [None, "", "mac=", "garbage"])
def test_a_missing_or_garbled_header_fails(header: str | None) -> None:
    assert not signature_ok(header, RECEIPT, APP_ID, TIMESTAMP, KEY)


def test_an_account_without_a_key_verifies_nothing() -> None:
    assert not signature_ok(signed(RECEIPT, key=""), RECEIPT, APP_ID, TIMESTAMP, "")


# The body's own fields -------------------------------------------------------------------


def test_app_id_and_timestamp_are_read_from_the_raw_body_as_text() -> None:
    assert field_text(RECEIPT, "app_id") == APP_ID
    assert field_text(RECEIPT, "timestamp") == TIMESTAMP


def test_a_numeric_timestamp_and_app_id_keep_their_digits_as_written() -> None:
    raw = RECEIPT.replace(b'"1594636778967"', b"1594636778967").replace(
        b'"2002784327294716319"', b"2002784327294716319"
    )
    assert b'"app_id":2002784327294716319,"timestamp":1594636778967}' in raw

    assert field_text(raw, "app_id") == "2002784327294716319"
    assert field_text(raw, "timestamp") == "1594636778967"


def test_a_body_with_a_numeric_timestamp_verifies_with_its_digits() -> None:
    raw = RECEIPT.replace(b'"1594636778967"', b"1594636778967")
    header = signed(raw)

    timestamp = field_text(raw, "timestamp") or ""

    assert signature_ok(header, raw, field_text(raw, "app_id") or "", timestamp, KEY)


def test_a_missing_field_nested_field_or_unreadable_body_gives_none() -> None:
    assert field_text(RECEIPT, "oa_id") is None
    assert field_text(RECEIPT, "id") is None  # sender.id is not a top-level field
    assert field_text(RECEIPT, "message") is None
    assert field_text(b"not json", "app_id") is None
    assert field_text(b'["app_id"]', "app_id") is None


def test_value_text_reads_the_same_fields_from_an_already_parsed_body() -> None:
    body = parse(RECEIPT.replace(b'"1594636778967"', b"1594636778967"))

    assert value_text(body, "timestamp") == TIMESTAMP
    assert value_text(body, "app_id") == APP_ID
    assert value_text(body, "sender") is None
