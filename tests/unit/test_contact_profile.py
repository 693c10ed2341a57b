"""A customer's Zalo profile: looked up once per contact, recorded once, reopened by a follow."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot

from domain import actors
from domain.application import Zalodesk
from domain.commands import (
    Customer,
    Delivery,
    InboundMessage,
    ReceiveCustomerMessage,
    ReceiveFollow,
    RecordNoProfile,
    RecordProfile,
)
from domain.contact import Contact
from domain.identity import contact_id
from domain.values import MessageKind

CUSTOMER = "2687558107438251665"
AVATAR = "https://s120-ava-talk.zadn.vn/a/b/c.jpg"


def first_message(desk: Zalodesk, account_id: UUID, anonymous: bool = False) -> UUID:
    delivery = Delivery(account_id, "user_send_text", '{"m":"m1"}', "m1", None)
    message = InboundMessage(msg_id="m1", kind=MessageKind.TEXT, text="Chào shop")
    customer = Customer(CUSTOMER, anonymous=anonymous, conversation_id="c1" if anonymous else None)
    desk.receive(ReceiveCustomerMessage(delivery, customer, message))
    return contact_id(account_id, CUSTOMER)


def profile_events(desk: Zalodesk, cid: UUID) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            type(e).__qualname__,
            {
                k: v
                for k, v in vars(e).items()
                if k in ("display_name", "avatar", "code", "reason", "actor")
            },
        )
        for e in desk.repository.event_store.get(cid)
        if type(e).__qualname__.startswith("Contact.Profile")
    ]


def test_a_first_message_asks_for_the_profile_which_is_recorded_once(
    desk: Zalodesk, account_id: UUID
) -> None:
    cid = first_message(desk, account_id)
    job = desk.profile_job(cid)
    assert job is not None and (job.zalo_user_id, job.account_id) == (CUSTOMER, account_id)

    assert desk.record_profile(RecordProfile(cid, "Nguyễn Văn A", AVATAR)) is True
    # The same lookup answered again (a restart, a round before the views caught up).
    assert desk.record_profile(RecordProfile(cid, "Nguyễn Văn A", AVATAR)) is False
    assert desk.profile_job(cid) is None

    contact = desk.contact(cid)
    assert (contact.display_name, contact.avatar) == ("Nguyễn Văn A", AVATAR)
    assert profile_events(desk, cid) == [
        (
            "Contact.ProfileFetched",
            {"display_name": "Nguyễn Văn A", "avatar": AVATAR, "actor": actors.PROFILES},
        )
    ]


def test_an_anonymous_visitor_has_no_profile_to_look_up(desk: Zalodesk, account_id: UUID) -> None:
    cid = first_message(desk, account_id, anonymous=True)
    assert desk.profile_job(cid) is None
    assert desk.record_profile(RecordProfile(cid, "x", None)) is False


def test_a_profile_zalo_refuses_is_asked_again_once_the_customer_follows(
    desk: Zalodesk, account_id: UUID
) -> None:
    cid = first_message(desk, account_id)
    assert desk.record_no_profile(RecordNoProfile(cid, -213, "not a follower")) is True
    assert desk.profile_job(cid) is None

    delivery = Delivery(account_id, "follow", '{"f":1}', None, None)
    desk.receive(ReceiveFollow(delivery, CUSTOMER, followed=True))
    assert desk.profile_job(cid) is not None
    assert desk.record_profile(RecordProfile(cid, "Lan", None)) is True
    assert [name for name, _ in profile_events(desk, cid)] == [
        "Contact.ProfileUnavailable",
        "Contact.ProfileFetched",
    ]


def test_a_contact_snapshotted_before_profiles_existed_still_wants_one(
    desk: Zalodesk, account_id: UUID
) -> None:
    cid = first_message(desk, account_id)
    contact = desk.contact(cid)
    stored = desk.mapper.to_stored_event(Snapshot.take(contact))
    state = desk.mapper.transcoder.decode(stored.state)
    for name in ("display_name", "avatar", "profile_open"):
        del state["state"][name]
    state["state"].pop("class_version", None)
    stored = type(stored)(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=desk.mapper.transcoder.encode(state),
    )
    snapshot = desk.mapper.to_domain_event(stored)
    assert isinstance(snapshot, Snapshot)
    restored = snapshot.mutate(None)
    assert isinstance(restored, Contact)
    assert restored.wants_profile and restored.display_name is None
