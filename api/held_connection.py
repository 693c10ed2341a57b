"""Each request's event-store queries on one connection (adapters/postgres/held_connection)."""

from __future__ import annotations

from typing import Any

import falcon

from adapters.postgres.held_connection import HeldConnections


class OneConnectionPerRequest:
    def __init__(self, datastore: HeldConnections) -> None:
        self.datastore = datastore

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.datastore.hold()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        self.datastore.release()
