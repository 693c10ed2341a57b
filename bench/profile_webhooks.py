"""Where a zalodesk gunicorn worker spends its time on webhooks: py-spy under wrk load.

    pip install py-spy             # not a project dependency
    python bench/profile_webhooks.py [--seconds 15] [--workers 1] [--threads 4] [--wall]

Starts ``zalodesk api`` and ``zalodesk worker`` on a fresh database as
bench/webhooks.py does, seeds --customers customers, then samples every
gunicorn worker with ``py-spy record`` while wrk sends further messages in
active chats. Prints the functions with the most samples, by own time and
including callees, and keeps the folded stacks (for a flame graph:
``py-spy``'s --format speedscope, or flamegraph.pl on the .txt file).
By default only the thread holding the GIL is sampled (``py-spy --gil``): where
the workers' Python CPU goes. With --wall every thread is sampled, waiting or
not (``py-spy --idle``): where a request's time goes, PostgreSQL round trips
included (idle gthread threads waiting for work show up as ``select`` too).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webhooks import (
    Bench,
    free_port,
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


def summarise(folded: Path, top: int) -> None:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";")]
        # py-spy puts "process ..." and "thread ..." at the root with some options.
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    print(f"\n{samples} samples")
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
    args = parser.parse_args()
    if shutil.which("py-spy") is None:
        raise SystemExit("py-spy is not installed: pip install py-spy")

    # Bench reads these from its args.
    args.wrk_threads = 1
    args.max_rate = 2000
    args.warmup = 2
    args.projection_timeout = 300
    args.quiet_wait = 120
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
                spies = []
                for pid in pids:
                    argv = ["py-spy", "record", "--pid", str(pid), "--rate", str(args.rate)]
                    argv += ["--duration", str(round(args.seconds)), "--format", "raw"]
                    argv += ["--output", f"{out}.{pid}", "--nonblocking"]
                    argv.append("--idle" if args.wall else "--gil")
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
        summarise(out, args.top)
        print(f"\nfolded stacks: {out}")
    finally:
        if args.out is None:
            print("(temporary folder kept for the stacks: " + str(tmp) + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
