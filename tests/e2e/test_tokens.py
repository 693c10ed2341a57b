"""``zalodesk token create``: an agent's token reads the inbox, not the admin calls."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.server import ADMIN_TOKEN, Service, assert_error, run_cli, service_env


def issue(live: Service, name: str, *flags: str) -> str:
    result = run_cli(live.env, "token", "create", name, *flags)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected the token alone on standard output: {result.stdout!r}"
    token = lines[0].strip()
    assert len(token) >= 20 and " " not in token
    return token


def test_an_agent_token_reads_the_inbox_but_not_the_accounts(live: Service) -> None:
    token = issue(live, "Lan (agent)")
    assert live.get("/api/chats", token=token).status == 200
    assert_error(live.get("/api/accounts", token=token), 403)


def test_each_token_is_new(live: Service) -> None:
    assert issue(live, "same name") != issue(live, "same name")


def test_without_a_valid_token_the_api_answers_401(live: Service) -> None:
    assert_error(live.get("/api/chats"), 401)
    assert_error(live.get("/api/chats", token="not-a-token"), 401)
    assert_error(live.get("/api/accounts"), 401)


def test_an_admin_token_manages_accounts(live: Service) -> None:
    token = issue(live, "Minh (admin)", "--admin")
    assert live.get("/api/accounts", token=token).status == 200
    assert live.get("/api/chats", token=token).status == 200
    assert live.get("/api/accounts", token=ADMIN_TOKEN).status == 200


def test_a_token_needs_a_name(live: Service) -> None:
    result = run_cli(live.env, "token", "create", "  ")
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    env = service_env(tmp_path, "postgresql://zalodesk@127.0.0.1:1/nowhere")
    for args in (("token", "create", "Lan"), ("serve", "--bind", "127.0.0.1:1", "--workers", "1")):
        result = run_cli(env, *args, timeout=30)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr, result.stderr[-1500:]
        assert result.stderr.strip().splitlines()[-1].startswith("zalodesk: "), result.stderr


SPELLINGS = [
    "//api/events",
    "/api//events",
    "///api/events",
    "/api/events/",
    "/api/%65vents",
    "/%61pi/events",
    "/API/events",
    "/api/./events",
    "/./api/events",
    "//api/chats",
    "//api/accounts",
    "/api/chats//",
]


def test_no_spelling_of_a_path_reaches_the_api_without_a_token(live: Service) -> None:
    answers = {path: live.get(path).status for path in SPELLINGS}
    assert {path: status for path, status in answers.items() if status not in (401, 404)} == {}


def test_the_bearer_scheme_is_case_insensitive(live: Service) -> None:
    for scheme in ("bearer", "BEARER", "Bearer"):
        headers = {"Authorization": f"{scheme} {ADMIN_TOKEN}"}
        assert live.get("/api/events", headers=headers).status == 200, scheme


def test_token_list_and_revoke_from_the_command_line(live: Service) -> None:
    token = issue(live, "Thu (agent)")
    listed = run_cli(live.env, "token", "list")
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if line.endswith("Thu (agent)")]
    token_id = row.split()[0]
    assert live.get("/api/chats", token=token).status == 200

    revoked = run_cli(live.env, "token", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    # Every worker refuses it from the next request on: several connections, several workers.
    assert {live.get("/api/chats", token=token).status for _ in range(6)} == {401}
    assert run_cli(live.env, "token", "revoke", "not-an-id").returncode != 0
