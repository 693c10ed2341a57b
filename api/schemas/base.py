"""The bases every request and answer shape is built on, and the value types they share.

Requests are strict: an unknown field is refused, and no value is coerced (``5`` is not a
string, ``"5"`` is not a number). Answers are shapes too: a resource that answered a field
its model does not declare would fail, so the document cannot fall behind the code.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

# A UUID as this API writes it: lower or upper case hex in the 8-4-4-4-12 groups.
UUID_PATTERN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)

# What Python's str.strip() removes (and so what the domain calls empty), spelled out so
# that the document's patterns and the validation agree on every character.
BLANK = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Text PostgreSQL can hold (no U+0000) with at least one character that is not blank.
VISIBLE_TEXT = f"^[^\x00]*[^\x00{BLANK}][^\x00]*$"
ANY_TEXT = "^[^\x00]*$"
# Zalo ids (app, OA, user) are strings of up to 19 digits (ZALO.md).
ZALO_ID = "^[0-9]{1,19}$"
# Zalo's domain verification code: it goes into a file name and an HTML attribute.
VERIFICATION_CODE = "^[A-Za-z0-9_-]{1,128}$"
# A client's own id for a message: printable, no spaces.
CLIENT_MESSAGE_ID = "^[!-~]{1,128}$"

# What each pattern means, for error descriptions a person can act on.
PATTERN_MEANINGS = {
    VISIBLE_TEXT: "must be text with at least one visible character (and no U+0000)",
    ANY_TEXT: "must be text without U+0000",
    ZALO_ID: "must be a Zalo id: a string of 1 to 19 digits",
    VERIFICATION_CODE: "must be the code from Zalo's domain page: letters, digits, - and _",
    CLIENT_MESSAGE_ID: "must be 1 to 128 printable ASCII characters without spaces",
}


def _canonical_uuid(value: Any) -> Any:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and UUID_PATTERN.fullmatch(value):
        return UUID(value)
    raise PydanticCustomError(
        "uuid_format", "must be an id like 6f1c2b0e-3c0a-4f57-9a53-1f3f2f2c9a10"
    )


Uuid = Annotated[
    UUID,
    BeforeValidator(_canonical_uuid),
    WithJsonSchema({"type": "string", "format": "uuid"}),
]
# An id in an answer: already text, written by us (requests take ``Uuid``, which checks it).
Id = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]
Timestamp = Annotated[
    str,
    Field(
        json_schema_extra={"format": "date-time"},
        description="ISO 8601 UTC with milliseconds, e.g. 2026-11-24T10:00:00.000Z",
    ),
]
ZaloId = Annotated[str, Field(pattern=ZALO_ID, description="A Zalo id: up to 19 digits.")]


def visible_text(max_length: int, description: str | None = None) -> Any:
    """A string with something in it: blank text is refused as a shape, before any command."""
    return Field(pattern=VISIBLE_TEXT, min_length=1, max_length=max_length, description=description)


def any_text(max_length: int, description: str | None = None) -> Any:
    return Field(pattern=ANY_TEXT, max_length=max_length, description=description)


def within(allowed: range, description: str) -> Any:
    """A whole number in ``allowed`` (a domain's ``range``: its stop is left out)."""
    return Field(ge=allowed.start, le=allowed.stop - 1, description=description)


class Form(BaseModel):
    """A request body or query: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Shape(BaseModel):
    """An answer: every field declared, none left out."""

    model_config = ConfigDict(extra="forbid")


class Error(Shape):
    """Every error, whatever its status."""

    title: str
    description: str


def _whole_number(value: Any) -> Any:
    """A query's number: digits (and a sign) only; ``5.0``, `` 5`` or ``1_0`` are refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value):
        return int(value)
    raise PydanticCustomError("int_type", "must be a whole number")


def _integral(value: Any) -> Any:
    """A body's whole number: JSON's 600 and 600.0 are the same number (and the same
    integer to JSON Schema); 600.5, "600" or true are not whole numbers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A body's whole number: ``Annotated[int, Field(ge=..., le=...), INTEGRAL]``.
INTEGRAL = BeforeValidator(_integral)

# A query's whole number: ``Annotated[int, Field(ge=..., le=...), WHOLE_NUMBER]`` (the
# bounds before it, so that the document shows them).
WHOLE_NUMBER = BeforeValidator(_whole_number)


class Query(BaseModel):
    """A query string: every parameter declared, unknown ones refused, each value given once.

    Every value arrives as text, so each type reads it its own way: a whole number from
    digits only (``WHOLE_NUMBER``), an id in its canonical spelling, an enum by its value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
