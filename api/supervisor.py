"""Keeps a child process running: restarted (and logged) whenever it exits on its own."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger("zalodesk.supervisor")

RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
STEADY_SECONDS = 30.0  # a child that ran this long starts its next restart from the first delay


class Supervised:
    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self._stopping = threading.Event()
        self._child: subprocess.Popen[Any] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._child.pid if self._child else None

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        with self._lock:
            child = self._child
        if child is None:
            return
        child.terminate()
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", self.name, timeout)
            child.kill()
            child.wait()

    def _spawn(self) -> None:
        # Its own session: Ctrl-C reaches only the serving process, which stops us in order.
        child = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        with self._lock:
            self._child = child

    def _watch(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            with self._lock:
                child = self._child
            assert child is not None
            started = time.monotonic()
            code = child.wait()
            if self._stopping.is_set():
                return
            failures = 0 if time.monotonic() - started > STEADY_SECONDS else failures + 1
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            log.error(
                "%s exited with status %s; restarting it in %.1f s",
                self.name,
                code,
                delay,
                extra={"child": self.name, "exit_status": code, "restart_in_s": delay},
            )
            if self._stopping.wait(delay):
                return
            try:
                self._spawn()
            except OSError:
                log.exception("%s could not be started; trying again", self.name)
                continue
            log.info("%s restarted", self.name, extra={"child": self.name, "pid": self.pid})
