"""Gunicorn's workers share their metrics only if the folder is chosen before prometheus_client
is imported; the command's master process must therefore not import it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters import metrics_folder


def test_the_command_line_does_not_import_prometheus_client_before_forking() -> None:
    probe = "import sys, api.cli, api.bootstrap; print('prometheus_client' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_new_run_removes_the_folders_of_runs_that_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(metrics_folder.ENV, raising=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / "metrics" / f"run-{dead.pid}"
    stale.mkdir(parents=True)
    chosen = metrics_folder.start_fresh(tmp_path)
    assert chosen == tmp_path.resolve() / "metrics" / f"run-{os.getpid()}"
    assert os.environ[metrics_folder.ENV] == str(chosen)
    assert not stale.exists()


def test_a_worker_joins_its_masters_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(metrics_folder.ENV, raising=False)
    assert metrics_folder.join(tmp_path) == tmp_path.resolve() / "metrics" / f"run-{os.getppid()}"
    monkeypatch.setenv(metrics_folder.ENV, "/chosen/by/the/master")
    assert metrics_folder.join(tmp_path) == Path("/chosen/by/the/master")
