"""Gunicorn, run in-process: the HTTP half of ``zalodesk serve`` and ``zalodesk api``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger

from adapters.json_logs import JsonFormatter


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """The WSGI app is created in each worker after fork, never in the master."""

    def __init__(self, options: dict[str, Any], on_exit: Callable[[], None] | None = None) -> None:
        self.options = options
        self.exit_hook = on_exit
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("post_fork", _leave_ctrl_c_to_the_master)
        if self.exit_hook is not None:
            hook = self.exit_hook
            self.cfg.set("on_exit", lambda _server: hook())

    def run(self) -> None:
        GentleArbiter(self).run()

    def load(self) -> Any:
        from wsgi import app

        return app


class GentleArbiter(Arbiter):  # type: ignore[misc]
    """Ctrl-C stops like SIGTERM: requests under way are answered before the workers exit.

    (Gunicorn's own Ctrl-C is its quick shutdown, which cuts off answers half-written.)
    """

    def handle_int(self) -> None:
        self.handle_term()

    def reap_workers(self) -> None:
        """Gunicorn reaps with waitpid(-1), which also takes the exit status of any other
        child (the worker process `zalodesk serve` supervises): its supervisor then reads 0.
        So it reaps only once one of its own children has exited."""
        own = [*self.WORKERS, self.reexec_pid]
        if any(_has_exited(pid) for pid in own if pid):
            super().reap_workers()


class JsonLogger(Logger):  # type: ignore[misc]
    """Gunicorn's own lines (workers booting, timeouts, signals) as JSON like every other line.

    For a hand-run gunicorn: ``gunicorn wsgi:app --logger-class api.server.JsonLogger``.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())


def gunicorn_options(bind: str, workers: int, threads: int) -> dict[str, Any]:
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread" if threads > 1 else "sync",
        "threads": threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "logger_class": "api.server.JsonLogger",
        "loglevel": "warning",
        "proc_name": "zalodesk",
    }


def default_workers() -> int:
    """One more than the cores: measured best for the webhook load (bench/README.md)."""
    return (os.cpu_count() or 1) + 1


def _has_exited(pid: int) -> bool:
    """Whether the child has exited, leaving it to be reaped."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return False


def _leave_ctrl_c_to_the_master(server: Any, worker: Any) -> None:
    """Ctrl-C signals the terminal's whole process group; a worker that acted on it too,
    perhaps still starting, could hang or die mid-start. In a group of its own it hears
    only the master, which stops the workers in order (and each exits if the master dies)."""
    os.setpgid(0, 0)
