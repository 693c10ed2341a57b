"""The README's three automation rules, end to end against ``zalodesk serve``, each tried
first with ``zalodesk rules dry-run``. Times are cut to seconds; the rules are the same.

Each rule is limited to this test's own account, so the other tests' chats are left alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.server import ADMIN_TOKEN, Account, Service, run_cli, wait_for

ANNA, BINH, CUONG = "8800000000000000001", "8800000000000000002", "8800000000000000003"


def only(account: Account) -> list[dict[str, Any]]:
    return [{"field": "account_id", "op": "eq", "value": account.id}]


END_NEW_CHATS = {
    "name": "Every new chat waits in the ticket list as open",
    "trigger": "chat_started",
    "actions": [{"type": "end_chat", "status": "open"}],
}
LATE = {
    "name": "Customer waiting: tag late, to the lead",
    "trigger": "customer_waiting",
    "after_seconds": 2,
    "actions": [{"type": "add_tag", "tag": "late"}, {"type": "assign", "agent": "lead"}],
}
CLOSE_PENDING = {
    "name": "Pending and quiet: closed",
    "trigger": "ticket_unchanged",
    "after_seconds": 2,
    "conditions": [{"field": "status", "op": "eq", "value": "pending"}],
    "actions": [{"type": "set_status", "status": "closed"}],
}


def make(live: Service, account: Account, rule: dict[str, Any]) -> dict[str, Any]:
    body = {**rule, "conditions": [*rule.get("conditions", []), *only(account)]}
    answer = live.post("/api/rules", body, token=ADMIN_TOKEN)
    assert answer.status == 201, answer.text
    return dict(answer.json())


def delete(live: Service, rule: dict[str, Any]) -> None:
    assert live.request("DELETE", f"/api/rules/{rule['id']}", token=ADMIN_TOKEN).status == 204


def ticket(live: Service, ticket_id: str) -> dict[str, Any] | None:
    answer = live.get(f"/api/tickets/{ticket_id}", token=ADMIN_TOKEN)
    return answer.json() if answer.status == 200 else None


def chat_of(live: Service, account: Account, customer: str) -> dict[str, Any] | None:
    found = [c for c in live.chats(account.id) if c["customer"]["zalo_user_id"] == customer]
    return found[0] if found else None


def listed(live: Service, account: Account, customer: str) -> dict[str, Any] | None:
    tickets = live.admin_get(f"/api/tickets?account_id={account.id}")["tickets"]
    found = [t for t in tickets if t["customer"]["zalo_user_id"] == customer]
    return found[0] if found else None


def dry_run(live: Service, account: Account, rule: dict[str, Any], folder: Path) -> list[Any]:
    """``zalodesk rules dry-run FILE`` on the service's database: the matches."""
    path = folder / "rule.json"
    path.write_text(
        json.dumps({**rule, "conditions": [*rule.get("conditions", []), *only(account)]})
    )
    done = run_cli(live.env, "rules", "dry-run", str(path), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "dry run:" in done.stderr and "nothing was changed" in done.stderr
    return list(json.loads(done.stdout)["matches"])


def test_the_three_readme_rules(live: Service, tmp_path: Path) -> None:
    account = live.connect_account()

    # 1. Every new chat ends at once and waits in the ticket list as open.
    ending = make(live, account, END_NEW_CHATS)
    assert account.send(account.text(ANNA, "Chào shop, còn size M không?")).status == 200
    anna = wait_for(lambda: listed(live, account, ANNA), 10, "Anna's ticket in the ticket list")
    assert anna["status"] == "open" and chat_of(live, account, ANNA) is None
    ended = wait_for(lambda: ticket(live, anna["id"]), 5, "Anna's ticket")
    assert ended["chats"][0]["end_reason"] == "automation"
    assert ended["chats"][0]["ended_by"] == f"automation:{ending['id']}"
    delete(live, ending)

    # 2. A customer waiting gets the tag late and goes to the lead.
    waiting = make(live, account, LATE)
    assert account.send(account.text(BINH, "Shop ơi, đơn của mình đâu?")).status == 200
    binh_chat = wait_for(lambda: chat_of(live, account, BINH), 10, "Binh's chat in the inbox")

    def tagged() -> dict[str, Any] | None:
        found = ticket(live, binh_chat["ticket_id"])
        return found if found and found["tags"] == ["late"] else None

    binh = wait_for(tagged, 15, "Binh's ticket tagged late")
    assert binh["assignee"] == "lead"
    delete(live, waiting)

    # 3. A pending ticket left quiet is closed.
    closing = make(live, account, CLOSE_PENDING)
    assert account.send(account.text(CUONG, "Mình sẽ chuyển khoản sau")).status == 200
    cuong_chat = wait_for(lambda: chat_of(live, account, CUONG), 10, "Cuong's chat in the inbox")
    answer = live.post(
        f"/api/chats/{cuong_chat['id']}/end", {"status": "pending"}, token=ADMIN_TOKEN
    )
    assert answer.status == 200

    def closed() -> dict[str, Any] | None:
        found = ticket(live, cuong_chat["ticket_id"])
        return found if found and found["status"] == "closed" else None

    cuong = wait_for(closed, 15, "Cuong's pending ticket closed")
    assert [h["status"] for h in cuong["status_history"]] == ["new", "pending", "closed"]
    assert cuong["status_history"][-1]["actor"] == f"automation:{closing['id']}"
    delete(live, closing)

    # Each rule tried on this history, as an admin would before switching it on.
    new_chats = dry_run(live, account, END_NEW_CHATS, tmp_path)
    assert {m["chat_id"] for m in new_chats} == {
        ended["chats"][0]["id"],
        binh_chat["id"],
        cuong_chat["id"],
    }
    late = dry_run(live, account, LATE, tmp_path)
    assert binh_chat["id"] in {m["chat_id"] for m in late}
    assert late[0]["actions"][0] == {"type": "add_tag", "tag": "late", "outcome": "applied"}
    [pending] = dry_run(live, account, CLOSE_PENDING, tmp_path)
    assert pending["ticket_id"] == cuong_chat["ticket_id"]
    assert pending["actions"] == [{"type": "set_status", "status": "closed", "outcome": "applied"}]
