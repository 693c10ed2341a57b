"""For gunicorn: ``gunicorn zalodesk.wsgi:app``. Imported in each worker, after fork."""

from zalodesk.adapters import logs
from zalodesk.adapters.settings import Settings
from zalodesk.api.app import create_app

logs.configure()
app = create_app(Settings.from_env())
