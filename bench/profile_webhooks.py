"""Where a zalodesk gunicorn worker spends its time on webhooks: py-spy under wrk load.

    pip install py-spy             # not a project dependency
    python bench/profile_webhooks.py [--seconds 15] [--workers 1] [--threads 4] [--wall]
    python bench/profile_webhooks.py --in-process 3000 [--customers 1000]   # cProfile, no py-spy

Starts ``zalodesk api`` and ``zalodesk worker`` on a fresh database as
bench/webhooks.py does, seeds --customers customers, then samples every
gunicorn worker with ``py-spy record`` while wrk sends further messages in
active chats. Prints the functions with the most samples, by own time and
including callees, and keeps the folded stacks (for a flame graph:
``py-spy``'s --format speedscope, or flamegraph.pl on the .txt file).
py-spy leaves out threads it sees idle, but a thread waiting for PostgreSQL
inside psycopg still counts; those samples (and the other waits listed in
WAITS) are shown as one line and left out of the tables, which then show
where the workers' CPU goes. With --wall, every thread is sampled, waiting or
not (``py-spy --idle``) and nothing is left out: where a request's time goes.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # machine, webhooks; they add the root

from machine import free_port, wait_for_quiet
from webhooks import (
    OA_SECRET_KEY,
    Bench,
    customer_id,
    fresh_database,
    report_line,
    seed_customers,
    wait_for_projections,
)


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(x) for x in text]
    return found


def frame_name(frame: str) -> str:
    """``function (path/to/file.py:123)`` -> ``function (file.py)``: one entry per function."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{name} ({file})"


# Leaf frames that are waiting rather than computing.
WAITS = {
    "Connection.wait (psycopg/connection.py)": "waiting for PostgreSQL (psycopg)",
    "EpollSelector.select (selectors.py)": "waiting for connections (gunicorn)",
    "PollSelector.select (selectors.py)": "waiting for connections (gunicorn)",
    "Condition.wait (threading.py)": "waiting on a lock or queue",
    "Lock.acquire (threading.py)": "waiting on a lock or queue",
}


def summarise(folded: Path, top: int, leave_out_waits: bool = True) -> None:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    waits: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue  # a line cut short when two py-spy outputs met
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";")]
        # py-spy puts "process ..." and "thread ..." at the root with some options.
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        if leave_out_waits and frames[-1] in WAITS:
            waits[WAITS[frames[-1]]] += count
            continue
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    everything = samples + sum(waits.values())
    print(f"\n{everything} samples")
    for what, count in waits.most_common():
        print(f"  {count / everything:6.1%}  {what} (left out below)")
    print(f"  {samples / everything:6.1%}  the rest: the tables below are shares of these")
    print(f"\n-- top {top} by own time --")
    for name, count in own.most_common(top):
        print(f"  {count / samples:6.1%}  {name}")
    print(f"\n-- top {top * 2} including callees --")
    for name, count in total.most_common(top * 2):
        print(f"  {count / samples:6.1%}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--wall", action="store_true", help="sample waiting threads too")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=None, help="where to keep the folded stacks")
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        metavar="N",
        help="no gunicorn, no py-spy: N webhooks one at a time through falcon.testing "
        "under cProfile, with the SQL statements each one sends",
    )
    args = parser.parse_args()
    if args.in_process:
        return in_process(args)
    if shutil.which("py-spy") is None:
        raise SystemExit("py-spy is not installed: pip install py-spy")

    # Bench reads these from its args.
    args.wrk_threads = 1
    args.max_rate = 2000
    args.warmup = 2
    args.projection_timeout = 300
    args.quiet_wait = 0  # waited for below, before py-spy starts
    args.server_env = {}
    tmp = Path(tempfile.mkdtemp(prefix="zalodesk-profile-"))
    out = args.out or tmp / "profile.folded.txt"
    try:
        with fresh_database("zalodesk_bench") as url:
            bench = Bench(args=args, url=url, tmp=tmp)
            port = free_port()
            api = bench.zalodesk_api(port, args.workers, args.threads)
            try:
                bench.ensure_worker()
                bench.create_account(port)
                seed_customers(bench, port, args.workers, args.threads, args.connections)
                wait_for_projections(port, args.projection_timeout)
                assert api.proc is not None
                pids = children(api.proc.pid)
                file = bench.requests_file(round(args.seconds * args.max_rate) + 4000)
                wait_for_quiet(120)
                spies = []
                for pid in pids:
                    argv = ["py-spy", "record", "--pid", str(pid), "--rate", str(args.rate)]
                    argv += ["--duration", str(round(args.seconds)), "--format", "raw"]
                    argv += ["--output", f"{out}.{pid}", "--nonblocking"]
                    if args.wall:
                        argv.append("--idle")
                    spies.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
                time.sleep(0.5)
                result = bench.wrk(
                    "zalodesk (profiled)",
                    port,
                    file,
                    args.seconds + 1,
                    args.connections,
                    args.workers,
                    args.threads,
                )
                for spy in spies:
                    spy.wait(timeout=60)
                print(report_line(result))
            finally:
                api.stop()
                if bench.worker is not None:
                    bench.worker.stop()
        with out.open("w") as merged:
            for pid in pids:
                part = Path(f"{out}.{pid}")
                if part.exists():
                    merged.write(part.read_text())
                    part.unlink()
        summarise(out, args.top, leave_out_waits=not args.wall)
        print(f"\nfolded stacks: {out}")
    finally:
        if args.out is None:
            print("(temporary folder kept for the stacks: " + str(tmp) + ")")
    return 0


def in_process(args: argparse.Namespace) -> int:
    """The app in this process, one request at a time: costs without contention."""
    import cProfile
    import logging
    import os
    import pstats
    import random

    import psycopg
    from falcon import testing

    from adapters import json_logs as logs
    from adapters.postgres.schema import prepare
    from adapters.settings import Settings
    from api.app import create_app
    from tests.support import zalo

    tmp = Path(tempfile.mkdtemp(prefix="zalodesk-profile-"))
    logs.configure()  # as in production: one JSON line per request, here into a file
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream((tmp / "app.log").open("w"))
    with fresh_database("zalodesk_bench") as url:
        prepare(url)
        env = {
            "ZALODESK_DATABASE_URL": url,
            "ZALODESK_ADMIN_TOKEN": "bench-admin",
            "ZALODESK_DATA_DIR": str(tmp / "data"),  # the credentials key goes there
        }
        os.environ.update(env)
        client = testing.TestClient(create_app(Settings.from_env(env)))
        account = {
            "name": "Benchmark OA",
            "app_id": zalo.APP_ID,
            "oa_id": zalo.OA_ID,
            "app_secret": "bench-app-secret",
            "oa_secret_key": OA_SECRET_KEY,
            "access_token": "a",
            "refresh_token": "r",
            "chat_inactivity_seconds": 7 * 24 * 3600,
        }
        auth = {"Authorization": "Bearer bench-admin"}
        path = (
            "/webhooks/zalo/"
            + client.simulate_post("/api/accounts", json=account, headers=auth).json["id"]
        )
        customers = [customer_id(n) for n in range(args.customers)]
        rng = random.Random(1)

        def send(customer: str, n: int) -> None:
            body = zalo.user_text(customer, f"Chào shop, đơn hàng số {n} của mình đâu rồi ạ")
            raw, headers = zalo.signed(body, OA_SECRET_KEY)
            result = client.simulate_post(path, body=raw, headers=headers)
            if result.status_code != 200:
                raise SystemExit(f"webhook answered {result.status_code}: {result.text[:300]}")

        for n, customer in enumerate(customers):
            send(customer, n)  # first messages: contacts, tickets and chats exist
        n = args.in_process
        for i in range(n):  # warm: each customer's aggregates loaded once, as a worker would
            send(rng.choice(customers), i)

        statements: collections.Counter[str] = collections.Counter()
        execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

        def counted(method: Any) -> Any:
            def wrapper(self: Any, query: Any, *a: Any, **k: Any) -> Any:
                text = query if isinstance(query, str | bytes) else query.as_string(self)
                key = " ".join(str(text).split())[:100] or "(empty query: a pool check)"
                statements[key] += 1
                return method(self, query, *a, **k)

            return wrapper

        psycopg.Cursor.execute = counted(execute)  # type: ignore[method-assign]
        psycopg.Cursor.executemany = counted(executemany)  # type: ignore[method-assign]
        try:
            for i in range(n):
                send(rng.choice(customers), i)
        finally:
            psycopg.Cursor.execute = execute  # type: ignore[method-assign]
            psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]

        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            send(rng.choice(customers), i)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        profile = cProfile.Profile()
        profile.enable()
        for i in range(n):
            send(rng.choice(customers), i)
        profile.disable()

    print(
        f"{n} webhooks into active chats of {len(customers)} customers, one at a time, "
        f"in one process: {n / wall:.0f}/s; per webhook {wall / n * 1000:.2f} ms, "
        f"of which Python CPU {cpu / n * 1000:.2f} ms"
    )
    print(f"SQL statements per webhook ({sum(statements.values()) / n:.1f} in all):")
    for text, count in statements.most_common(15):
        print(f"  {count / n:5.2f}  {text}")
    print(f"\n-- cProfile of {n} more (times include cProfile's overhead) --")
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top * 2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
