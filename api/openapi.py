"""The OpenAPI 3.1 document, generated from the route table and the same models that
validate requests and shape answers (api/contract.py), and the page that shows it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import falcon
from attrs import define, field, frozen
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api.contract import FIELD, JSON, Answer, Operation, Route
from api.schemas.base import Error

VERSION = "0.1.0"
REF = "#/components/schemas/{model}"
UUID_SCHEMA = {"type": "string", "format": "uuid"}


def spec(routes: Sequence[Route]) -> dict[str, Any]:
    schemas = Schemas(routes)
    paths: dict[str, Any] = {}
    for route in routes:
        path = FIELD.sub(r"{\1}", route.template)
        operations = paths.setdefault(path, {})
        for method, operation in route.operations.items():
            operations[method.lower()] = _operation(route, method, operation, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "zalodesk",
            "version": VERSION,
            "description": "The HTTP API of zalodesk: a helpdesk's Zalo channel. Errors are "
            "always JSON {title, description}; the description names what was wrong.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas.components,
        },
        "paths": paths,
    }


class Schemas:
    """Every model the routes name, as JSON schemas under components, once each."""

    def __init__(self, routes: Sequence[Route]) -> None:
        wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {
            (Error, "serialization"): None
        }
        for route in routes:
            for operation in route.operations.values():
                for model, mode in _models(operation):
                    wanted[(model, mode)] = None
        keys, definitions = models_json_schema(list(wanted), ref_template=REF)
        self.refs = keys
        self.components: dict[str, Any] = dict(definitions.get("$defs", {}))
        # Query models become parameters; they are not schemas of their own.
        self.queries: dict[type[BaseModel], dict[str, Any]] = {}
        for route in routes:
            for operation in route.operations.values():
                if operation.query is not None and operation.query not in self.queries:
                    self.queries[operation.query] = self._inline(operation.query)

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(self.refs[(model, mode)])

    def _inline(self, model: type[BaseModel]) -> dict[str, Any]:
        ref = self.refs[(model, "validation")]["$ref"]
        name = ref.rsplit("/", 1)[1]
        return dict(self.components.pop(name))


def _models(operation: Operation) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    found: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    if operation.body is not None:
        found.append((operation.body, "validation"))
    if operation.query is not None:
        found.append((operation.query, "validation"))
    for answer in operation.answers.values():
        if answer.shape is not None:
            found.append((answer.shape, "serialization"))
    return found


def errors_of(route: Route, method: str, operation: Operation) -> dict[int, Answer]:
    """What any operation of this kind can answer besides what it declares itself."""
    found: dict[int, Answer] = {}
    if not operation.raw:
        found[400] = Answer(
            "The query or the body is not what this call takes: an unknown or repeated "
            "query parameter, a malformed value, malformed JSON, a body missing or where "
            "none is taken",
            Error,
        )
    if route.secured:
        found[401] = Answer("No valid API token", Error)
    if operation.admin:
        found[403] = Answer("This call needs an admin token", Error)
    if FIELD.search(route.template):
        found[404] = Answer("No such path, or nothing with this id", Error)
    if not operation.raw and method != "GET":
        found[413] = Answer("The body is over 1 MiB", Error)
        found[415] = Answer("A body that is not sent as application/json", Error)
        found[422] = Answer(
            "A field that is missing, unknown, of the wrong type or out of its bounds; "
            "the description names it",
            Error,
        )
    if operation.uses_store:
        found[503] = Answer("The store cannot be reached; try again shortly", Error)
    return found


def _operation(route: Route, method: str, operation: Operation, schemas: Schemas) -> dict[str, Any]:
    answers = {**errors_of(route, method, operation), **operation.answers}
    document: dict[str, Any] = {
        "summary": _summary(operation),
        "operationId": _operation_id(method, route.template),
        "tags": [_tag(route.template)],
        "parameters": _path_parameters(route.template) + _query_parameters(operation, schemas),
        "responses": {
            str(status): _response(answer, schemas) for status, answer in sorted(answers.items())
        },
    }
    if operation.description:
        document["description"] = operation.description
    if operation.body is not None:
        document["requestBody"] = {
            "required": operation.body_required,
            "content": {JSON: {"schema": schemas.ref(operation.body, "validation")}},
        }
    if operation.raw_body is not None:
        raw = operation.raw_body
        document["requestBody"] = {
            "required": True,
            "description": raw.description,
            "content": {JSON: {"schema": dict(raw.schema)}},
        }
        document["parameters"] += [
            {"name": name, "in": "header", **dict(header)} for name, header in raw.headers.items()
        ]
    document["security"] = [{"bearer": []}] if route.secured else []
    return document


def _summary(operation: Operation) -> str:
    """The operation's summary, with ``(admin)`` after its first clause where it is for admins."""
    if not operation.admin:
        return operation.summary
    action, semicolon, remark = operation.summary.partition(";")
    return f"{action} (admin){semicolon}{remark}"


def _path_parameters(template: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": UUID_SCHEMA if converter == "uuid" else {"type": "string"},
        }
        for name, converter in FIELD.findall(template)
    ]


def _query_parameters(operation: Operation, schemas: Schemas) -> list[dict[str, Any]]:
    if operation.query is None:
        return []
    model = schemas.queries[operation.query]
    required = set(model.get("required", []))
    parameters = []
    for name, schema in model.get("properties", {}).items():
        schema = {k: v for k, v in schema.items() if k != "title"}
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in schema:
            parameter["description"] = schema.pop("description")
        parameter["schema"] = schema
        parameters.append(parameter)
    return parameters


def _response(answer: Answer, schemas: Schemas) -> dict[str, Any]:
    response: dict[str, Any] = {"description": answer.description}
    if answer.shape is not None:
        response["content"] = {JSON: {"schema": schemas.ref(answer.shape, "serialization")}}
    elif answer.schema is not None:
        response["content"] = {answer.media_type: {"schema": dict(answer.schema)}}
    return response


def _operation_id(method: str, template: str) -> str:
    """Unique per method and path: ``/webhooks/zalo/{account_id}/`` ends in ``_slash``."""
    words = FIELD.sub(r"by_\1", template).replace(".", "_")
    slash = "_slash" if template.endswith("/") and template != "/" else ""
    name = "_".join(w for w in re.split(r"[/_-]+", words) if w) or "root"
    return method.lower() + "_" + name + slash


def _tag(template: str) -> str:
    parts = [p for p in template.split("/") if p and not p.startswith("{")]
    if parts[:1] == ["api"] and len(parts) > 1:
        return parts[1]
    if parts[:1] in ([], ["web"]):
        return "console"
    return "zalo" if parts[:1] == ["webhooks"] else "operations"


# The document and its page, served as they are


DOCUMENT_ANSWER = Answer(
    "This document", media_type=JSON, schema={"type": "object", "description": "OpenAPI 3.1"}
)
PAGE_ANSWER = Answer("The API reference", media_type=falcon.MEDIA_HTML, schema={"type": "string"})


@define
class OpenAPI:
    document: Mapping[str, Any] = field(factory=dict)  # set once its table is complete

    @Operation("This OpenAPI document", {200: DOCUMENT_ANSWER}, uses_store=False)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document


@frozen
class Docs:
    """The API reference for a person: a page of our own, shipped with the package, that
    renders /openapi.json in the browser; nothing is loaded from anywhere else."""

    page: bytes = field(factory=lambda: resources.files("api").joinpath("docs.html").read_bytes())

    @Operation("The API reference, for a person", {200: PAGE_ANSWER}, uses_store=False)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.data = self.page
        resp.set_header(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src 'self' data:",
        )
