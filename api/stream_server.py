"""Uvicorn, run in-process: the stream server of ``zalodesk stream`` (one asyncio loop
holds every client; the hub follows the log in the same loop)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from adapters.stream.hub import Hub

log = logging.getLogger("zalodesk.stream")

# Streams are closed at once on stop; this bounds the wait for anything else under way.
GRACEFUL_SECONDS = 3


# What uvicorn says when the hub cuts off a client that read nothing (the only request of
# this app that ends without completing its answer): expected, so not an error.
CUT_OFF = "ASGI callable returned without completing response."


class UvicornLines(logging.Filter):
    """Uvicorn's lines as ours: no copy with terminal colours, the hub's cut-offs a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        if record.msg == CUT_OFF:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = "the connection of a stream client that read nothing was closed"
        return True


class StreamServer(uvicorn.Server):
    def __init__(self, app: Any, hub: Hub, bind: str, stop: threading.Event) -> None:
        host, _, port = bind.rpartition(":")
        super().__init__(
            uvicorn.Config(
                app,
                host=host.strip("[]"),
                port=int(port),
                log_config=None,  # our JSON lines (adapters/json_logs.py)
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=GRACEFUL_SECONDS,
            )
        )
        self.hub = hub
        self.stop = stop

    async def run_until_stopped(self) -> None:
        follower = asyncio.create_task(self.hub.follow(), name="stream-follower")
        watcher = asyncio.create_task(self._watch_stop(), name="stream-stop")
        try:
            await self.serve()
        finally:
            watcher.cancel()
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    def request_stop(self) -> None:
        self.hub.close_all()
        self.should_exit = True

    async def _watch_stop(self) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(0.2)
        self.request_stop()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGTERM and Ctrl-C close the streams and stop (uvicorn's own handlers would wait
        for the streams to end, then kill the process with the signal)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)
        try:
            yield
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)


def run(app: Any, hub: Hub, bind: str, stop: threading.Event) -> None:
    logging.getLogger("uvicorn.error").addFilter(UvicornLines())
    asyncio.run(StreamServer(app, hub, bind, stop).run_until_stopped())
