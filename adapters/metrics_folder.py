"""The folder where every process of one service shares its Prometheus counters.

prometheus_client reads it when it is first imported, so it is chosen before that.
Each run of a gunicorn master has a folder of its own, named by the master's pid:
counters start from zero at each start, and two services never mix theirs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from adapters.processes import alive

ENV = "PROMETHEUS_MULTIPROC_DIR"


def start_fresh(data_dir: Path) -> Path:
    """In the master, before it forks: a new folder for this run; old runs' are removed."""
    _remove_dead_runs(data_dir)
    return _use(_folder(data_dir, os.getpid()))


def join(data_dir: Path) -> Path:
    """In a worker: the folder its master chose, or, under a hand-run gunicorn, the master's."""
    chosen = os.environ.get(ENV)
    if chosen:
        return Path(chosen)
    _remove_dead_runs(data_dir)
    return _use(_folder(data_dir, os.getppid()))


def _folder(data_dir: Path, master_pid: int) -> Path:
    return data_dir.resolve() / "metrics" / f"run-{master_pid}"


def _use(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(folder)
    return folder


def _remove_dead_runs(data_dir: Path) -> None:
    for folder in (data_dir.resolve() / "metrics").glob("run-*"):
        pid = folder.name.removeprefix("run-")
        if not pid.isdigit() or not alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
