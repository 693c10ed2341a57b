"""The route table's vocabulary: what each operation takes and answers.

A resource's responders each carry their operation, made with ``Operation`` as a decorator::

    @frozen
    class ChatMessages:
        app: Zalodesk                                 # collaborators, as app.py wires them

        @Operation("Queue a reply", {202: Answer("Queued", ReplyQueued), 409: refusal("...")})
        def on_post(self, req, resp, chat_id: UUID, form: NewReply) -> None:
            reply = self.app.post_reply(PostReply(..., text=form.text))  # validated, typed
            resp.status = falcon.HTTP_202
            resp.media = {...}                        # shaped by ReplyQueued on the way out

and app.py lists ``Route(template, resource)``. What a responder takes it says in its
signature, once: the parameter annotated with a ``Form`` (api/schemas) is the body and the
one annotated with a ``Query`` the query string; its other parameters are its route's fields
(``chat_id``). That is all a new route needs: the ``Contract`` middleware (api/validation.py)
validates the query and the body before the responder runs, hands them to it, and shapes the
answer after it, ``BearerAuth`` (api/auth.py) lets only admin tokens call an operation marked
``admin=True``, and ``/openapi.json`` is generated from the same operations, with the errors
every operation can answer added (400, 401, 403, 404, 413, 415, 422, 503: see
``errors_of``). A responder without an operation, or whose parameters are not what its route
and its operation give it, stops the app from starting (as does an operation a route
declares itself, ``declared``, without one).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias, TypeVar, get_type_hints

from attrs import evolve, field, frozen
from pydantic import BaseModel

from api.schemas.base import Error, Form, Query

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=Callable[..., None])

JSON = "application/json"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
OPERATION = "operation"  # the attribute of a responder that holds its operation
FIELD = re.compile(r"\{(\w+)(?::(\w+))?\}")  # a field of a route's template, and its converter


@frozen
class Answer:
    """One status an operation answers, with its body: a model (JSON), or another media type
    described by a JSON schema (HTML pages, Prometheus text), or nothing (204)."""

    description: str
    shape: type[BaseModel] | None = None
    media_type: str = JSON
    schema: Mapping[str, Any] | None = None


def refusal(description: str) -> Answer:
    """A business refusal (409 and the like): the usual error body."""
    return Answer(description, Error)


@frozen
class RawBody:
    """A body the operation reads itself, as it arrived: documented, never validated here."""

    description: str
    schema: Mapping[str, Any]
    headers: Mapping[str, Mapping[str, Any]] = field(factory=dict)


@frozen
class Operation:
    summary: str
    answers: Mapping[int, Answer]
    body: type[Form] | None = None
    body_required: bool = True
    query: type[Query] | None = None
    raw_body: RawBody | None = None
    # False for the few calls that never touch the store (no 503 to document).
    uses_store: bool = True
    # Zalo's calls: taken as Zalo sends them, neither checked nor shaped here.
    from_zalo: bool = False
    description: str | None = None
    # Only for admin tokens: 403 for any other (api/auth.py), and so documented.
    admin: bool = False
    # The responder's parameters the validated body and query are given to (as the
    # decorator finds them by their annotations).
    body_argument: str | None = None
    query_argument: str | None = None

    @property
    def raw(self) -> bool:
        return self.from_zalo or self.raw_body is not None

    @property
    def arguments(self) -> set[str]:
        return {a for a in (self.body_argument, self.query_argument) if a is not None}

    def __call__(self, responder: R) -> R:
        """As a decorator: the responder's operation, where its route finds it, with the body
        and the query its parameters are annotated with (a Form and a Query)."""
        models = models_taken(responder)
        body_argument, body = taken(responder, models, Form, self.body)
        query_argument, query = taken(responder, models, Query, self.query)
        operation = evolve(
            self, body=body, body_argument=body_argument, query=query, query_argument=query_argument
        )
        setattr(responder, OPERATION, operation)
        return responder


def models_taken(responder: Callable[..., None]) -> dict[str, type[BaseModel]]:
    """The responder's parameters annotated with a model: a Form or a Query, nothing else."""
    found = {
        name: hint
        for name, hint in get_type_hints(responder).items()
        if name != "return" and isinstance(hint, type) and issubclass(hint, BaseModel)
    }
    for name, model in found.items():
        if not issubclass(model, Form | Query):
            raise TypeError(
                f"{responder.__qualname__}: {name} is a {model.__name__}, neither a Form (the "
                "body) nor a Query (the query string)"
            )
    return found


def taken(
    responder: Callable[..., None],
    models: Mapping[str, type[BaseModel]],
    kind: type[M],
    declared: type[M] | None,
) -> tuple[str | None, type[M] | None]:
    """The parameter annotated with a ``kind`` of model and its model; without one, the model
    the operation declares (checked, not given to the responder)."""
    found = {name: model for name, model in models.items() if issubclass(model, kind)}
    if not found:
        return None, declared
    if len(found) > 1:
        raise TypeError(f"{responder.__qualname__}: {', '.join(found)} are all {kind.__name__}s")
    [(name, model)] = found.items()
    if declared is not None and declared is not model:
        raise TypeError(
            f"{responder.__qualname__}: {name} is a {model.__name__}, but the operation "
            f"declares {declared.__name__}"
        )
    return name, model


Operations: TypeAlias = Mapping[str, Operation]


@frozen
class Route:
    template: str
    resource: object
    secured: bool = True
    # Operations made with the route, not on the responders (the console's files: named
    # as the route finds them).
    declared: Operations | None = None

    @property
    def responders(self) -> dict[str, Callable[..., None]]:
        """The resource's ``on_<method>`` responders, by method."""
        found = {m: getattr(self.resource, f"on_{m.lower()}", None) for m in METHODS}
        return {method: responder for method, responder in found.items() if callable(responder)}

    @property
    def operations(self) -> Operations:
        if self.declared is not None:
            return self.declared
        found = {m: getattr(r, OPERATION, None) for m, r in self.responders.items()}
        return {method: operation for method, operation in found.items() if operation is not None}


def check(route: Route) -> None:
    """Every responder has its operation and every operation its responder; a responder takes
    its route's fields and what its operation gives it, nothing else."""
    answered = set(route.responders)
    declared = set(route.operations)
    if answered != declared:
        raise TypeError(
            f"{route.template}: responders for {sorted(answered)} but operations for "
            f"{sorted(declared)} ({type(route.resource).__name__})"
        )
    fields = {name for name, _ in FIELD.findall(route.template)}
    for method, responder in route.responders.items():
        given = fields | route.operations[method].arguments
        _req, _resp, *takes = inspect.signature(responder).parameters
        if set(takes) != given:
            raise TypeError(
                f"{route.template}: {responder.__qualname__} takes {sorted(takes)}, but its "
                f"route and its operation give it {sorted(given)}"
            )


def by_route(routes: Iterable[Route]) -> dict[tuple[str, str], Operation]:
    """Every operation by the route template and the method a request matches it by."""
    return {
        (route.template, method): operation
        for route in routes
        for method, operation in route.operations.items()
    }
