"""The service as a user runs it: ``zalodesk serve`` in a child process, driven over real HTTP."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.support import zalo

ADMIN_TOKEN = "e2e-admin-token"
# The command as installed beside this interpreter, as a user runs it.
ZALODESK = str(Path(sys.executable).with_name("zalodesk"))
READY_SECONDS = 30.0
STOP_SECONDS = 20.0
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    """The child's environment: ours without any ZALODESK_ setting, plus the ones under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZALODESK_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["ZALODESK_ADMIN_TOKEN"] = ADMIN_TOKEN
    env["ZALODESK_DATA_DIR"] = str(data_dir)
    if database_url:
        env["ZALODESK_DATABASE_URL"] = database_url
    return env


def run_cli(
    env: Mapping[str, str], *args: str, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """``zalodesk ARGS...`` as a user would type it, in the service's environment."""
    return subprocess.run(
        [ZALODESK, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for(probe: Callable[[], T | None], seconds: float, what: str, interval: float = 0.1) -> T:
    """Call ``probe`` until it returns something true, or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def assert_error(answer: Response, status: int) -> None:
    """An error is JSON ``{"title", "description"}``, never an HTML page."""
    assert answer.status == status, f"expected {status}, got {answer.status}: {answer.text[:500]}"
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    assert {"title", "description"} <= set(answer.json()), answer.text[:500]


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | dict[str, Any] | list[Any] | None = None,
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    timeout: float = 15,
    chunked: bool = False,
) -> Response:
    """One HTTP request on a new connection; any status comes back, none raises.

    ``chunked`` sends the body with ``Transfer-Encoding: chunked`` and no Content-Length.
    """
    sent_headers = dict(headers or {})
    if isinstance(body, dict | list):
        body = json.dumps(body).encode()
        sent_headers.setdefault("Content-Type", "application/json")
    if token is not None:
        sent_headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        # The server may answer (e.g. 413) and close before it has read a large body.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if chunked and body is not None:
                pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
                conn.request(method, path, pieces, sent_headers, encode_chunked=True)
            else:
                conn.request(method, path, body=body, headers=sent_headers)
        answer = conn.getresponse()
        return Response(
            answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        )
    finally:
        conn.close()


@dataclass
class Service:
    """``zalodesk serve --bind 127.0.0.1:PORT --workers 2`` with its output in files."""

    env: dict[str, str]
    logs: Path
    workers: int = 2
    port: int = 0
    stream_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    stderr_path: Path | None = None
    cwd: Path | None = None
    # A fault a test caused on purpose may leave stack traces in the log.
    tracebacks_expected: bool = False

    def argv(self) -> list[str]:
        return [
            ZALODESK,
            "serve",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
        ]

    def start(self) -> Service:
        assert self.process is None, "already running"
        self.port = free_port()
        # The live stream's own port (by default the API's + 1, which may be taken here).
        self.stream_port = free_port()
        self.env.setdefault("ZALODESK_STREAM_BIND", f"127.0.0.1:{self.stream_port}")
        self.stream_port = int(self.env["ZALODESK_STREAM_BIND"].rpartition(":")[2])
        self.starts += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        stdout_path = self.logs / f"serve-{self.starts}.out"
        self.stderr_path = self.logs / f"serve-{self.starts}.err"
        with stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                self.argv(),
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, seconds: float = READY_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                raise AssertionError(
                    f"zalodesk serve exited with {code} before it was ready:\n{self.stderr()}"
                )
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.get("/healthz", timeout=2).status == 200 and (
                    self.argv()[1:2] != ["serve"] or self.stream_answers()
                ):
                    return
            time.sleep(0.1)
        raise AssertionError(f"zalodesk serve not ready after {seconds:.0f} s:\n{self.stderr()}")

    def stream_answers(self) -> bool:
        """The live stream server (a child of ``serve``) answers its /healthz."""
        with contextlib.suppress(OSError, http.client.HTTPException):
            return request(self.stream_port, "GET", "/healthz", timeout=2).status == 200
        return False

    def stderr(self) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(errors="replace")[-8000:]

    def terminate(self, seconds: float = STOP_SECONDS) -> int:
        """SIGTERM and wait; the exit status, or an AssertionError if it does not stop in time."""
        assert self.process is not None
        process = self.process
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"zalodesk serve still running {seconds:.0f} s after SIGTERM:\n{self.stderr()}"
            ) from None
        finally:
            self.process = None

    def tracebacks(self) -> list[str]:
        """The stack traces the service logged, across its starts: each one's last 300 chars."""
        found = []
        for path in sorted(self.logs.glob("serve-*.err")):
            for line in path.read_text(errors="replace").splitlines():
                if "Traceback" in line:
                    found.append(f"{path.name}: ...{line[-300:]}")
        return found

    def assert_no_tracebacks(self) -> None:
        found = [] if self.tracebacks_expected else self.tracebacks()
        distinct = sorted(set(found))
        assert not found, f"{len(found)} stack traces in the service's log:\n" + "\n".join(
            distinct[:5]
        )

    def stop(self) -> None:
        """Teardown: SIGTERM, wait, and kill as a last resort. Never raises."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        """The child's own process group (it started a new session): gunicorn, its workers."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)

    # HTTP, as a user sees it

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        return request(self.port, method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", path, body=body, **kwargs)

    def admin_get(self, path: str) -> Any:
        answer = self.get(path, token=ADMIN_TOKEN)
        assert answer.status == 200, f"GET {path}: {answer.status} {answer.text}"
        return answer.json()

    def connect_account(self, **form: Any) -> Account:
        """POST /api/accounts with a form of its own: unique app and OA ids and keys."""
        suffix = uuid.uuid4().int % 10**6
        filled = {
            "name": f"Shop {suffix}",
            "app_id": f"3608465249409{suffix:06d}",
            "oa_id": f"3886132808788{suffix:06d}",
            "app_secret": f"app-secret-{suffix}",
            "oa_secret_key": f"oa-secret-key-{suffix}",
            "access_token": f"access-token-{suffix}",
            "refresh_token": f"refresh-token-{suffix}",
            **form,
        }
        answer = self.post("/api/accounts", filled, token=ADMIN_TOKEN)
        assert answer.status == 201, f"POST /api/accounts: {answer.status} {answer.text}"
        created = answer.json()
        for secret in ("app_secret", "oa_secret_key", "access_token", "refresh_token"):
            assert filled[secret] not in answer.text, f"the answer shows {secret}"
        return Account(self, created, filled)

    def chats(self, account_id: str | None = None) -> list[dict[str, Any]]:
        chats = self.admin_get("/api/chats")["chats"]
        return [c for c in chats if account_id is None or c["account_id"] == account_id]

    def caught_up(self) -> bool:
        """Every view has applied the whole log (GET /readyz, and its lag per view)."""
        answer = self.get("/readyz")
        return answer.status == 200 and not any(answer.json().get("lag", {}).values())


@dataclass
class Account:
    """A connected OA, and Zalo's side of it: signed webhook deliveries."""

    service: Service
    data: dict[str, Any]
    form: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def path(self) -> str:
        return f"/webhooks/zalo/{self.id}"

    def text(self, user_id: str, text: str, msg_id: str | None = None) -> dict[str, Any]:
        body = zalo.user_text(user_id, text, msg_id or uuid.uuid4().hex[:20])
        body["app_id"] = self.form["app_id"]
        body["recipient"] = {"id": self.form["oa_id"]}
        return body

    def sign(self, body: dict[str, Any], key: str | None = None) -> tuple[bytes, dict[str, str]]:
        return zalo.signed(body, key or self.form["oa_secret_key"])

    def deliver(
        self, raw: bytes, headers: Mapping[str, str], path: str | None = None, **kwargs: Any
    ) -> Response:
        return self.service.post(path or self.path, raw, headers=headers, **kwargs)

    def send(self, body: dict[str, Any], **headers: str) -> Response:
        raw, signed = self.sign(body)
        return self.deliver(raw, {**signed, **headers})


def postmasters(data_dir: Path) -> list[int]:
    """Pids of ``postgres`` processes whose command line names ``data_dir``."""
    needle = str(data_dir.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv or not argv[0]:
            continue
        command = " ".join(a.decode(errors="replace") for a in argv)
        if Path(argv[0].decode(errors="replace")).name.startswith("postgres") and needle in command:
            found.append(int(entry.name))
    return found


def children_running(parent: int, needle: str) -> list[int]:
    """Pids of the direct children of ``parent`` whose command line contains ``needle``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and needle in argv:
            found.append(int(entry.name))
    return found
