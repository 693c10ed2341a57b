"""The route table's vocabulary: what each operation takes and answers.

A resource's responders each carry their operation, made with ``Operation`` as a decorator::

    @frozen
    class ChatMessages:
        app: Zalodesk                                 # collaborators, as app.py wires them

        @Operation(
            "Queue a reply",
            {202: Answer("Queued", ReplyQueued), 409: refusal("...")},
            body=NewReply,                            # a Form (api/schemas): validated
        )
        def on_post(self, req, resp, chat_id):
            form = body(req, NewReply)                # already validated, typed
            resp.status = falcon.HTTP_202
            resp.media = {...}                        # shaped by ReplyQueued on the way out

and app.py lists ``Route(template, resource)``. That is all a new route needs: the
``Contract`` middleware (api/validation.py) validates the query and the body before the
responder runs and shapes the answer after it, ``BearerAuth`` (api/auth.py) lets only admin
tokens call an operation marked ``admin=True``, and ``/openapi.json`` is generated from the
same operations, with the errors every operation can answer added (400, 401, 403, 404,
413, 415, 422, 503: see ``errors_of``). A responder without an operation stops the app
from starting (as does an operation a route declares itself, ``declared``, without one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias, TypeVar

import falcon
from attrs import field, frozen
from pydantic import BaseModel

from api.schemas.base import Error, Form, Query

F = TypeVar("F", bound=Form)
Q = TypeVar("Q", bound=Query)
R = TypeVar("R", bound=Callable[..., None])

JSON = "application/json"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
OPERATION = "operation"  # the attribute of a responder that holds its operation


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

    @property
    def raw(self) -> bool:
        return self.from_zalo or self.raw_body is not None

    def __call__(self, responder: R) -> R:
        """As a decorator: the responder's operation, where its route finds it."""
        setattr(responder, OPERATION, self)
        return responder


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
    """Every responder has its operation and every operation its responder."""
    answered = set(route.responders)
    declared = set(route.operations)
    if answered != declared:
        raise TypeError(
            f"{route.template}: responders for {sorted(answered)} but operations for "
            f"{sorted(declared)} ({type(route.resource).__name__})"
        )


def by_route(routes: Iterable[Route]) -> dict[tuple[str, str], Operation]:
    """Every operation by the route template and the method a request matches it by."""
    return {
        (route.template, method): operation
        for route in routes
        for method, operation in route.operations.items()
    }


def body(req: falcon.Request, kind: type[F]) -> F:
    """The request's body as its operation validated it."""
    form = req.context.body
    assert isinstance(form, kind), f"the operation validates {type(form).__name__}, not {kind}"
    return form


def query(req: falcon.Request, kind: type[Q]) -> Q:
    """The request's query string as its operation validated it."""
    params = req.context.query
    assert isinstance(params, kind), f"the operation validates {type(params).__name__}, not {kind}"
    return params
