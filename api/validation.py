"""Every request checked against its operation before the responder runs, and every answer
shaped by its operation's model after it.

The responder is given the validated body and query as its arguments: the parameters it
annotates with a Form and a Query (api/contract.py).

Refusals name what was wrong: 400 for a query or a body that is not what the call takes at
all (an unknown or repeated query parameter, malformed JSON, no body), 415 for a body that
is not sent as JSON, 422 for a field that is missing, unknown, of the wrong type or out of
its bounds. Nothing is coerced. Operations that read their body themselves (the Zalo
webhook) pass through untouched, at the cost of one dictionary look-up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Annotated, Any, get_args, get_origin

import falcon
from annotated_types import Ge, Le
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from api.contract import Operation, Route, by_route
from api.schemas.base import PATTERN_MEANINGS, Error, Form

log = logging.getLogger("zalodesk.http")

MAX_BODY = 1024 * 1024
JSON_TYPES = ("application/json",)


class Nothing(Form):
    """The body of a call that takes none: absent, or an empty JSON object."""


class Contract:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.operations = by_route(routes)

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        operation = self.operations.get((req.uri_template or "", req.method))
        if operation is None:
            return  # no responder for the method: Falcon answers 405
        req.context.operation = operation
        if operation.raw:
            return
        asked, form = parse_query(req, operation), parse_body(req, operation)
        # Falcon calls the responder with ``params``: its route's fields, and these.
        if operation.query_argument is not None:
            params[operation.query_argument] = asked
        if operation.body_argument is not None:
            params[operation.body_argument] = form

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        operation: Operation | None = req.context.get("operation")
        if operation is None or operation.raw or not req_succeeded:
            return
        answer = operation.answers.get(resp.status_code)
        if answer is None:
            broken(resp, f"{req.method} {req.uri_template} answered {resp.status_code}")
            return
        media = resp.media
        if answer.shape is None or media is None:
            return
        try:
            shaped = answer.shape.model_validate(media)
        except ValidationError as ex:
            broken(resp, f"{req.method} {req.uri_template}: {described(ex, answer.shape)}")
            return
        resp.media = None
        resp.data = type(shaped).__pydantic_serializer__.to_json(shaped)
        resp.content_type = falcon.MEDIA_JSON


def broken(resp: falcon.Response, why: str) -> None:
    """An answer its operation does not document: a bug of ours, never sent as it is."""
    log.error("answer outside the contract", extra={"problem": why})
    resp.status = falcon.HTTP_500
    resp.media = None
    resp.data = (
        Error(
            title="Internal error", description="Something went wrong on our side; it was logged."
        )
        .model_dump_json()
        .encode()
    )
    resp.content_type = falcon.MEDIA_JSON


def parse_query(req: falcon.Request, operation: Operation) -> BaseModel | None:
    values: dict[str, Any] = dict(req.params)
    for name, value in values.items():
        if isinstance(value, list):
            raise bad_request("Bad query", f"{name}: given more than once")
    if operation.query is None:
        if values:
            raise bad_request("Bad query", f"{', '.join(sorted(values))}: {unknown_query([])}")
        return None
    known = list(operation.query.model_fields)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise bad_request("Bad query", f"{', '.join(unknown)}: {unknown_query(known)}")
    try:
        return operation.query.model_validate(values)
    except ValidationError as ex:
        raise bad_request("Bad query", described(ex, operation.query)) from None


def unknown_query(known: list[str]) -> str:
    if not known:
        return "this call takes no query parameters"
    return f"not a query parameter of this call (it takes {', '.join(known)})"


def parse_body(req: falcon.Request, operation: Operation) -> BaseModel | None:
    if req.method == "GET":
        if (req.content_length or 0) > 0 or chunked(req):
            raise bad_request("Bad body", "A GET takes no body.")
        return None
    raw = read_body(req)
    form = operation.body or Nothing
    if not raw:
        if operation.body is not None and operation.body_required:
            raise bad_request(
                "No body", f"This call takes a JSON object with {fields_of(operation.body)}."
            )
        return form() if operation.body is not None else None
    media_type = (req.content_type or "").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES:
        raise falcon.HTTPUnsupportedMediaType(
            title="Not JSON",
            description=f"Send the body as JSON, with Content-Type: application/json "
            f"(this one came as {media_type or 'no Content-Type'}).",
        )
    try:
        return form.model_validate_json(raw)
    except ValidationError as ex:
        problems = ex.errors(include_url=False)
        if problems and problems[0]["type"] == "json_invalid":
            raise bad_request(
                "Malformed JSON", f"The body could not be parsed as JSON: {problems[0]['msg']}"
            ) from None
        if problems and not problems[0]["loc"]:
            raise bad_request("Bad body", "The body must be a JSON object.") from None
        raise falcon.HTTPUnprocessableEntity(
            title="Invalid input", description=described(ex, form)
        ) from None


def read_body(req: falcon.Request) -> bytes:
    if req.content_length is not None and req.content_length > MAX_BODY:
        raise too_large()
    # Without a Content-Length (chunked), the bounded stream would read as empty.
    stream = req.stream if chunked(req) else req.bounded_stream
    raw: bytes = stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise too_large()
    return raw


def chunked(req: falcon.Request) -> bool:
    return "chunked" in (req.get_header("Transfer-Encoding") or "").lower()


def too_large() -> falcon.HTTPError:
    return falcon.HTTPContentTooLarge(
        title="Body too large", description=f"Bodies are limited to {MAX_BODY} bytes."
    )


def bad_request(title: str, description: str) -> falcon.HTTPError:
    return falcon.HTTPBadRequest(title=title, description=description)


def fields_of(model: type[BaseModel]) -> str:
    names = list(model.model_fields)
    return ", ".join(names) if names else "no fields"


# Error descriptions a person can act on: the field, then what it must be.


def described(error: ValidationError, model: type[BaseModel]) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in problem['loc']) or 'body'}: {meaning(problem, model)}"
        for problem in error.errors(include_url=False)
    )


def meaning(problem: ErrorDetails, model: type[BaseModel]) -> str:
    kind, context = problem["type"], problem.get("ctx") or {}
    bounds = whole_number_bounds(model, problem["loc"])
    if bounds is not None and kind != "missing":
        return f"must be a whole number from {bounds[0]} to {bounds[1]}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        parent = model_at(model, problem["loc"][:-1])
        known = fields_of(parent) if parent is not None else "other fields"
        return f"is not a field of this call (it takes {known})"
    if kind == "string_pattern_mismatch":
        return PATTERN_MEANINGS.get(str(context.get("pattern")), problem["msg"])
    if kind in SIMPLE:
        return SIMPLE[kind]
    if kind in ("enum", "literal_error"):
        return f"must be one of {context.get('expected')}"
    if kind == "string_too_long":
        return f"must be at most {context.get('max_length')} characters"
    if kind == "too_long":
        return f"must have at most {context.get('max_length')} items"
    return str(problem["msg"])


SIMPLE = {
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "string_too_short": "must not be empty",
    "uuid_format": "must be an id like 6f1c2b0e-3c0a-4f57-9a53-1f3f2f2c9a10",
}


def whole_number_bounds(
    model: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[int, int] | None:
    """The bounds of the whole-number field at ``loc``, when it has both."""
    parent = model_at(model, loc[:-1])
    if parent is None or not loc or not isinstance(loc[-1], str):
        return None
    found = parent.model_fields.get(loc[-1])
    if found is None:
        return None
    metadata = [*found.metadata, *annotated_metadata(found.annotation)]
    ge = next((m.ge for m in metadata if isinstance(m, Ge)), None)
    le = next((m.le for m in metadata if isinstance(m, Le)), None)
    if isinstance(ge, int) and isinstance(le, int):
        return ge, le
    return None


def annotated_metadata(annotation: Any) -> list[Any]:
    """Constraints inside ``Annotated[...]`` within a union (``Seconds | MISSING``)."""
    if get_origin(annotation) is Annotated:
        found: list[Any] = []
        for extra in get_args(annotation)[1:]:
            found.extend(getattr(extra, "metadata", [extra]))
        return found
    return [m for arg in get_args(annotation) for m in annotated_metadata(arg)]


def model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model of the object at ``loc`` inside ``model`` (None past a list or a dict)."""
    current: type[BaseModel] = model
    for part in loc:
        if not isinstance(part, str) or part not in current.model_fields:
            return None
        inner = nested_model(current.model_fields[part].annotation)
        if inner is None:
            return None
        current = inner
    return current


def nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = nested_model(arg)
        if found is not None:
            return found
    return None
