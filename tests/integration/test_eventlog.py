"""The log as JSON lines: export, import into an empty store, and the refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.cryptography import AESCipher
from falcon import testing
from psycopg_pool import ConnectionPool

from adapters.credential_cipher import credential_cipher
from adapters.log_tools.event_log import EventLog
from adapters.postgres.credentials import Credentials, CredentialStore
from adapters.postgres.event_store import open_application
from adapters.postgres.schema import prepare
from adapters.settings import Settings
from api import cli
from api.services import Services
from domain.account import ZaloAccount, fingerprint
from tests.integration.conftest import ACCOUNT_FORM, ZaloPlatform, only_chat
from tests.support.databases import fresh_database

CUSTOMER = "2512523625412515"
SECRETS = ["app-secret-value", "oa-secret-key-value", "access-token-value", "refresh-token-value"]


@pytest.fixture
def history(platform: ZaloPlatform, client: testing.TestClient, project: Any) -> dict[str, Any]:
    """An account whose secrets changed, a customer, a chat with a reply, ended, reactivated."""
    account_id = platform.account["id"]
    client.simulate_patch(f"/api/accounts/{account_id}", json={"app_secret": "new-app-secret"})
    platform.text(CUSTOMER, "Xin chào, shop còn hàng không?")
    chat = only_chat(client, project)
    client.simulate_post(f"/api/chats/{chat['id']}/messages", json={"text": "Dạ còn ạ"})
    client.simulate_post(f"/api/chats/{chat['id']}/end", json={"status": "pending"})
    platform.text(CUSTOMER, "Cảm ơn")
    return {"account_id": account_id, "chat": chat}


@pytest.fixture
def other_db() -> Iterator[str]:
    with fresh_database() as url:
        prepare(url)
        yield url


@pytest.fixture
def exported(
    history: dict[str, Any], db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The history's whole log, credentials included, exported from the run's database."""
    path = tmp_path / "log.jsonl"
    use(monkeypatch, db)
    cli.main(["log", "export", "--include-secrets", "-o", str(path)])
    return path


def use(monkeypatch: pytest.MonkeyPatch, url: str, cipher_key: str | None = None) -> None:
    monkeypatch.setenv("ZALODESK_DATABASE_URL", url)
    if cipher_key:
        monkeypatch.setenv("ZALODESK_CIPHER_KEY", cipher_key)
    else:
        monkeypatch.delenv("ZALODESK_CIPHER_KEY", raising=False)


def event_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM zalodesk_events").fetchone()
    return int(row[0]) if row else 0


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def credentials_in(url: str) -> dict[str, Credentials]:
    """The credential store of ``url``, read with the key of the environment's installation."""
    pool: ConnectionPool[Any] = ConnectionPool(url, min_size=1, max_size=1, open=True)
    try:
        store = CredentialStore(url, pool, credential_cipher(Settings.from_env()))
        return {str(account_id): c for account_id, c in store.everything()}
    finally:
        pool.close()


def raw_credentials(url: str) -> bytes:
    with psycopg.connect(url) as conn:
        return b"".join(bytes(r[0]) for r in conn.execute("SELECT sealed FROM account_credentials"))


def test_export_import_export_gives_the_identical_file_across_cipher_keys(
    history: dict[str, Any],
    db: str,
    other_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    use(monkeypatch, db)
    assert cli.main(["log", "export", "--include-secrets", "-o", str(first)]) == 0

    # The new home encrypts its store with a key of its own.
    use(monkeypatch, other_db, AESCipher.create_key(16))
    assert cli.main(["log", "import", str(first)]) == 0
    assert cli.main(["log", "export", "--include-secrets", "-o", str(second)]) == 0

    assert second.read_bytes() == first.read_bytes()
    assert event_count(other_db) == event_count(db) == len(lines(first)) - 2  # credentials, end
    with psycopg.connect(other_db) as conn:
        states = [bytes(r[0]) for r in conn.execute("SELECT state FROM zalodesk_events")]
    assert not any(b"Shop Hoa Mai" in state for state in states)  # encrypted at rest
    assert b"access-token-value" not in raw_credentials(other_db)
    assert credentials_in(other_db)[history["account_id"]].access_token == "access-token-value"


def test_an_imported_store_keeps_positions_ids_versions_and_credentials(
    history: dict[str, Any],
    services: Services,
    exported: Path,
    other_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = exported
    use(monkeypatch, other_db)
    cli.main(["log", "import", str(path)])

    def rows(url: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(url) as conn:
            return conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic "
                "FROM zalodesk_events ORDER BY notification_id"
            ).fetchall()

    assert rows(other_db) == rows(services.settings.database_url or "")
    moved = open_application(other_db, None)
    try:
        account: ZaloAccount = moved.repository.get(history["account_id"])
        assert isinstance(account, ZaloAccount)
        credentials = credentials_in(other_db)[history["account_id"]]
        assert (credentials.app_secret, credentials.access_token) == ("new-app-secret", SECRETS[2])
        assert account.secrets_fingerprint == credentials.secrets_fingerprint
        # The sequence goes on after the imported positions.
        account.delete(actor="agent:test", at=account.modified_on)
        moved.save(account)
        assert moved.recorder.max_notification_id() == rows(other_db)[-2][0] + 1
    finally:
        moved.close()


def test_an_export_leaves_the_credentials_out_unless_asked(
    history: dict[str, Any], db: str, monkeypatch: pytest.MonkeyPatch, capsysbinary: Any
) -> None:
    use(monkeypatch, db)
    assert cli.main(["log", "export"]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert not any(secret in out for secret in [*SECRETS, "new-app-secret"])
    records = [json.loads(line) for line in out.splitlines()]
    assert records[-1] == {"end": True, "events": len(records) - 1, "credentials": 0}
    by_type: dict[str, Any] = {}
    for record in records[:-1]:
        by_type.setdefault(record["type"], record)
    connected = by_type["ZaloAccount.Connected"]["data"]
    assert connected["tokens_fingerprint"] == fingerprint(SECRETS[2], SECRETS[3])
    replaced = by_type["ZaloAccount.SigningSecretsReplaced"]["data"]
    assert replaced["secrets_fingerprint"] == fingerprint("new-app-secret", SECRETS[1])
    message = by_type["Chat.CustomerMessageReceived"]
    assert message["data"]["text"] == "Xin chào, shop còn hàng không?"
    assert message["data"]["message_id"].count("-") == 4  # ids as plain strings
    assert message["time"].endswith("+00:00")


def test_an_export_with_secrets_ends_with_each_accounts_credentials_decrypted(
    history: dict[str, Any], db: str, monkeypatch: pytest.MonkeyPatch, capsysbinary: Any
) -> None:
    use(monkeypatch, db)
    assert cli.main(["log", "export", "--include-secrets"]) == 0
    captured = capsysbinary.readouterr()
    records = [json.loads(line) for line in captured.out.decode().splitlines()]
    assert records[-2:] == [
        {
            "credentials": {
                "account_id": history["account_id"],
                "app_secret": "new-app-secret",
                "oa_secret_key": SECRETS[1],
                "access_token": SECRETS[2],
                "refresh_token": SECRETS[3],
            }
        },
        {"end": True, "events": len(records) - 2, "credentials": 1},
    ]
    assert not any(secret in json.dumps(records[:-2]) for secret in SECRETS)  # not in events
    assert b"decrypted" in captured.err


def test_export_after_a_position(
    history: dict[str, Any], db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tail.jsonl"
    use(monkeypatch, db)
    assert cli.main(["log", "export", "--after", "5", "-o", str(path)]) == 0
    positions = [r["position"] for r in lines(path)[:-1]]
    assert positions and min(positions) == 6 and positions == sorted(positions)


def test_import_refuses_a_non_empty_store(exported: Path, db: str, capsys: Any) -> None:
    path = exported
    before = event_count(db)
    capsys.readouterr()

    assert cli.main(["log", "import", str(path)]) == 2

    error = capsys.readouterr().err.strip()
    assert error.startswith("zalodesk: ") and "not empty" in error and "\n" not in error
    assert event_count(db) == before


@pytest.mark.parametrize(
    ("damage", "line_at_fault", "why"),
    [
        ("cut mid-line", 9, "not a JSON object"),
        ("cut at a line end", 9, "truncated"),
        ("field removed", 3, "data lacks"),
        ("line dropped", 4, "version"),
    ],
)
def test_a_damaged_file_is_refused_with_its_line_and_nothing_stored(
    exported: Path,
    other_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    damage: str,
    line_at_fault: int,
    why: str,
) -> None:
    path = exported
    text = path.read_text().splitlines(keepends=True)
    if damage == "cut mid-line":
        damaged = "".join(text[:8]) + text[8][: len(text[8]) // 2]
    elif damage == "cut at a line end":
        damaged = "".join(text[:8])
    elif damage == "field removed":
        record = json.loads(text[2])
        record["data"].pop("actor")
        damaged = "".join([*text[:2], json.dumps(record) + "\n", *text[3:]])
    else:
        # the contact's second event without its first: the contact's history has a hole
        contact = json.loads(text[4])["originator_id"]
        first = next(i for i, t in enumerate(text) if json.loads(t).get("originator_id") == contact)
        damaged = "".join(t for i, t in enumerate(text) if i != first)
        line_at_fault = next(
            i + 1
            for i, t in enumerate(damaged.splitlines())
            if json.loads(t).get("originator_id") == contact
        )
    path.write_text(damaged)
    use(monkeypatch, other_db)
    capsys.readouterr()

    assert cli.main(["log", "import", str(path)]) == 2

    error = capsys.readouterr().err
    assert f"line {line_at_fault}: " in error and why in error and "nothing was imported" in error
    assert event_count(other_db) == 0


def test_a_redacted_export_is_imported_only_when_allowed(
    history: dict[str, Any],
    db: str,
    other_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    path = tmp_path / "redacted.jsonl"
    use(monkeypatch, db)
    cli.main(["log", "export", "-o", str(path)])
    use(monkeypatch, other_db)
    capsys.readouterr()

    assert cli.main(["log", "import", str(path)]) == 2
    refused = capsys.readouterr().err
    assert "--include-secrets" in refused and history["account_id"] in refused
    assert event_count(other_db) == 0

    assert cli.main(["log", "import", "--allow-redacted", str(path)]) == 0
    assert event_count(other_db) == event_count(db)
    assert credentials_in(other_db) == {}
    told = capsys.readouterr().err
    assert "reconnect" in told and history["account_id"] in told
    again = tmp_path / "again.jsonl"
    assert cli.main(["log", "export", "-o", str(again)]) == 0
    assert again.read_bytes() == path.read_bytes()


def test_a_file_missing_its_credentials_line_is_refused(
    exported: Path,
    other_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    path = exported
    text = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*text[:-2], text[-1]]))
    use(monkeypatch, other_db)
    capsys.readouterr()

    assert cli.main(["log", "import", "--allow-redacted", str(path)]) == 2

    error = capsys.readouterr().err
    assert f"line {len(text) - 1}: the end line should be" in error and "lines are missing" in error
    assert event_count(other_db) == 0 and credentials_in(other_db) == {}


def test_reading_the_log_with_positions(history: dict[str, Any], services: Services) -> None:
    log = EventLog(services.app, services.pool)
    head = log.head()
    everything = [e for page in log.pages(0, head, page=3) for e in page]
    assert [e.position for e in everything] == sorted({e.position for e in everything})
    assert everything[-1].position == head
    assert log.read(everything[1].position, 2) == everything[2:4]
    assert ACCOUNT_FORM["name"] == everything[0].event.name
