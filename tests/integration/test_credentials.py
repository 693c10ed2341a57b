"""Account credentials at rest: encrypted in a table of their own, under the installation's
key, and nowhere readable in the database, least of all in the log."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from attrs import evolve
from falcon import testing

from adapters.credential_cipher import KEY_FILE, credential_cipher
from adapters.postgres.credentials import (
    Credentials,
    CredentialsUnreadable,
    WrongCredentialKey,
    open_credentials,
)
from adapters.settings import Settings, SettingsError
from api import bootstrap, cli
from api.services import Services
from tests.integration.conftest import ACCOUNT_FORM, audit
from tests.support.fake_zalo import FakeZalo

CREDENTIALS = Credentials(
    app_secret="app-secret-1f9a",
    oa_secret_key="oa-secret-key-77c2",
    access_token="access-token-e41b",
    refresh_token="refresh-token-0d93",
)


def a_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def fake() -> Iterator[FakeZalo]:
    """Zalo, once the app secret has been replaced by ``app-secret-2nd``."""
    with FakeZalo(app_secret="app-secret-2nd") as platform:
        yield platform


def test_credentials_come_back_as_they_were_stored(services: Services) -> None:
    store, account_id = services.credentials, uuid4()
    assert store.get(account_id) is None
    store.put(account_id, CREDENTIALS)
    assert store.get(account_id) == CREDENTIALS
    store.put(account_id, CREDENTIALS.with_tokens("access-2", "refresh-2"))
    assert store.everything() == [(account_id, CREDENTIALS.with_tokens("access-2", "refresh-2"))]
    store.remove(account_id)
    assert store.get(account_id) is None
    assert not any(value in repr(CREDENTIALS) for value in CREDENTIALS.to_json().values())


def test_a_row_copied_to_another_account_does_not_open(services: Services, db: str) -> None:
    owner, other = uuid4(), uuid4()
    services.credentials.put(owner, CREDENTIALS)
    with psycopg.connect(db) as conn:
        conn.execute(
            "INSERT INTO account_credentials (account_id, sealed) "
            "SELECT %s, sealed FROM account_credentials WHERE account_id = %s",
            (other, owner),
        )
    with pytest.raises(CredentialsUnreadable, match=f"credentials of account {other} cannot"):
        services.credentials.get(other)


def test_a_row_that_cannot_be_decrypted_is_an_account_to_reconnect(
    client: testing.TestClient,
    account: dict[str, Any],
    db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE account_credentials SET sealed = sealed || '\\x00'::bytea")
    webhook = client.simulate_post(
        f"/webhooks/zalo/{account['id']}", body=b'{"event_name":"follow"}', headers={}
    )
    assert webhook.status_code == 401

    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)
    path = tmp_path / "log.jsonl"
    capsys.readouterr()
    assert cli.main(["log", "export", "--include-secrets", "-o", str(path)]) == 2
    [error] = [line for line in capsys.readouterr().err.splitlines() if "zalodesk:" in line]
    assert error.startswith(f"zalodesk: the stored credentials of account {account['id']} cannot")
    assert not path.exists()

    whole = {k: f"{k}-again" for k in ("app_secret", "oa_secret_key", "access_token")}
    assert (
        client.simulate_patch(
            f"/api/accounts/{account['id']}", json={**whole, "refresh_token": "refresh-again"}
        ).status_code
        == 200
    )
    assert cli.main(["log", "export", "--include-secrets", "-o", str(path)]) == 0


def test_the_generated_key_is_owner_only_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = credential_cipher(settings)
    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    written = key_file.read_text()
    second = credential_cipher(settings)
    assert key_file.read_text() == written
    account_id = uuid4()
    assert second.open(account_id, first.seal(account_id, b"still readable")) == b"still readable"
    assert sorted(p.name for p in key_file.parent.iterdir()) == [KEY_FILE]  # no draft left


def test_a_key_from_the_environment_leaves_the_data_directory_alone(tmp_path: Path) -> None:
    cipher = credential_cipher(Settings(data_dir=tmp_path, cipher_key=a_key()))
    assert cipher.source == "ZALODESK_CIPHER_KEY"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("not base64 at all!", "ZALODESK_CIPHER_KEY must be base64"),
        (base64.b64encode(b"ten bytes!").decode(), "must be a key of 16, 24 or 32 bytes, not 10"),
    ],
)
def test_an_unusable_key_is_named_in_one_sentence(tmp_path: Path, key: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        credential_cipher(Settings(data_dir=tmp_path, cipher_key=key))
    (tmp_path / KEY_FILE).write_text(key)
    with pytest.raises(SettingsError, match=f"the key file {tmp_path / KEY_FILE}"):
        credential_cipher(Settings(data_dir=tmp_path))


def test_a_wrong_key_stops_every_command_with_one_clear_line(
    account: dict[str, Any],
    db: str,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    monkeypatch.setenv("ZALODESK_DATABASE_URL", db)
    assert cli.main(["audit", account["id"]]) == 0  # the key file the account was stored with
    capsys.readouterr()

    monkeypatch.setenv("ZALODESK_CIPHER_KEY", a_key())
    assert cli.main(["audit", account["id"]]) == 2
    assert cli.main(["token", "create", "lan"]) == 2
    for error in capsys.readouterr().err.splitlines():
        assert error.startswith("zalodesk: the account credentials in this database were ")
        assert "another key than ZALODESK_CIPHER_KEY" in error

    # A lost key file is a new key: the same refusal, not a silent second key.
    monkeypatch.delenv("ZALODESK_CIPHER_KEY")
    (data_dir / KEY_FILE).unlink()
    assert cli.main(["audit", account["id"]]) == 2
    [error] = capsys.readouterr().err.splitlines()
    assert f"another key than the key file {data_dir.resolve() / KEY_FILE}" in error


def test_the_service_does_not_start_with_a_wrong_key(
    account: dict[str, Any], settings: Settings
) -> None:
    with pytest.raises(WrongCredentialKey):
        bootstrap.build(Settings(cipher_key=a_key()), str(settings.database_url))


def test_no_secret_is_readable_anywhere_in_the_database(
    services: Services, client: testing.TestClient, fake: FakeZalo, db: str, project: Any
) -> None:
    account = client.simulate_post("/api/accounts", json=ACCOUNT_FORM).json
    path = f"/api/accounts/{account['id']}"
    client.simulate_patch(path, json={"name": "Shop 2", "app_secret": "app-secret-2nd"})
    client.simulate_patch(path, json={"oa_secret_key": "oa-secret-key-2nd"})
    client.simulate_patch(
        path, json={"access_token": "access-token-2nd", "refresh_token": fake.refresh_token}
    )
    talking_to_fake = evolve(
        services, settings=evolve(services.settings, zalo_oauth_base=fake.oauth_base)
    )
    refresher = bootstrap.workers(talking_to_fake).outbox.refresher
    refresher.refresh(UUID(account["id"]), "access-token-2nd")
    project()
    secrets = [
        *(ACCOUNT_FORM[k] for k in ("app_secret", "oa_secret_key", "access_token")),
        ACCOUNT_FORM["refresh_token"],
        "app-secret-2nd",
        "oa-secret-key-2nd",
        "access-token-2nd",
        fake.access_token,  # the pair the refresh brought
        fake.refresh_token,
    ]

    events = audit(client, account["id"])
    assert [e["type"] for e in events] == [
        "ZaloAccount.Connected",
        "ZaloAccount.Renamed",
        "ZaloAccount.SigningSecretsReplaced",
        "ZaloAccount.SigningSecretsReplaced",
        "ZaloAccount.TokensRotated",
        "ZaloAccount.TokensRotated",
    ]
    assert services.credentials.get(UUID(account["id"])) == Credentials(
        "app-secret-2nd", "oa-secret-key-2nd", fake.access_token, fake.refresh_token
    )
    with psycopg.connect(db) as conn:
        stored_events = [
            bytes(row[0])
            for table in ("zalodesk_events", "zalodesk_snapshots")
            for row in conn.execute(f"SELECT state FROM {table}").fetchall()
        ]
        sealed = [
            bytes(row[0]) + str(row[1:]).encode()
            for row in conn.execute(
                "SELECT sealed, account_id, updated_at FROM account_credentials"
            )
        ]
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename NOT IN ('zalodesk_events', 'zalodesk_snapshots', "
                "'account_credentials')"
            ).fetchall()
        ]
        everything_else = [
            str(row[0]) for t in tables for row in conn.execute(f"SELECT t::text FROM {t} t")
        ]
    assert len(stored_events) >= len(events) and sealed
    for secret in secrets:
        assert not any(secret.encode() in state for state in stored_events), secret
        assert not any(secret.encode() in row for row in sealed), secret
        assert not any(secret in row for row in everything_else), secret


def test_a_store_opened_with_the_installations_key(
    services: Services, settings: Settings, account: dict[str, Any]
) -> None:
    # Another process of the same installation reads what this one wrote.
    reopened = open_credentials(str(settings.database_url), services.pool, settings)
    stored = reopened.get(UUID(account["id"]))
    assert stored is not None and stored.signing_key == ACCOUNT_FORM["oa_secret_key"]
