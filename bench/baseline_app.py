"""The baseline of bench/webhooks.py: a plain Falcon app that reads the body and answers.

Run under gunicorn with zalodesk's options (bench/harness.py's ``baseline``); its route
is zalodesk's webhook path, so the same request file drives both.
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
