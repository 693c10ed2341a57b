"""Contact.Registered version 2 gained display_name: old stored events and snapshots still load.

docs/upcasting.md walks through this example.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain import identity
from domain.application import Zalodesk
from domain.contact import Contact

ACCOUNT = UUID("0b0e9a62-22f8-4ac2-9f65-4ee1c1b8a7a4")
USER = "2512523625412515"
AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def app() -> Iterator[Zalodesk]:
    app = Zalodesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()


def version_1_registered(app: Zalodesk, contact_id: UUID) -> StoredEvent:
    """A Contact.Registered as version 1 of the class wrote it: no display_name, no class_version."""
    state = {
        "timestamp": AT,
        "originator_topic": get_topic(Contact),
        "account_id": ACCOUNT,
        "zalo_user_id": USER,
        "anonymous": False,
        "conversation_id": None,
        "actor": f"customer:{USER}",
        "at": AT,
    }
    return StoredEvent(
        originator_id=contact_id,
        originator_version=1,
        topic=get_topic(Contact.Registered),
        state=app.mapper.transcoder.encode(state),
    )


def test_an_old_registered_event_is_read_with_no_display_name(app: Zalodesk) -> None:
    contact_id = identity.contact_id(ACCOUNT, USER)
    app.recorder.insert_events([version_1_registered(app, contact_id)])

    contact: Contact = app.repository.get(contact_id)

    assert isinstance(contact, Contact)
    assert contact.display_name is None and contact.zalo_user_id == USER
    [stored] = app.recorder.select_events(contact_id)
    event = app.mapper.to_domain_event(stored)
    assert isinstance(event, Contact.Registered) and event.display_name is None


def test_new_events_are_stored_as_version_2(app: Zalodesk) -> None:
    contact = Contact(
        account_id=ACCOUNT,
        zalo_user_id=USER,
        anonymous=False,
        conversation_id=None,
        actor=f"customer:{USER}",
        at=AT,
        display_name="Chị Mai",
    )
    app.save(contact)

    [stored] = app.recorder.select_events(contact.id)
    state = json.loads(stored.state)
    assert state["class_version"] == 2 and state["display_name"] == "Chị Mai"
    assert app.repository.get(contact.id).display_name == "Chị Mai"


def test_callers_that_do_not_know_display_name_still_work(app: Zalodesk) -> None:
    contact = Contact(
        account_id=ACCOUNT,
        zalo_user_id=USER,
        anonymous=True,
        conversation_id="widget-1",
        actor=f"customer:{USER}",
        at=AT,
    )
    assert contact.display_name is None


def test_an_old_snapshot_is_upcast_too(app: Zalodesk) -> None:
    contact_id = identity.contact_id(ACCOUNT, USER)
    app.recorder.insert_events([version_1_registered(app, contact_id)])
    contact: Contact = app.repository.get(contact_id)
    contact.follow(source="oa_profile", actor=f"customer:{USER}", at=AT)
    app.save(contact)
    # A snapshot as version 1 of the aggregate class took it: no display_name in its state.
    stored = app.mapper.to_stored_event(Snapshot.take(contact))
    state = app.mapper.transcoder.decode(stored.state)
    del state["state"]["display_name"], state["state"]["class_version"]
    old = StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, encode(app, state)
    )
    assert app.snapshots is not None
    app.snapshots.recorder.insert_events([old])
    contact.unfollow(source=None, actor=f"customer:{USER}", at=AT)
    app.save(contact)

    again: Contact = app.repository.get(contact_id, version=3)  # from the snapshot, then one event

    assert again.display_name is None and again.following is False


def encode(app: Zalodesk, state: dict[str, object]) -> bytes:
    return app.mapper.transcoder.encode(state)
