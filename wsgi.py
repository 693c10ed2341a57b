"""For gunicorn: ``gunicorn wsgi:app``. Imported in each worker, after fork."""

from adapters import json_logs as logs
from adapters.settings import Settings
from api.app import create_app

logs.configure()
app = create_app(Settings.from_env())
