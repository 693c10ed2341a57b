"""Pools sized to the worker model: a sync gunicorn worker holds a handful of connections,
so the default workers of a 16-core host fit the embedded server's 100."""

from __future__ import annotations

from adapters.postgres.connection import WORKER_PROCESS, web_worker
from api.bootstrap import STREAM_PROCESS, connections_needed


def test_a_sync_worker_needs_one_connection_of_each_pool_and_a_spare() -> None:
    assert web_worker(1).most == 4
    assert web_worker(4).most == 10  # more threads, more at once


def test_the_default_workers_of_a_16_core_host_fit_a_server_of_100() -> None:
    needed = connections_needed(workers=17, threads=1, with_worker=True)
    assert needed == 17 * 4 + WORKER_PROCESS.most + STREAM_PROCESS.most + 1 + 10
    assert needed <= 100 - 3  # PostgreSQL keeps 3 for superusers by default
