"""Customers with names: their Zalo profile looked up off the webhook's path, against a fake
Zalo over real HTTP, and shown wherever the customer is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from attrs import frozen
from falcon import testing

from adapters.settings import Settings
from adapters.workers.profiles import ProfileLookups
from api import bootstrap, cli
from api.services import Services
from domain.clock import FrozenClock
from tests.integration.conftest import ZaloPlatform, audit, talking_to
from tests.integration.test_outbox import metric
from tests.support import zalo
from tests.support.fake_zalo import FakeZalo

CUSTOMER = "3106597011220386741"
NAME = "Nguyễn Văn A"
AVATAR = "https://s240-ava-talk.zadn.vn/9/a/b/c/240/avatar.jpg"
RETRIED = 'zalodesk_profile_lookups_total{outcome="retry"}'
FETCHED = 'zalodesk_profile_lookups_total{outcome="fetched"}'


@pytest.fixture
def settings(settings: Settings, fake: FakeZalo) -> Settings:
    return talking_to(settings, fake)


@frozen
class Desk:
    """The service with its profile worker, a customer's Zalo, and the fake platform."""

    platform: ZaloPlatform
    client: testing.TestClient
    project: Any
    fake: FakeZalo
    lookups: ProfileLookups
    clock: FrozenClock

    def look_up(self, lookups: ProfileLookups | None = None) -> int:
        """One round of the profile worker, every lookup it started finished."""
        worker = lookups or self.lookups
        started = worker.tick()
        worker.wait_until_idle()
        return started

    def customer(self) -> dict[str, Any]:
        """The customer of the only chat in the inbox, once the views caught up."""
        self.project()
        [chat] = self.client.simulate_get("/api/chats").json["chats"]
        return dict(chat["customer"])

    def audit(self, aggregate_id: str) -> list[dict[str, Any]]:
        return audit(self.client, aggregate_id)


@pytest.fixture
def desk(
    platform: ZaloPlatform,
    client: testing.TestClient,
    project: Any,
    fake: FakeZalo,
    services: Services,
    clock: FrozenClock,
) -> Iterator[Desk]:
    running = bootstrap.workers(services)
    yield Desk(platform, client, project, fake, running.profiles, clock)
    running.close()


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_a_first_message_brings_the_customers_name_everywhere(
    desk: Desk, services: Services, db: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    client, lookups = desk.client, desk.lookups
    desk.fake.set_profile(CUSTOMER, NAME, AVATAR)
    assert desk.platform.text(CUSTOMER, "Còn size M không?").status_code == 200
    assert desk.fake.profile_calls == []  # never on the webhook's path
    customer = desk.customer()
    assert (customer["display_name"], customer["avatar"]) == (None, None)

    assert desk.look_up() == 1
    # The views have not caught up: the next round, and a restarted worker, ask no more.
    desk.look_up()
    restarted = ProfileLookups(lookups.parts)
    desk.look_up(restarted)
    restarted.close()
    assert desk.fake.profile_calls == [CUSTOMER]

    shown = {
        "id": customer["id"],
        "zalo_user_id": CUSTOMER,
        "anonymous": False,
        "display_name": NAME,
        "avatar": AVATAR,
    }
    assert desk.customer() == shown
    [chat] = client.simulate_get("/api/chats").json["chats"]
    assert client.simulate_get(f"/api/chats/{chat['id']}").json["customer"] == shown
    client.simulate_post(f"/api/chats/{chat['id']}/end", json={"status": "open"})
    desk.project()
    assert client.simulate_get(f"/api/chats/{chat['id']}").json["customer"] == shown
    [listed] = client.simulate_get("/api/tickets").json["tickets"]
    assert listed["customer"] == shown
    assert client.simulate_get(f"/api/tickets/{listed['id']}").json["customer"] == shown

    contact = client.simulate_get(f"/api/contacts/{customer['id']}").json
    assert contact == {
        **shown,
        "account_id": desk.platform.account["id"],
        "following": False,
        "created_at": contact["created_at"],
        "tickets": [listed],
    }
    page = client.simulate_get("/api/contacts").json
    assert page == {
        "contacts": [{k: v for k, v in contact.items() if k != "tickets"}],
        "next_cursor": None,
    }

    [fetched] = [e for e in desk.audit(customer["id"]) if e["type"] == "Contact.ProfileFetched"]
    assert fetched["data"]["display_name"] == NAME and fetched["actor"] == "system:profiles"
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)
    assert cli.main(["audit", customer["id"]]) == 0
    assert f'Zalo profile fetched: "{NAME}"' in capsys.readouterr().out


def test_a_failing_lookup_is_retried_later_and_never_delays_the_webhook(desk: Desk) -> None:
    retried = metric(desk.client, RETRIED)
    fetched = metric(desk.client, FETCHED)
    desk.fake.set_profile(CUSTOMER, NAME)
    desk.fake.fail_profile_next(status=502)  # Zalo's front end is down
    desk.fake.fail_profile_next(-32)  # then its rate limit
    assert desk.platform.text(CUSTOMER, "Alo").status_code == 200
    desk.project()

    assert desk.look_up() == 1
    assert desk.look_up() == 0  # not again at once: after a pause
    desk.clock.advance(11)
    assert desk.look_up() == 1
    assert desk.platform.text(CUSTOMER, "Alo?").status_code == 200  # the webhook does not wait
    desk.clock.advance(11)
    assert desk.look_up() == 0  # the second pause is longer
    desk.clock.advance(20)
    assert desk.look_up() == 1
    assert desk.fake.profile_calls == [CUSTOMER]  # the fake counts the calls it answered itself
    assert desk.customer()["display_name"] == NAME
    desk.clock.advance(3600)
    assert desk.look_up() == 0
    assert metric(desk.client, RETRIED) == retried + 2
    assert metric(desk.client, FETCHED) == fetched + 1


def test_a_customer_who_does_not_follow_has_no_profile_until_they_follow(desk: Desk) -> None:
    desk.platform.text(CUSTOMER, "Shop ơi")
    desk.project()
    desk.look_up()  # Zalo: -213, does not follow the OA
    customer = desk.customer()
    assert customer["display_name"] is None
    desk.clock.advance(7200)
    assert desk.look_up() == 0  # not asked again
    events = desk.audit(customer["id"])
    [unavailable] = [e for e in events if e["type"] == "Contact.ProfileUnavailable"]
    assert unavailable["data"]["code"] == -213

    desk.fake.set_profile(CUSTOMER, "Lan")
    desk.platform.send(zalo.follow(CUSTOMER))
    desk.project()
    assert desk.look_up() == 1
    assert desk.customer()["display_name"] == "Lan"
    assert desk.fake.profile_calls == [CUSTOMER, CUSTOMER]


def test_an_expired_token_is_refreshed_and_the_lookup_goes_on(desk: Desk) -> None:
    desk.fake.set_profile(CUSTOMER, NAME)
    desk.fake.expire_access_token()
    desk.platform.text(CUSTOMER, "Alo")
    desk.project()
    assert desk.look_up() == 1
    assert desk.fake.refresh_calls == 1
    assert desk.customer()["display_name"] == NAME
    assert "ZaloAccount.TokensRotated" in types(desk.audit(desk.platform.account["id"]))


def test_an_anonymous_visitor_is_never_looked_up(desk: Desk) -> None:
    body = zalo.user_text("b2d4f6a8c0e1a3c5", "xin chào", conversation_id="8f7e6d5c4b3a29180716")
    assert desk.platform.send({**body, "event_name": "anonymous_send_text"}).status_code == 200
    desk.project()
    assert desk.look_up() == 0
    assert desk.fake.profile_calls == []
    customer = desk.customer()
    assert (customer["anonymous"], customer["display_name"], customer["avatar"]) == (
        True,
        None,
        None,
    )


def test_the_contact_list_filters_and_pages(desk: Desk) -> None:
    client = desk.client
    names = {"1000000000000000001": "Trần Thị Bích", "1000000000000000002": "Lê Văn Cường"}
    for user_id, name in names.items():
        desk.fake.set_profile(user_id, name)
    for user_id in [*names, "1000000000000000003"]:
        desk.platform.text(user_id, "Chào shop")
        desk.clock.advance(1)
    desk.project()
    desk.look_up()
    desk.project()

    def listed(**params: Any) -> list[str | None]:
        answer = client.simulate_get("/api/contacts", params=params)
        assert answer.status_code == 200, answer.text
        return [c["display_name"] for c in answer.json["contacts"]]

    assert listed() == [None, "Lê Văn Cường", "Trần Thị Bích"]  # newest first
    assert listed(q="bích") == ["Trần Thị Bích"]
    assert listed(q="0000003") == [None]
    assert listed(q="%") == [] and listed(q="_") == []
    assert listed(account_id=desk.platform.account["id"], q="văn") == ["Lê Văn Cường"]
    assert listed(account_id="6f1c2b0e-3c0a-4f57-9a53-1f3f2f2c9a10") == []

    first = client.simulate_get("/api/contacts", params={"limit": 2}).json
    assert len(first["contacts"]) == 2 and first["next_cursor"]
    rest = client.simulate_get(
        "/api/contacts", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json
    assert [c["display_name"] for c in rest["contacts"]] == ["Trần Thị Bích"]
    assert rest["next_cursor"] is None

    assert client.simulate_get("/api/contacts", params={"page": "2"}).status_code == 400
    assert client.simulate_get("/api/contacts", params={"cursor": "x"}).status_code == 400
    assert client.simulate_get("/api/contacts", params={"limit": "0"}).status_code == 400
    unknown = client.simulate_get("/api/contacts/6f1c2b0e-3c0a-4f57-9a53-1f3f2f2c9a10")
    assert unknown.status_code == 404


def test_a_ticket_keeps_the_customer_it_is_given(desk: Desk) -> None:
    client = desk.client
    by_phone = client.simulate_post(
        "/api/tickets",
        json={"subject": "Đổi hàng", "text": "Khách gọi điện", "customer": {"name": "Chị Hoa"}},
    )
    assert by_phone.status_code == 201, by_phone.text
    who = {"account_id": desk.platform.account["id"], "zalo_user_id": CUSTOMER, "name": "Anh Minh"}
    by_zalo = client.simulate_post("/api/tickets", json={"text": "Khách email", "customer": who})
    assert by_zalo.status_code == 201, by_zalo.text
    desk.project()

    def customer_of(ticket_id: str) -> dict[str, Any]:
        return dict(client.simulate_get(f"/api/tickets/{ticket_id}").json["customer"])

    assert customer_of(by_phone.json["id"]) == {
        "id": None,
        "zalo_user_id": None,
        "anonymous": False,
        "display_name": "Chị Hoa",
        "avatar": None,
    }
    named = customer_of(by_zalo.json["id"])
    assert (named["zalo_user_id"], named["display_name"]) == (CUSTOMER, "Anh Minh")
    assert "Ticket.CustomerNamed" in types(desk.audit(by_zalo.json["id"]))
    listed = {t["id"]: t["customer"] for t in client.simulate_get("/api/tickets").json["tickets"]}
    assert listed[by_phone.json["id"]]["display_name"] == "Chị Hoa"

    # Once Zalo tells the customer's own name, it is the one shown.
    desk.fake.set_profile(CUSTOMER, NAME, AVATAR)
    assert desk.look_up() == 1
    desk.project()
    assert customer_of(by_zalo.json["id"])["display_name"] == NAME
    contact = client.simulate_get(f"/api/contacts/{named['id']}").json
    assert [t["id"] for t in contact["tickets"]] == [by_zalo.json["id"]]


def test_the_document_shows_the_customer_and_the_contact_endpoints(
    client: testing.TestClient,
) -> None:
    document = client.simulate_get("/openapi.json").json
    assert {"/api/contacts", "/api/contacts/{contact_id}"} <= set(document["paths"])
    customer = document["components"]["schemas"]["Customer"]
    assert {"display_name", "avatar"} <= set(customer["required"])
    parameters = {p["name"] for p in document["paths"]["/api/contacts"]["get"]["parameters"]}
    assert parameters == {"account_id", "q", "limit", "cursor"}
