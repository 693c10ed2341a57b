"""The baseline for bench/webhooks.py: a plain Falcon app that reads the body and answers.

Run it exactly like zalodesk's HTTP half (same gunicorn, workers, threads and
worker class)::

    gunicorn --chdir bench baseline_app:app --bind 127.0.0.1:8001 --workers 4 --threads 4 ...

Its route matches zalodesk's webhook path, so the same pre-generated requests
drive both.
"""

from __future__ import annotations

from typing import Any

import falcon


class Webhook:
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        req.bounded_stream.read()
        resp.media = {"ok": True}


app: falcon.App[Any, Any] = falcon.App()
app.add_route("/webhooks/zalo/{account_id}", Webhook())
