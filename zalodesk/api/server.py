"""Gunicorn, run in-process: the HTTP half of ``zalodesk serve`` and ``zalodesk api``."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """The WSGI app is created in each worker after fork, never in the master."""

    def __init__(self, options: dict[str, Any], on_exit: Callable[[], None] | None = None) -> None:
        self.options = options
        self.exit_hook = on_exit
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("post_worker_init", _leave_ctrl_c_to_the_master)
        if self.exit_hook is not None:
            hook = self.exit_hook
            self.cfg.set("on_exit", lambda _server: hook())

    def load(self) -> Any:
        from zalodesk.wsgi import app

        return app


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
        "loglevel": "warning",
        "proc_name": "zalodesk",
    }


def default_workers() -> int:
    return (os.cpu_count() or 1) * 2


def _leave_ctrl_c_to_the_master(worker: Any) -> None:
    """Ctrl-C reaches every process of the group; a worker that also acted on it could hang
    at exit. The master hears it and stops the workers in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
