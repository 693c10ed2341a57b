"""The app wired as in production, on the run's database, driven through Falcon's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from attrs import evolve
from falcon import testing

from adapters.postgres.connection import WORKER_PROCESS, Connections
from adapters.settings import Settings
from adapters.workers.inactivity_timer import InactivityTimer
from api import bootstrap
from api.services import Services
from domain.clock import FrozenClock
from tests.support import zalo
from tests.support.fake_zalo import FakeZalo

ADMIN = {"Authorization": "Bearer admin-token"}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(db: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=db,
        data_dir=data_dir,
        admin_token="admin-token",
        public_url="https://desk.example",
    )


@pytest.fixture
def fake() -> Iterator[FakeZalo]:
    """Zalo's API and OAuth servers, faked over real HTTP."""
    with FakeZalo() as platform:
        yield platform


def talking_to(settings: Settings, fake: FakeZalo) -> Settings:
    """The same settings, with Zalo's API and OAuth at the fake platform."""
    return evolve(settings, zalo_api_base=fake.api_base, zalo_oauth_base=fake.oauth_base)


@pytest.fixture
def connections() -> Connections:
    """What one process of the tests may hold; a module asks for more by overriding it."""
    return WORKER_PROCESS


@pytest.fixture
def services(
    settings: Settings, db: str, clock: FrozenClock, connections: Connections
) -> Iterator[Services]:
    built = bootstrap.build(settings, db, clock, connections)
    yield built
    built.close()


@pytest.fixture
def client(settings: Settings, services: Services) -> testing.TestClient:
    return testing.TestClient(bootstrap.http_app(services), headers=ADMIN)


@pytest.fixture
def project(services: Services) -> Any:
    """Bring every view up to date with the log, as the projection worker would."""
    return bootstrap.projector(services).catch_up


@pytest.fixture
def timer(services: Services) -> InactivityTimer:
    return bootstrap.workers(services).inactivity


def only_chat(client: testing.TestClient, project: Any) -> dict[str, Any]:
    """The one chat in the inbox, once every view has caught up with the log."""
    project()
    [chat] = client.simulate_get("/api/chats").json["chats"]
    return dict(chat)


def audit(client: testing.TestClient, aggregate_id: object) -> list[dict[str, Any]]:
    """An aggregate's events as GET /api/audit/{id} lists them."""
    return list(client.simulate_get(f"/api/audit/{aggregate_id}").json["events"])


class ZaloPlatform:
    """Sends webhooks the way Zalo does: compact JSON, signed with the OA secret key."""

    def __init__(self, client: testing.TestClient, account: dict[str, Any], key: str) -> None:
        self.client = client
        self.account = account
        self.key = key
        self.path = f"/webhooks/zalo/{account['id']}"

    def send(self, body: dict[str, Any], **headers: str) -> testing.Result:
        raw, signed_headers = zalo.signed(body, self.key)
        return self.client.simulate_post(self.path, body=raw, headers={**signed_headers, **headers})

    def text(self, user_id: str, text: str, **extra: Any) -> testing.Result:
        return self.send(zalo.user_text(user_id, text, **extra))


ACCOUNT_FORM = {
    "name": "Shop Hoa Mai",
    "app_id": zalo.APP_ID,
    "oa_id": zalo.OA_ID,
    "app_secret": "app-secret-value",
    "oa_secret_key": "oa-secret-key-value",
    "access_token": "access-token-value",
    "refresh_token": "refresh-token-value",
}


@pytest.fixture
def account(client: testing.TestClient) -> dict[str, Any]:
    result = client.simulate_post("/api/accounts", json=ACCOUNT_FORM)
    assert result.status_code == 201, result.text
    return dict(result.json)


@pytest.fixture
def platform(client: testing.TestClient, account: dict[str, Any]) -> ZaloPlatform:
    return ZaloPlatform(client, account, ACCOUNT_FORM["oa_secret_key"])
