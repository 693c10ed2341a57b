"""The API keeps to its own document: Schemathesis drives ``zalodesk serve`` from /openapi.json.

The service starts on a fresh database with an account, a customer's chat, an
asynchronous ticket and a spare token, and Schemathesis is given their ids, so its
requests reach real records as well as unknown ones. It fails on any 5xx, any answer
that breaks its schema, status or content type, any request outside the schema that is
accepted, and any request within it refused for its shape (a business refusal the
document names, such as 409, is an answer like any other). Its run is bounded by the
number of examples per operation and a fixed seed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.server import ADMIN_TOKEN, Account, Service, service_env, wait_for
from tests.support.databases import fresh_database

SCHEMATHESIS = str(Path(sys.executable).with_name("st"))
EXAMPLES_PER_OPERATION = 50
RUN_SECONDS = 420
# Checks that need several users or that follow deletions across operations are left out:
# this run has one admin token, and its own ids are fixed.
LEFT_OUT = "ignored_auth,use_after_free,ensure_resource_availability,object_level_authorization"


@dataclass
class Records:
    account: Account
    spare_account: Account
    chat_id: str
    chat_ticket_id: str
    contact_id: str
    async_ticket_id: str
    spare_token_id: str


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with fresh_database("zalodesk_contract") as url:
        # One HTTP worker: the requests come one at a time, and the run holds few of the
        # database server's connections.
        running = Service(service_env(tmp_path / "data", url), logs=tmp_path / "logs", workers=1)
        running.start()
        try:
            yield running
        finally:
            running.stop()


def records(service: Service) -> Records:
    account = service.connect_account(verification_code="zalo-code-1")
    spare = service.connect_account()
    assert account.send(account.text("1234567890123456789", "Xin chào")).status == 200
    opened = service.post(
        "/api/tickets", {"subject": "Hoá đơn VAT", "text": "Xin gửi hoá đơn"}, token=ADMIN_TOKEN
    )
    assert opened.status == 201, opened.text
    issued = service.post("/api/tokens", {"name": "spare"}, token=ADMIN_TOKEN)
    assert issued.status == 201, issued.text
    chat = wait_for(lambda: service.chats(account.id), 10, "the customer's chat")[0]
    return Records(
        account=account,
        spare_account=spare,
        chat_id=chat["id"],
        chat_ticket_id=chat["ticket_id"],
        contact_id=chat["customer"]["id"],
        async_ticket_id=opened.json()["id"],
        spare_token_id=issued.json()["id"],
    )


def configuration(found: Records) -> str:
    """schemathesis.toml: the records' ids, and what counts as accepting valid data."""
    return f"""
seed = 20261201
max-failures = 40

[generation]
max-examples = {EXAMPLES_PER_OPERATION}

[parameters]
"path.account_id" = "{found.account.id}"
"path.chat_id" = "{found.chat_id}"
"path.ticket_id" = "{found.chat_ticket_id}"
"path.aggregate_id" = "{found.chat_ticket_id}"
"path.token_id" = "{found.spare_token_id}"
"path.contact_id" = "{found.contact_id}"
"path.code" = "zalo-code-1"

# A valid request may still find no such record (404) or be refused by a rule the
# document names (409); never 400 or 422.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "404", "409"]

# Removing an account is tried on a spare one, so the others keep reaching theirs.
[[operations]]
include-operation-id = "delete_api_accounts_by_account_id"
parameters = {{ "path.account_id" = "{found.spare_account.id}" }}

# Writing on a ticket is tried on the asynchronous one too.
[[operations]]
include-operation-id = "post_api_tickets_by_ticket_id_messages"
parameters = {{ "path.ticket_id" = "{found.async_ticket_id}" }}

# A rule's parts are checked as shapes here; whether they fit together (a time trigger
# with its seconds, a status that exists) is the domain's word, refused with 422.
[[operations]]
include-path-regex = "^/api/rules"
checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "409", "422"]

# The live stream is served by the stream server: this API only points there (307).
[[operations]]
include-path-regex = "^/api/stream$"
checks.positive_data_acceptance.expected-statuses = ["307"]

# Zalo's deliveries are signed: Schemathesis cannot sign them, so 401 is their answer.
[[operations]]
include-path-regex = "^/webhooks/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "404"]
"""


def test_the_api_keeps_to_its_document(service: Service, tmp_path: Path) -> None:
    found = records(service)
    config = tmp_path / "schemathesis.toml"
    config.write_text(configuration(found))
    run = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(config),
            "run",
            f"http://127.0.0.1:{service.port}/openapi.json",
            "--header",
            f"Authorization: Bearer {ADMIN_TOKEN}",
            "--checks",
            "all",
            "--exclude-checks",
            LEFT_OUT,
            "--workers",
            "1",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        cwd=tmp_path,
        check=False,
    )
    logged = service.stderr_path.read_text(errors="replace") if service.stderr_path else ""
    problems = [line for line in logged.splitlines() if '"level": "info"' not in line]
    report = run.stdout[-20000:] + run.stderr[-4000:] + "\nservice errors:\n" + "\n".join(problems)
    assert run.returncode == 0, report
    assert " passed" in run.stdout, report
    service.assert_no_tracebacks()


def test_the_document_names_every_route_with_its_shapes(service: Service) -> None:
    document = service.get("/openapi.json").json()
    operations = {
        (method.upper(), path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    reply = operations[("POST", "/api/chats/{chat_id}/messages")]
    assert set(reply["responses"]) >= {"202", "400", "401", "404", "409", "415", "422"}
    assert reply["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    assert reply["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewReply"
    }
    tickets = {p["name"]: p for p in operations[("GET", "/api/tickets")]["parameters"]}
    assert set(tickets) == {"status", "account_id", "customer_id", "kind", "limit", "cursor"}
    assert tickets["status"]["schema"] == {"$ref": "#/components/schemas/TicketStatus"}
    assert document["components"]["schemas"]["TicketStatus"]["enum"] == [
        "new",
        "open",
        "pending",
        "closed",
        "spam",
    ]
    assert tickets["limit"]["schema"]["maximum"] == 200
    assert set(operations[("DELETE", "/api/accounts/{account_id}")]["responses"]) >= {"204"}
    assert "200" not in operations[("POST", "/api/accounts")]["responses"]
    ids = [operation["operationId"] for operation in operations.values()]
    assert len(ids) == len(set(ids)), "an operationId is not unique"
    webhook = operations[("POST", "/webhooks/zalo/{account_id}")]
    assert webhook["security"] == []
    assert "Zalo" in webhook["requestBody"]["description"]
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["title", "description"]


def test_the_reference_page_renders_the_document_without_loading_anything_else(
    service: Service,
) -> None:
    page = service.get("/docs")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'fetch("openapi.json")' in page.text
    assert "https://" not in page.text and "http://" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
