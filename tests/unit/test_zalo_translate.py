"""Zalo webhook bodies, shaped as Zalo sends them, become domain commands."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.zalo.translate import BadPayload, parse, platform_time, translate
from domain.commands import (
    Customer,
    InboundCommand,
    KeepDelivery,
    ReceiveCustomerMessage,
    ReceiveFollow,
    ReceiveMessageStatus,
    ReceiveOAMessage,
)

ACCOUNT = UUID("0b7a4c4e-2f57-4a8e-9d0e-5b1f6c3a2d19")
PAYLOADS = Path(__file__).parent / "payloads"
CUSTOMER = "2687558107438251665"  # above 2^53, like every Zalo id
OA = "7605173638941758527"
VISITOR = "b2d4f6a8c0e1a3c5"
CONVERSATION = "8f7e6d5c4b3a29180716"


def payload(name: str) -> bytes:
    """A compact body as Zalo sends it (any trailing newline an editor adds is dropped)."""
    return (PAYLOADS / f"{name}.json").read_bytes().rstrip(b"\n")


def translated(raw: bytes, num_retry: int = 0) -> Any:
    """``Any`` so that tests can reach each command's own fields after an isinstance check."""
    command: InboundCommand = translate(ACCOUNT, raw, parse(raw), num_retry)
    return command


def customer_message(name: str) -> ReceiveCustomerMessage:
    command = translated(payload(name))
    assert isinstance(command, ReceiveCustomerMessage)
    return command


def oa_message(name: str) -> ReceiveOAMessage:
    command = translated(payload(name))
    assert isinstance(command, ReceiveOAMessage)
    return command


# The envelope ---------------------------------------------------------------------


def test_the_docs_sample_text_becomes_a_customer_message() -> None:
    raw = payload("user_send_text")
    command = translated(raw)

    assert command == ReceiveCustomerMessage(
        delivery=command.delivery,
        customer=Customer(zalo_user_id="246845883529197922"),
        message=command.message,
    )
    assert command.message.msg_id == "96d3cdf3af150460909"
    assert command.message.kind == "text"
    assert command.message.text == "message"
    assert command.message.attachments == ()
    assert command.message.quote_msg_id is None
    assert command.delivery.account_id == ACCOUNT
    assert command.delivery.event_name == "user_send_text"
    assert command.delivery.msg_id == "96d3cdf3af150460909"
    assert command.delivery.raw_body == raw.decode()


def test_the_docs_malformed_twelve_digit_timestamp_is_still_read_as_milliseconds() -> None:
    command = translated(payload("user_send_text"))

    assert command.delivery.platform_at == datetime(1974, 11, 22, 22, 20, 53, 474000, tzinfo=UTC)


def test_a_well_formed_timestamp_is_an_aware_utc_time() -> None:
    command = translated(payload("user_seen_message"))

    assert command.delivery.platform_at == datetime(2020, 7, 13, 10, 39, 38, 967000, tzinfo=UTC)


def test_a_numeric_timestamp_is_accepted_too() -> None:
    raw = payload("user_send_image").replace(b'"1594636779001"', b"1594636779001")
    assert b'"timestamp":1594636779001}' in raw

    command = translated(raw)

    assert command.delivery.platform_at == datetime(2020, 7, 13, 10, 39, 39, 1000, tzinfo=UTC)


@pytest.mark.parametrize(
    "timestamp", [b'"soon"', b'""', b"null", b'"-5"', b"1.5e3", b'"' + b"9" * 30 + b'"']
)
def test_an_unreadable_timestamp_leaves_the_platform_time_unknown(timestamp: bytes) -> None:
    raw = payload("user_send_image").replace(b'"1594636779001"', timestamp)

    assert translated(raw).delivery.platform_at is None


def test_a_missing_timestamp_leaves_the_platform_time_unknown() -> None:
    raw = payload("user_send_image").replace(b',"timestamp":"1594636779001"', b"")

    command = translated(raw)

    assert command.delivery.platform_at is None
    assert command.message.msg_id == "c2a1f3b4d5e6f7a8b9c0"


def test_platform_time_reads_strings_and_integers_alike() -> None:
    assert platform_time("0") == datetime(1970, 1, 1, tzinfo=UTC)
    assert platform_time(1594636778967) == platform_time("1594636778967")
    assert platform_time(True) is None
    assert platform_time(1594636778967.0) is None
    assert platform_time("9" * 5000) is None
    assert platform_time("١٢٣") is None  # digits, but not ASCII ones


def test_the_retry_count_is_carried_on_the_delivery() -> None:
    assert translated(payload("user_send_text"), num_retry=3).delivery.num_retry == 3


def test_the_raw_body_is_kept_as_the_exact_text_received_not_reserialised() -> None:
    raw = payload("user_send_text_reply")
    assert "📦".encode() in raw

    command = translated(raw)

    assert command.delivery.raw_body.encode() == raw
    assert command.message.text == "Đơn hàng của tôi đâu rồi? 📦"


# Ids ----------------------------------------------------------------------------------


def test_ids_above_2_to_the_53_survive_as_exact_strings() -> None:
    command = translated(payload("follow"))

    assert command.zalo_user_id == CUSTOMER
    assert int(CUSTOMER) > 2**53
    assert float(CUSTOMER) != int(CUSTOMER)  # what a float round-trip would have done


def test_ids_written_as_json_numbers_keep_every_digit() -> None:
    raw = payload("follow").replace(b'"2687558107438251665"', b"2687558107438251665")
    assert b'{"id":2687558107438251665}' in raw

    command = translated(raw)

    assert command.zalo_user_id == "2687558107438251665"


def test_parse_keeps_every_number_as_its_text() -> None:
    body = parse(b'{"a":7605173638941758527,"b":10.7642473,"c":[1,-2],"d":true,"e":null}')

    assert body == {
        "a": "7605173638941758527",
        "b": "10.7642473",
        "c": ["1", "-2"],
        "d": True,
        "e": None,
    }


# Customer messages ---------------------------------------------------------------------


def test_a_reply_carries_the_quoted_message_id() -> None:
    command = customer_message("user_send_text_reply")

    assert command.customer == Customer(zalo_user_id=CUSTOMER)
    assert command.message.quote_msg_id == "63ecf43f0df7dba892e6"


@pytest.mark.parametrize(
    ("name", "kind", "text", "attachment"),
    [
        pytest.param(
            "user_send_image",
            "image",
            "ảnh hóa đơn",
            {
                "type": "image",
                "thumbnail": "https://photo-thumb.zdn.vn/t/invoice.jpg",
                "url": "https://photo.zdn.vn/p/invoice.jpg",
            },
            id="a photo keeps its url, thumbnail and caption",
        ),
        pytest.param(
            "user_send_gif",
            "gif",
            "",
            {
                "type": "gif",
                "thumbnail": "https://gif-thumb.zdn.vn/t/wave.jpg",
                "url": "https://gif.zdn.vn/g/wave.gif",
            },
            id="a gif has no caption",
        ),
        pytest.param(
            "user_send_sticker",
            "sticker",
            "",
            {
                "type": "sticker",
                "id": "bfe458bf64fa8da4d4eb",
                "url": "https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid=46991&size=130",
            },
            id="a sticker keeps its id and url",
        ),
        pytest.param(
            "user_send_audio",
            "audio",
            "",
            {"type": "audio", "url": "https://voice-aac-dl.zdn.vn/v/note.amr"},
            id="a voice note keeps its url",
        ),
        pytest.param(
            "user_send_video",
            "video",
            "",
            {
                "type": "video",
                "thumbnail": "https://video-thumb.zdn.vn/t/broken.jpg",
                "description": "the broken part",
                "url": "https://video.zdn.vn/v/broken.mp4",
            },
            id="a video keeps its thumbnail and description",
        ),
        pytest.param(
            "user_send_file",
            "file",
            "",
            {
                "type": "file",
                "size": "4443",
                "name": "hop-dong.pdf",
                "checksum": "0cc175b9c0f1b6a831c399e269772661",
                "file_type": "pdf",
                "url": "https://f.zdn.vn/f/hop-dong.pdf",
            },
            id="a file keeps name, size, checksum and its own type as file_type",
        ),
        pytest.param(
            "user_send_link",
            "link",
            "https://shop.example.vn/sp/123",
            {
                "type": "link",
                "thumbnail": "https://shop.example.vn/sp/123.jpg",
                "description": "Áo thun size M",
                "url": "https://shop.example.vn/sp/123",
            },
            id="a link keeps its preview",
        ),
        pytest.param(
            "user_send_location",
            "location",
            "",
            {
                "type": "location",
                "coordinates": {"latitude": "10.7642473", "longitude": "106.6564313"},
            },
            id="a location keeps its coordinates as strings",
        ),
        pytest.param(
            "user_send_business_card",
            "business_card",
            "Nguyễn Văn An",
            {
                "type": "business_card",
                "thumbnail": "https://s120-ava-talk.zadn.vn/a/an.jpg",
                "description": '{"phone":"0912345678","qrCodeUrl":"https://qr.zalo.me/c/an"}',
                "url": "https://zalo.me/0912345678",
                "phone": "0912345678",
                "qr_code_url": "https://qr.zalo.me/c/an",
            },
            id="a business card names the contact and unpacks phone and qr code",
        ),
    ],
)
def test_a_customer_message_keeps_what_zalo_sent_with_it(
    name: str, kind: str, text: str, attachment: dict[str, Any]
) -> None:
    command = customer_message(name)

    assert command.message.kind == kind
    assert command.message.text == text
    assert command.message.attachments == (attachment,)


def test_numeric_coordinates_keep_every_digit_as_written() -> None:
    raw = payload("user_send_location").replace(b'"10.7642473"', b"10.76424730000000001")

    command = translated(raw)

    assert command.message.attachments[0]["coordinates"]["latitude"] == "10.76424730000000001"


def test_a_business_card_whose_description_is_not_json_keeps_the_description_only() -> None:
    raw = payload("user_send_business_card").replace(
        b'"{\\"phone\\":\\"0912345678\\",\\"qrCodeUrl\\":\\"https://qr.zalo.me/c/an\\"}"',
        b'"call me"',
    )

    attachment = translated(raw).message.attachments[0]

    assert attachment["description"] == "call me"
    assert "phone" not in attachment
    assert "qr_code_url" not in attachment


def test_an_unknown_kind_of_customer_message_is_other_with_its_attachments() -> None:
    command = customer_message("user_send_poll")

    assert command.delivery.event_name == "user_send_poll"
    assert command.message.kind == "other"
    assert command.message.text == "Giao sáng hay chiều?"
    assert command.message.attachments == ({"type": "poll", "options": ["sáng", "chiều"]},)


def test_an_unknown_kind_of_message_we_cannot_read_is_kept_not_refused() -> None:
    raw = b'{"app_id":"1","sender":{"id":"2"},"event_name":"user_send_reaction","timestamp":"3"}'

    command = translated(raw)

    assert isinstance(command, KeepDelivery)
    assert command.delivery.event_name == "user_send_reaction"


# Anonymous visitors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "msg_id"),
    [
        ("anonymous_send_text", "text", "f1d0c2e3a4b5c6d7e8f9"),
        ("anonymous_send_image", "image", "a2e1d3f4b5c6d7e8f9a0"),
        ("anonymous_send_file", "file", "b3f2e4a5c6d7e8f9a0b1"),
        ("anonymous_send_sticker", "sticker", "c4a3f5b6d7e8f9a0b1c2"),
    ],
)
def test_an_anonymous_visitor_is_a_customer_with_a_conversation(
    name: str, kind: str, msg_id: str
) -> None:
    command = customer_message(name)

    assert command.customer == Customer(
        zalo_user_id=VISITOR, anonymous=True, conversation_id=CONVERSATION
    )
    assert command.message.kind == kind
    assert command.message.msg_id == msg_id
    assert command.delivery.msg_id == msg_id


def test_an_anonymous_text_reads_like_a_user_text() -> None:
    assert customer_message("anonymous_send_text").message.text == "xin chào"


def test_an_anonymous_file_keeps_its_details() -> None:
    (attachment,) = customer_message("anonymous_send_file").message.attachments

    assert attachment["name"] == "cv.docx"
    assert attachment["size"] == "120034"
    assert attachment["file_type"] == "docx"


# The OA's own messages ------------------------------------------------------------------------


def test_an_echo_of_our_own_send_names_the_customer_as_recipient_and_no_admin() -> None:
    command = oa_message("oa_send_text")

    assert command.customer == Customer(zalo_user_id=CUSTOMER)
    assert command.admin_id is None
    assert command.message.msg_id == "63ecf43f0df7dba892e6"
    assert command.message.kind == "text"
    assert command.message.text == "Dạ, shop kiểm tra ngay ạ"
    assert command.delivery.msg_id == "63ecf43f0df7dba892e6"


def test_a_message_typed_in_the_oa_manager_names_its_admin() -> None:
    command = oa_message("oa_send_text_manager")

    assert command.customer == Customer(zalo_user_id=CUSTOMER)
    assert command.admin_id == "4417935261208371166"


def test_an_oa_message_to_an_anonymous_visitor_keeps_the_conversation() -> None:
    command = oa_message("oa_send_text_anonymous")

    assert command.customer == Customer(
        zalo_user_id=VISITOR, anonymous=True, conversation_id=CONVERSATION
    )


@pytest.mark.parametrize(
    ("name", "kind", "detail"),
    [
        ("oa_send_image", "image", {"url": "https://photo.zdn.vn/p/menu.jpg"}),
        ("oa_send_gif", "gif", {"url": "https://gif.zdn.vn/g/thanks.gif"}),
        ("oa_send_file", "file", {"name": "bao-gia.xlsx", "size": "98211", "file_type": "xlsx"}),
        ("oa_send_sticker", "sticker", {"id": "c0d1e2f3a4b5c6d7e8f9"}),
    ],
)
def test_oa_media_messages_keep_their_attachment(
    name: str, kind: str, detail: dict[str, str]
) -> None:
    command = oa_message(name)

    assert command.customer == Customer(zalo_user_id=CUSTOMER)
    assert command.message.kind == kind
    (attachment,) = command.message.attachments
    assert attachment["type"] == kind
    assert detail.items() <= attachment.items()


def test_an_oa_list_is_other_and_keeps_the_whole_template() -> None:
    command = oa_message("oa_send_list")

    assert command.message.kind == "other"
    assert command.message.text == "Khuyến mãi tuần này"
    (attachment,) = command.message.attachments
    assert attachment["type"] == "template"
    assert attachment["template_type"] == "list"
    assert attachment["elements"][0]["title"] == "Giảm 20%"
    assert attachment["elements"][0]["default_action"]["type"] == "oa.open.url"


# Receipts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["user_received_message", "user_recieved_message"])
def test_a_delivery_receipt_under_either_spelling_marks_one_message_delivered(name: str) -> None:
    command = translated(payload(name))

    assert isinstance(command, ReceiveMessageStatus)
    assert command.status == "delivered"
    assert command.msg_ids == ("63ecf43f0df7dba892e6",)
    assert command.delivery.event_name == name
    assert command.delivery.msg_id == "63ecf43f0df7dba892e6"


def test_the_real_read_receipt_marks_its_messages_seen() -> None:
    command = translated(payload("user_seen_message"))

    assert isinstance(command, ReceiveMessageStatus)
    assert command.status == "seen"
    assert command.msg_ids == ("e72c0a55e95fcb00924f",)
    assert command.delivery.msg_id is None  # deduplicated on the body's digest instead


def test_the_read_receipt_named_user_read_message_marks_every_listed_message_seen() -> None:
    command = translated(payload("user_read_message"))

    assert isinstance(command, ReceiveMessageStatus)
    assert command.status == "seen"
    assert command.msg_ids == ("63ecf43f0df7dba892e6", "74fd0540e1a8ecb9a3f7")


def test_a_read_receipt_with_a_single_msg_id_is_accepted_too() -> None:
    raw = payload("user_seen_message").replace(
        b'{"msg_ids":["e72c0a55e95fcb00924f"]}', b'{"msg_id":"e72c0a55e95fcb00924f"}'
    )

    command = translated(raw)

    assert isinstance(command, ReceiveMessageStatus)
    assert command.msg_ids == ("e72c0a55e95fcb00924f",)
    assert command.delivery.msg_id == "e72c0a55e95fcb00924f"


# Follows ----------------------------------------------------------------------------------------


def test_a_follow_names_the_follower_and_where_they_came_from() -> None:
    command = translated(payload("follow"))

    assert isinstance(command, ReceiveFollow)
    assert command == ReceiveFollow(
        delivery=command.delivery, zalo_user_id=CUSTOMER, followed=True, source="testing_webhook"
    )
    assert command.delivery.msg_id is None


def test_an_unfollow_is_a_follow_undone() -> None:
    command = translated(payload("unfollow"))

    assert isinstance(command, ReceiveFollow)
    assert command.followed is False
    assert command.zalo_user_id == CUSTOMER
    assert command.source == "oa_profile"


# Everything else ------------------------------------------------------------------------------


def test_an_unknown_event_is_kept_in_the_log_and_not_refused() -> None:
    raw = payload("user_submit_info")

    command = translated(raw)

    assert isinstance(command, KeepDelivery)
    assert command.delivery.event_name == "user_submit_info"
    assert command.delivery.raw_body == raw.decode()
    assert command.delivery.msg_id is None


def test_a_body_without_an_event_name_is_kept_under_an_empty_name() -> None:
    command = translated(b'{"app_id":"1"}')

    assert isinstance(command, KeepDelivery)
    assert command.delivery.event_name == ""
    assert command.delivery.platform_at is None


# What is kept as malformed: signed by Zalo, so never refused -------------------------------


@pytest.mark.parametrize(
    ("name", "before", "after", "missing"),
    [
        ("user_send_text", b'"sender":{"id":"246845883529197922"},', b"", "sender.id"),
        ("user_send_text", b',"msg_id":"96d3cdf3af150460909"', b"", "message.msg_id"),
        ("anonymous_send_text", b'"sender":{"id":"b2d4f6a8c0e1a3c5"},', b"", "sender.id"),
        ("oa_send_text", b'"recipient":{"id":"2687558107438251665"},', b"", "recipient.id"),
        ("oa_send_text", b',"msg_id":"63ecf43f0df7dba892e6"', b"", "message.msg_id"),
        pytest.param(
            "user_send_text",
            b'"96d3cdf3af150460909"',
            b'""',
            "message.msg_id",
            id="an empty msg_id is a missing one",
        ),
        pytest.param(
            "user_send_text",
            b'"sender":{"id":"246845883529197922"}',
            b'"sender":"246845883529197922"',
            "sender.id",
            id="a sender that is not an object",
        ),
        pytest.param(
            "user_seen_message",
            b'{"msg_ids":["e72c0a55e95fcb00924f"]}',
            b"{}",
            "message.msg_id",
            id="a receipt naming no message",
        ),
        pytest.param(
            "follow",
            b'"follower":{"id":"2687558107438251665"},',
            b"",
            "follower.id",
            id="a follow without a follower",
        ),
    ],
)
def test_a_signed_body_missing_an_id_is_kept_as_malformed_naming_the_field(
    name: str, before: bytes, after: bytes, missing: str
) -> None:
    raw = payload(name)
    assert before in raw
    raw = raw.replace(before, after)

    command = translated(raw)
    assert isinstance(command, KeepDelivery)
    assert re.search(re.escape(f"{name}: {missing} is missing"), command.problem or "")


def test_empty_optional_ids_count_as_absent() -> None:
    raw = (
        payload("oa_send_text_manager")
        .replace(b'"admin_id":"4417935261208371166"', b'"admin_id":""')
        .replace(
            b'"msg_id":"74fd0540e1a8ecb9a3f7"',
            b'"msg_id":"74fd0540e1a8ecb9a3f7","conversation_id":""',
        )
    )

    command = translated(raw)

    assert command.admin_id is None
    assert command.customer == Customer(zalo_user_id=CUSTOMER)


# What is refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'{"event_name":"user_send_text"',
        b"[]",
        b'[{"event_name":"follow"}]',
        b'"user_send_text"',
        b"42",
        b"null",
        b'{"app_id":NaN}',
        b'{"text":"\xff\xfe"}',
        "\ufeff{}".encode(),
        '{"event_name":"follow"}'.encode("utf-16"),
        b'{"text":"\\ud800"}',
    ],
)
def test_a_body_that_is_not_a_json_object_in_utf8_is_a_bad_payload(raw: bytes) -> None:
    with pytest.raises(BadPayload):
        parse(raw)


def test_bad_payload_is_a_value_error_for_the_http_layer() -> None:
    assert issubclass(BadPayload, ValueError)


def test_parse_gives_a_dict_of_the_body() -> None:
    body = parse(payload("user_seen_message"))

    assert body["recipient"] == {"id": OA}
    assert body["message"] == {"msg_ids": ["e72c0a55e95fcb00924f"]}


def test_deep_nesting_is_refused_before_decoding() -> None:
    deep = b'{"event_name":"user_send_text","x":' + b"[" * 990 + b"]" * 990 + b"}"
    with pytest.raises(BadPayload, match="nested deeper than 64 levels"):
        parse(deep)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = "[" * 500 + '\\"{'  # an escaped quote does not end the string
    body = parse(('{"event_name":"user_send_text","t":"' + text + '"}').encode())
    assert body["t"] == "[" * 500 + '"{'
