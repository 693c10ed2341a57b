"""The OpenAPI description, generated from the same route table the app is built from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import falcon
from attrs import frozen

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
}


@frozen
class Route:
    template: str
    resource: object
    summaries: dict[str, str]
    secured: bool = True
    suffix: str | None = None


def spec(routes: Sequence[Route]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in routes:
        path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.template)
        operations = paths.setdefault(path, {})
        for method, summary in route.summaries.items():
            operations[method.lower()] = _operation(route, path, summary)
    return {
        "openapi": "3.1.0",
        "info": {"title": "zalodesk", "version": "0.1.0"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "paths": paths,
    }


def _operation(route: Route, path: str, summary: str) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", path)
        ],
        "responses": {
            "200": {"description": "Success"},
            "4XX": {"description": "A problem with the request", **error},
            "5XX": {"description": "A problem on our side", **error},
        },
    }
    if route.secured:
        operation["security"] = [{"bearer": []}]
    return operation


class OpenAPI:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document
