"""The contract of a route is the truth: what it answers outside it never reaches a client,
and its document shows exactly what it checks."""

from __future__ import annotations

from typing import Any, ClassVar

import falcon
import pytest
from falcon import testing

from adapters.api_tokens import Principal, TokenStore
from api import errors
from api.auth import BearerAuth
from api.contract import Answer, Operation, Route, check
from api.openapi import spec
from api.schemas.base import Form, Query, Shape
from api.validation import Contract


class Greeting(Form):
    name: str


class Other(Form):
    nickname: str


class Greeted(Shape):
    text: str


class Manners(Query):
    formal: bool = False


class Greeter:
    """Answers what each test tells it to, whatever its operation says."""

    answer: ClassVar[tuple[str, dict[str, Any]]] = (falcon.HTTP_201, {})

    @Operation("Greet", {201: Answer("Greeted", Greeted)})
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, form: Greeting, asked: Manners
    ) -> None:
        resp.status, media = self.answer
        title = "quý khách " if asked.formal else ""
        resp.media = {"text": f"Xin chào {title}{form.name}", **media}


@pytest.fixture
def client() -> testing.TestClient:
    table = [Route("/greet", Greeter(), secured=False)]
    app: falcon.App[Any, Any] = falcon.App(middleware=[Contract(table)])
    app.add_route("/greet", table[0].resource)
    errors.register(app)
    return testing.TestClient(app)


def test_an_answer_is_shaped_by_its_model(client: testing.TestClient) -> None:
    Greeter.answer = (falcon.HTTP_201, {})
    greeted = client.simulate_post("/greet", json={"name": "Lan"})
    assert (greeted.status_code, greeted.json) == (201, {"text": "Xin chào Lan"})


def test_a_responder_is_given_its_validated_body_and_query(client: testing.TestClient) -> None:
    Greeter.answer = (falcon.HTTP_201, {})
    greeted = client.simulate_post("/greet?formal=true", json={"name": "Lan"})
    assert (greeted.status_code, greeted.json) == (201, {"text": "Xin chào quý khách Lan"})


@pytest.mark.parametrize(
    "answer",
    [(falcon.HTTP_201, {"mood": "happy"}), (falcon.HTTP_200, {}), (falcon.HTTP_201, {"text": 5})],
    ids=["an undeclared field", "an undeclared status", "a field of another type"],
)
def test_an_answer_outside_the_contract_is_never_sent(
    client: testing.TestClient, answer: tuple[str, dict[str, Any]]
) -> None:
    Greeter.answer = answer
    broken = client.simulate_post("/greet", json={"name": "Lan"})
    assert broken.status_code == 500
    assert broken.json == {
        "title": "Internal error",
        "description": "Something went wrong on our side; it was logged.",
    }


def test_a_responder_without_an_operation_stops_the_app_from_starting() -> None:
    class Undeclared(Greeter):
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.media = {}

    with pytest.raises(TypeError, match=r"responders for \['GET', 'POST'\]"):
        check(Route("/greet", Undeclared()))


def test_an_operation_that_declares_another_body_than_its_responder_takes_stops_the_app() -> None:
    with pytest.raises(TypeError, match="form is a Greeting, but the operation declares Other"):

        class Contradicting:
            @Operation("Greet", {201: Answer("Greeted", Greeted)}, body=Other)
            def on_post(self, req: falcon.Request, resp: falcon.Response, form: Greeting) -> None:
                resp.media = {"text": form.name}


def test_a_responder_taking_a_model_that_is_neither_a_form_nor_a_query_stops_the_app() -> None:
    with pytest.raises(TypeError, match="greeted is a Greeted, neither a Form"):

        class Confused:
            @Operation("Greet", {201: Answer("Greeted", Greeted)})
            def on_post(self, req: falcon.Request, resp: falcon.Response, greeted: Greeted) -> None:
                resp.media = {"text": greeted.text}


def test_a_responder_taking_what_nobody_gives_it_stops_the_app() -> None:
    class Unannotated:
        @Operation("Greet", {201: Answer("Greeted", Greeted)}, body=Greeting)
        def on_post(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
            resp.media = {"text": name}

    with pytest.raises(TypeError, match=r"takes \['name'\], but .* give it \[\]"):
        check(Route("/greet", Unannotated()))
    check(Route("/greet/{name}", Unannotated()))


def test_the_document_shows_the_body_answers_and_errors_of_an_operation() -> None:
    document = spec([Route("/greet", Greeter())])
    operation = document["paths"]["/greet"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Greeting"
    }
    assert set(operation["responses"]) == {"201", "400", "401", "413", "415", "422", "503"}
    greeting = document["components"]["schemas"]["Greeting"]
    assert greeting["additionalProperties"] is False
    assert greeting["required"] == ["name"]


class Tokens(TokenStore):
    """An agent's token and an admin's, without a database."""

    def __init__(self) -> None:
        self.known = {
            "agent": Principal("1", "lan", admin=False),
            "admin": Principal("2", "boss", admin=True),
        }

    def authenticate(self, token: str) -> Principal | None:
        return self.known.get(token)


class Notes:
    """Any agent reads the notes; only an admin clears them."""

    @Operation("Read the notes; newest first", {200: Answer("The notes")})
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_200

    @Operation("Clear the notes; they are gone for good", {204: Answer("Cleared")}, admin=True)
    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_204


def test_an_admin_operation_is_refused_to_an_agent_by_its_method() -> None:
    table = [Route("/notes", Notes())]
    app: falcon.App[Any, Any] = falcon.App(middleware=[BearerAuth(Tokens(), table)])
    app.add_route("/notes", table[0].resource)
    client = testing.TestClient(app)

    def status(method: str, token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return client.simulate_request(method, "/notes", headers=headers).status_code

    assert status("GET", "agent") == 200
    assert status("DELETE", "agent") == 403
    assert status("DELETE", "admin") == 204
    assert status("DELETE", "nobody") == 401


def test_the_document_marks_an_admin_operation_as_its_auth_enforces_it() -> None:
    paths = spec([Route("/notes", Notes())])["paths"]["/notes"]
    assert paths["get"]["summary"] == "Read the notes; newest first"
    assert "403" not in paths["get"]["responses"]
    assert paths["delete"]["summary"] == "Clear the notes (admin); they are gone for good"
    assert "403" in paths["delete"]["responses"]
