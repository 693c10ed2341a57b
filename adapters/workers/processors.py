"""The background processors, each in exactly one process at a time (an advisory lock)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import psycopg

from adapters.workers.heartbeats import Heartbeats
from adapters.workers.loops import Loop, run_loop

log = logging.getLogger("zalodesk.worker")

PROCESSORS_LOCK = "zalodesk:processors"


def hold_processor_lock(url: str, stop: threading.Event) -> psycopg.Connection[Any] | None:
    """Wait until the database answers and this process may run the processors (each
    reason for waiting logged once); the lock lives as long as the connection."""
    said: set[str] = set()

    def say_once(reason: str) -> None:
        if reason not in said:
            log.info(reason)
            said.add(reason)

    while not stop.is_set():
        try:
            conn = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError:
            say_once("the database cannot be reached; waiting for it")
            stop.wait(1.0)
            continue
        try:
            while not stop.is_set():
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(hashtext(%s))", (PROCESSORS_LOCK,)
                ).fetchone()
                if row and row[0]:
                    return conn
                say_once("another process runs the processors; standing by")
                stop.wait(2.0)
        except psycopg.OperationalError:
            say_once("the database cannot be reached; waiting for it")
            stop.wait(1.0)
        conn.close()
    return None


def run_loops(loops: Sequence[Loop], heartbeats: Heartbeats, stop: threading.Event) -> None:
    """Each loop in a thread of its own, until ``stop`` is set and every loop has returned."""
    threads = [
        threading.Thread(
            target=run_loop, args=(loop, stop, heartbeats), name=loop.name, daemon=True
        )
        for loop in loops
    ]
    for thread in threads:
        thread.start()
    log.info("processors started", extra={"processors": [loop.name for loop in loops]})
    for thread in threads:
        thread.join()
    log.info("processors stopped")
