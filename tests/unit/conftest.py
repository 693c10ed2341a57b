"""The domain on the in-memory store, with a clock the tests move by hand."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from attrs import evolve

from domain.account import fingerprint
from domain.application import Zalodesk
from domain.clock import FrozenClock
from domain.commands import ConnectAccount


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def desk(clock: FrozenClock) -> Zalodesk:
    return Zalodesk(clock=clock)


def connect_shop(**changes: Any) -> ConnectAccount:
    """An admin's form connecting a new Official Account; ``changes`` replace its fields."""
    command = ConnectAccount(
        account_id=uuid4(),
        name="Shop",
        app_id="1",
        oa_id="2",
        secrets_fingerprint=fingerprint("s", "k"),
        tokens_fingerprint=fingerprint("a", "r"),
        access_token_expires_in=90000,
        chat_inactivity_seconds=600,
        allow_postpone=False,
        verification_code=None,
        actor="agent:admin",
    )
    return evolve(command, **changes)


@pytest.fixture
def account_id(desk: Zalodesk) -> UUID:
    return desk.connect_account(connect_shop()).id
