"""A customer's name as a user sees it arrive: ``zalodesk serve`` and its worker process
asking a fake Zalo over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Service, service_env, wait_for
from tests.support.databases import fresh_database
from tests.support.fake_zalo import FakeZalo

CUSTOMER = "2687558107438251665"


@pytest.fixture
def with_zalo(tmp_path: Path) -> Iterator[tuple[Service, FakeZalo]]:
    with FakeZalo() as fake, fresh_database("zalodesk_profiles") as url:
        env = service_env(tmp_path / "data", url)
        env["ZALODESK_ZALO_API_BASE"] = fake.api_base
        env["ZALODESK_ZALO_OAUTH_BASE"] = fake.oauth_base
        running = Service(env, logs=tmp_path / "logs", workers=1).start()
        try:
            yield running, fake
        finally:
            running.stop()
        running.assert_no_tracebacks()


def test_the_worker_process_names_the_customer_soon_after_their_first_message(
    with_zalo: tuple[Service, FakeZalo],
) -> None:
    service, fake = with_zalo
    account = service.connect_account()
    fake.access_token = account.form["access_token"]
    fake.set_profile(CUSTOMER, "Nguyễn Thị Lan", "https://s240-ava-talk.zadn.vn/lan.jpg")
    fake.fail_profile_next(status=502)  # the first try fails: the next one, 10 s later, works

    assert account.send(account.text(CUSTOMER, "Chào shop")).status == 200

    def named() -> dict[str, Any] | None:
        chats = service.chats(account.id)
        shown = chats[0]["customer"] if chats else None
        return shown if shown and shown["display_name"] else None

    customer = wait_for(named, 30, "the customer's name in the inbox")
    assert customer["avatar"] == "https://s240-ava-talk.zadn.vn/lan.jpg"
    contacts = service.admin_get("/api/contacts?q=lan")["contacts"]
    assert [c["id"] for c in contacts] == [customer["id"]]
    assert fake.profile_calls == [CUSTOMER]
