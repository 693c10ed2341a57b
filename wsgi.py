"""For gunicorn: ``gunicorn wsgi:app``, imported in each worker after fork.

Run by hand, it needs ``ZALODESK_DATABASE_URL`` (only ``zalodesk serve`` and
``zalodesk api`` start the embedded database); the schema is prepared by the first
worker (once the database answers, if it is away), and the workers share their metrics
as under ``zalodesk serve``. A worker starts while the database is away.
"""

import sys
from typing import Any, NoReturn

from adapters import json_logs, metrics_folder
from adapters.settings import Settings, SettingsError

# Gunicorn's code for "a worker failed to boot": the master stops instead of retrying.
WORKER_BOOT_ERROR = 3


def _load() -> Any:
    json_logs.configure()
    try:
        settings = Settings.from_env()
    except SettingsError as ex:
        _refuse(ex)
    metrics_folder.join(settings.data_dir)  # before prometheus_client is first imported
    from api import bootstrap

    try:
        return bootstrap.wsgi_app(settings)
    except SettingsError as ex:
        _refuse(ex)


def _refuse(reason: Exception) -> NoReturn:
    print(f"zalodesk: {reason}", file=sys.stderr, flush=True)
    raise SystemExit(WORKER_BOOT_ERROR)


app = _load()
