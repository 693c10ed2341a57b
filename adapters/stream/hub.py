"""The stream's one follower of the log and its many clients.

One task follows the log: woken by the projector's NOTIFY (or every ``poll_seconds``), it
reads the events after its position up to the position every view has applied, frames
and encodes each once, and appends the round's bytes to every client's buffer. A client
that lets its buffer grow past ``buffer_bytes`` is closed; it reconnects with
``Last-Event-ID`` and catches up from the log.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
from attrs import frozen

from adapters.stream.frames import KEEP_ALIVE
from adapters.stream.source import DATABASE_AWAY, Batch, LogSource
from adapters.workers.projector import VIEWS_CHANNEL

log = logging.getLogger("zalodesk.stream")

OPENING = b"retry: 2000\n\n"


class Client:
    """One open stream: what it has been sent up to, and what waits to be written."""

    def __init__(self, after: int, limit: int, abort: Callable[[], None] | None = None) -> None:
        self.after = after
        self.limit = limit
        self.abort = abort  # cuts the connection of a client that stopped reading
        self.done = False
        self.buffer: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.closed = False
        self.wake = asyncio.Event()

    def push(self, batch: Batch, data: bytes) -> bool:
        """Queue a round's bytes (only its frames past ``after``); False if it overflowed."""
        if batch.last <= self.after:
            return True
        if batch.frames and batch.frames[0][0] <= self.after:
            data = b"".join(f for p, f in batch.frames if p > self.after)
        self.after = batch.last
        if not data:
            return True
        if self.size + len(data) > self.limit:
            return False
        self.buffer.append(data)
        self.size += len(data)
        self.wake.set()
        return True

    def take(self) -> bytes:
        data = b"".join(self.buffer)
        self.buffer.clear()
        self.size = 0
        return data

    def close(self) -> None:
        self.closed = True
        self.buffer.clear()
        self.size = 0
        self.wake.set()


@frozen
class Pacing:
    """How the stream paces itself; tests make it quicker."""

    keep_alive_seconds: float = 15.0
    poll_seconds: float = 1.0  # a round at least this often, NOTIFY or not
    # and at most this often: the views move every 50 ms under load, and each round is a
    # write to every client (200 clients, 20 rounds a second, was a tenth of two cores)
    round_seconds: float = 0.5
    buffer_bytes: int = 4 * 1024 * 1024  # a client with more waiting is closed
    report_seconds: float = 60.0
    stuck_seconds: float = 10.0  # a closed client still blocking a write then is cut off


STREAM_PACING = Pacing()


class Hub:
    def __init__(
        self,
        source: LogSource,
        listen_url: str,
        pacing: Pacing = STREAM_PACING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.listen_url = listen_url
        self.pacing = pacing
        self.clock = clock
        self.position = 0
        self.ready = asyncio.Event()
        self.clients: set[Client] = set()
        self.connected = False
        self.dropped = 0
        self.served = 0
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop that follows the log

    # Following the log

    async def follow(self) -> None:
        """Until cancelled: listen, read rounds; through outages, reconnect every second."""
        self.loop = asyncio.get_running_loop()
        reporter = asyncio.create_task(self._report())
        away_since: float | None = None
        try:
            while True:
                try:
                    async with await psycopg.AsyncConnection.connect(
                        self.listen_url, autocommit=True
                    ) as conn:
                        await conn.execute(f"LISTEN {VIEWS_CHANNEL}")
                        if not self.ready.is_set():
                            self.position = await asyncio.to_thread(self.source.applied)
                            self.ready.set()
                        self.connected = True
                        if away_since is not None:
                            log.info(
                                "the stream reaches the database again",
                                extra={"away_s": round(self.clock() - away_since, 1)},
                            )
                            away_since = None
                        while True:
                            started = self.clock()
                            await self.catch_up()
                            rest = self.pacing.round_seconds - (self.clock() - started)
                            if rest > 0:
                                await asyncio.sleep(rest)
                            async for _ in conn.notifies(
                                timeout=self.pacing.poll_seconds, stop_after=1
                            ):
                                pass
                            # The notifications that came meanwhile: the next round reads
                            # past all of them.
                            async for _ in conn.notifies(timeout=0):
                                pass
                except DATABASE_AWAY as error:
                    self.connected = False
                    if away_since is None:
                        away_since = self.clock()
                        log.error(
                            "the stream lost the database; trying again every second "
                            "(clients stay connected)",
                            extra={"error": f"{type(error).__name__}: {error}".strip()},
                        )
                    await asyncio.sleep(1.0)
                except Exception:  # a bug of ours: logged, and the next round tries again
                    log.exception("a stream round failed; trying again in a second")
                    await asyncio.sleep(1.0)
        finally:
            reporter.cancel()

    async def catch_up(self) -> None:
        """Rounds until every event the views have applied is sent."""
        while True:
            upto = await asyncio.to_thread(self.source.applied)
            if upto <= self.position:
                return
            batch = await asyncio.to_thread(self.source.read, self.position, upto)
            self.broadcast(batch)
            if batch.last >= upto:
                return

    def broadcast(self, batch: Batch) -> None:
        data = b"".join(frame for _, frame in batch.frames)
        for client in list(self.clients):
            if not client.push(batch, data):
                self._drop(client)
        self.position = max(self.position, batch.last)

    def _drop(self, client: Client) -> None:
        self.clients.discard(client)
        client.close()
        self.dropped += 1
        log.warning(
            "a stream client fell too far behind and was closed (it resumes with Last-Event-ID)",
            extra={"position": client.after, "clients": len(self.clients)},
        )
        # Its writer ends with the next write; one blocked on a client that reads nothing
        # never gets there, so its connection is cut.
        asyncio.get_running_loop().call_later(self.pacing.stuck_seconds, self._cut_if_stuck, client)

    def _cut_if_stuck(self, client: Client) -> None:
        if not client.done and client.abort is not None:
            log.warning("a stream client read nothing for a while; its connection is cut")
            client.abort()

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(self.pacing.report_seconds)
            log.info(
                "stream clients",
                extra={
                    "clients": len(self.clients),
                    "position": self.position,
                    "database": "connected" if self.connected else "away",
                    "dropped": self.dropped,
                },
            )

    # Serving one client

    async def serve(
        self,
        after: int | None,
        gone: Awaitable[Any],
        abort: Callable[[], None] | None = None,
    ) -> AsyncIterator[bytes]:
        """A client's bytes: the events after ``after`` from the log, then live ones, each
        once; or, without ``after``, live ones from now. Keep-alives while idle. Ends when
        ``gone`` (the client left) completes, or the client is closed; ``abort`` cuts the
        connection of a closed client whose writes block."""
        client = Client(after or 0, self.pacing.buffer_bytes, abort)
        watcher = asyncio.ensure_future(gone)
        watcher.add_done_callback(lambda _: client.close())
        self.served += 1
        try:
            yield OPENING
            async for data in self._catch_up(client, after is None):
                yield data
            while not client.closed:
                if client.buffer:
                    yield client.take()
                    continue
                client.wake.clear()
                try:
                    # (a timeout scope, not wait_for: no task per wait, for every client)
                    async with asyncio.timeout(self.pacing.keep_alive_seconds):
                        await client.wake.wait()
                except TimeoutError:
                    yield KEEP_ALIVE
        finally:
            client.done = True
            watcher.cancel()
            self.clients.discard(client)

    async def _catch_up(self, client: Client, live_only: bool) -> AsyncIterator[bytes]:
        """The log's frames up to the hub's place, then the client joins it (the
        ``position`` test and joining run with no await between: no gap, no repeat)."""
        while not client.closed:
            if not self.ready.is_set():
                await self._idle(self.ready, self.pacing.keep_alive_seconds)
                yield KEEP_ALIVE
                continue
            if live_only:
                client.after = self.position
            if client.after >= self.position:
                self.clients.add(client)
                return
            try:
                batch = await asyncio.to_thread(self.source.read, client.after, self.position)
            except DATABASE_AWAY:
                await self._idle(None, 1.0)
                yield KEEP_ALIVE
                continue
            client.after = batch.last
            if batch.frames:
                yield b"".join(frame for _, frame in batch.frames)

    async def _idle(self, until: asyncio.Event | None, seconds: float) -> None:
        """``seconds``, or until ``until`` is set, whichever is first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for((until or asyncio.Event()).wait(), seconds)

    def close_all(self) -> None:
        for client in list(self.clients):
            self.clients.discard(client)
            client.close()

    def figures(self) -> dict[str, Any]:
        return {
            "clients": len(self.clients),
            "position": self.position,
            "database_connected": self.connected,
            "dropped": self.dropped,
            "served": self.served,
        }
