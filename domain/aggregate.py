"""The base of zalodesk's aggregates."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Generic, Self, TypeVar, overload

from eventsourcing.domain import Aggregate

E = TypeVar("E", bound=StrEnum)


class DeskAggregate(Aggregate):
    """An aggregate whose state is immutable values, or lists and dicts of them.

    The repository hands out a deep copy of each cached aggregate, so that a command
    that fails half-way never corrupts the cache. For state like this, copying the
    containers one level deep is a complete deep copy, at a fraction of the cost of
    ``copy.deepcopy``'s general walk (it was a sixth of a webhook's time).
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        clone = object.__new__(type(self))
        clone.__dict__.update({key: _one_level(value) for key, value in self.__dict__.items()})
        return clone


def fields_added(**values: Any) -> staticmethod[[dict[str, Any]], None]:
    """An upcaster for a version that added fields: a stored state from before it is
    read with each added field at ``values``'s value."""

    def upcast(state: dict[str, Any]) -> None:
        state.update(values)

    return staticmethod(upcast)


def _one_level(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


class EnumAttribute(Generic[E]):
    """An aggregate's attribute that holds one word of a closed set, always read as the enum.

    A snapshot stores the word as text and restores the aggregate's attributes without
    running its code; reading through this turns the text back into the member.
    """

    def __init__(self, enum: type[E]) -> None:
        self.enum = enum
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, aggregate: None, owner: type) -> Self: ...
    @overload
    def __get__(self, aggregate: object, owner: type) -> E: ...
    def __get__(self, aggregate: object | None, owner: type) -> Self | E:
        if aggregate is None:
            return self
        return self.enum(aggregate.__dict__[self.name])

    def __set__(self, aggregate: object, value: E | str) -> None:
        aggregate.__dict__[self.name] = self.enum(value)
