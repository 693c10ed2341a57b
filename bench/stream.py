"""The live stream under webhook load: N stream clients connected while bench/webhooks.py's
load runs; webhooks/s and p99 with and without them, and how long a webhook's event takes
from its 200 to reaching the stream clients.

Run by hand (bench/README.md): ``python -m bench.stream [--quick]``; it prints figures and
asserts nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from api.server import default_workers
from bench import harness, webhooks
from bench.harness import Figures, Process, opt
from domain.contact import Contact

SAMPLE_CUSTOMER_BASE = 7_200_000_000_000_000_000  # first messages whose frames are timed
OVERLAP = 64  # bytes kept from a read, so an id split between two reads is still found
# The untimed clients take what arrived every so often, in one read: the stream writes to
# them as to any other, while this process (on the same two cores as the service) spends
# little on reading for them.
PASSIVE_READ_SECONDS = 0.5


@dataclass(frozen=True)
class Options:
    seconds: float = opt(10.0, "each measured run, in seconds", quick=3.0)
    clients: int = opt(200, "stream clients connected during the second run", quick=20)
    timed_clients: int = opt(
        10, "of them, clients that read at once and time each frame; the others read every 0.5 s"
    )
    connections: int = opt(16, "webhook connections, closed loop (wrk)")
    workers: int = harness.workers()
    customers: int = opt(5000, "distinct customers", quick=300)
    samples_per_second: float = opt(5.0, "timed first messages sent beside the load, per second")
    quiet_wait: float = harness.quiet_wait("each timed run")
    keep: bool = harness.keep("the servers' logs, the request files")


@dataclass
class Watch:
    """The stream clients' side: when each awaited id was first seen by each client."""

    wanted: dict[bytes, float] = field(default_factory=dict)  # id -> its webhook's 200
    delays: list[float] = field(default_factory=list)
    frames_bytes: int = 0
    ended: int = 0
    opened: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, marker: bytes, acknowledged: float) -> None:
        with self.lock:
            self.wanted[marker] = acknowledged

    def seen(self, data: bytes, found: set[bytes]) -> None:
        now = time.monotonic()
        with self.lock:
            waiting = [(m, at) for m, at in self.wanted.items() if m not in found]
        for marker, acknowledged in waiting:
            if marker in data:
                found.add(marker)
                self.delays.append(now - acknowledged)


async def stream_client(port: int, watch: Watch, stop: asyncio.Event) -> None:
    """One EventSource-like client that times frames: a bearer token, reads each frame as it
    comes and notes when the awaited ids arrive, until told to stop."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(stream_request(port))
    await writer.drain()
    opened(await reader.readuntil(b"\r\n\r\n"), watch)
    found: set[bytes] = set()
    tail = b""
    try:
        while not stop.is_set():
            read = asyncio.ensure_future(reader.read(65536))
            done, _ = await asyncio.wait({read}, timeout=0.5)
            if not done:
                read.cancel()
                continue
            data = read.result()
            if not data:
                watch.ended += 1
                return
            watch.frames_bytes += len(data)
            watch.seen(tail + data, found)
            tail = data[-OVERLAP:]
    finally:
        writer.close()


def stream_request(port: int) -> bytes:
    return (
        f"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {harness.ADMIN_TOKEN}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()


def opened(head: bytes, watch: Watch) -> None:
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise SystemExit(f"the stream answered {head[:200]!r}")
    watch.opened += 1


class PassiveClients:
    """Stream clients that take what arrived every ``PASSIVE_READ_SECONDS``, on plain
    non-blocking sockets outside any event loop: the stream serves them as any other, and
    this process, on the same two cores as the service, spends next to nothing on them."""

    def __init__(self, port: int, count: int, watch: Watch) -> None:
        self.watch = watch
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(stream_request(port))
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(4096)
            opened(head, watch)
            sock.setblocking(False)
            self.sockets.append(sock)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.stop.wait(PASSIVE_READ_SECONDS):
            for sock in self.sockets:
                with contextlib.suppress(BlockingIOError):
                    while data := sock.recv(1 << 20):
                        self.watch.frames_bytes += len(data)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for sock in self.sockets:
            sock.close()


@contextlib.contextmanager
def clients(port: int, count: int, timed: int, watch: Watch) -> Iterator[None]:
    """``count`` stream clients (``timed`` of them timing frames), on one event loop in a
    thread, until the block ends."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()

    async def run() -> None:
        tasks = [asyncio.ensure_future(stream_client(port, watch, stop)) for _ in range(timed)]
        while watch.opened < timed:
            await asyncio.sleep(0.05)
            if any(t.done() and t.exception() for t in tasks):
                break
        ready.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    if not ready.wait(60):
        raise SystemExit(f"only {watch.opened} of {timed} timed stream clients connected in 60 s")
    passive = PassiveClients(port, count - timed, watch)
    try:
        yield
    finally:
        passive.close()
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


def sample_first_messages(
    path: str, api: Process, account_id: uuid.UUID, watch: Watch, seconds: float, rate: float
) -> int:
    """Beside the load: a new customer's first message every so often; its contact's id
    (known in advance) is what the clients wait for."""
    interval, sent, n = 1.0 / max(rate, 0.1), 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        n += 1
        customer = str(SAMPLE_CUSTOMER_BASE + n + int(time.time()))
        request = webhooks.signed(path, customer, "Đo độ trễ", int(time.time() * 1000))
        answer = harness.http_call(api.port, request)
        if answer.status == 200:
            watch.expect(str(Contact.create_id(account_id, customer)).encode(), time.monotonic())
            sent += 1
        time.sleep(interval)
    return sent


def run(opts: Options, url: str, tmp: Path) -> None:
    env = harness.zalodesk_env(url, tmp)
    load = webhooks.Options(
        seconds=opts.seconds,
        connections=(opts.connections,),
        customers=opts.customers,
        chat_messages=0,
        no_baseline=True,
        quiet_wait=opts.quiet_wait,
    )
    bench = webhooks.Bench(load, tmp, env, harness.zalodesk_worker(env, tmp))
    stream_port = harness.free_port()
    argv = [sys.executable, "-m", "api", "stream", "--bind", f"127.0.0.1:{stream_port}"]
    stream = Process("zalodesk stream", argv, env, tmp / "stream.log", stream_port).start()
    workers = opts.workers or default_workers()
    api = harness.zalodesk_api(env, tmp / "api.log", workers, 1)
    try:
        stream.serving("GET", "/healthz")
        bench.connect(api)
        account_id = uuid.UUID(bench.path.rsplit("/", 1)[1])
        bench.first_messages(api, opts.connections)
        bench.warm_up(api)
        print(webhooks.caught_up(api))

        alone = bench.load(
            "webhooks, no stream clients",
            api,
            bench.more_messages(opts.seconds),
            opts.seconds,
            opts.connections,
        )
        print(webhooks.caught_up(api))

        watch = Watch()
        file = bench.more_messages(opts.seconds)
        timed = min(opts.timed_clients, opts.clients)
        with clients(stream_port, opts.clients, timed, watch):
            print(f"  {opts.clients} stream clients connected")
            sampler = threading.Thread(
                target=sample_first_messages,
                args=(bench.path, api, account_id, watch, opts.seconds, opts.samples_per_second),
                daemon=True,
            )
            with harness.cores_used(stream.roles("zalodesk stream")) as cores:
                sampler.start()
                together = bench.load(
                    f"webhooks, {opts.clients} stream clients",
                    api,
                    file,
                    opts.seconds,
                    opts.connections,
                )
                sampler.join()
            print(webhooks.caught_up(api))
            time.sleep(2.0)  # the last samples' frames
        report(opts, alone, together, watch, cores)
    finally:
        api.stop()
        stream.stop()
        bench.worker.stop()


def report(
    opts: Options, alone: Figures, together: Figures, watch: Watch, cores: dict[str, float]
) -> None:
    expected = len(watch.wanted) * min(opts.timed_clients, opts.clients)
    print("\n== summary ==")
    print(f"  no clients:        {alone.rate:7.0f} webhooks/s, p99 {alone.p99:6.1f} ms")
    print(
        f"  {opts.clients:>3} clients:       {together.rate:7.0f} webhooks/s, p99 "
        f"{together.p99:6.1f} ms ({together.rate / max(alone.rate, 1e-9):.1%} of the rate alone)"
    )
    if watch.delays:
        ms = [d * 1000 for d in watch.delays]
        print(
            f"  webhook 200 -> frame at a client: p50 {harness.percentile(ms, 0.5):.0f} ms, "
            f"p99 {harness.percentile(ms, 0.99):.0f} ms, max {max(ms):.0f} ms "
            f"({len(ms)} of {expected} (sample, timed client) pairs seen; "
            f"{len(watch.wanted)} timed first messages)"
        )
    else:
        print("  !! no timed frame reached a client")
    print(
        f"  stream process: {cores.get('zalodesk stream', 0.0):.2f} cores; "
        f"{watch.frames_bytes / 1e6 / max(opts.clients, 1):.2f} MB read per client; "
        f"{watch.ended} clients cut off"
    )
    print(
        "  targets: >= 500 webhooks/s, p99 <= 100 ms, within 10 % of the rate with no clients; "
        "webhook to frame p99 <= 1 s"
    )


def main() -> None:
    opts = harness.options(Options)
    with harness.database() as url, harness.workdir(opts.keep) as tmp:
        harness.describe_machine(
            url,
            f"load: {harness.wrk_version()}, 1 thread, closed loop, {opts.connections} "
            f"connections, {opts.seconds:g} s per run, {opts.customers} customers; "
            f"{opts.clients} stream clients",
        )
        run(opts, url, tmp)


if __name__ == "__main__":
    main()
