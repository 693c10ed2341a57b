"""JSON data walked through: its objects and arrays rebuilt, a function applied to the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def map_leaves(
    value: Any, leaf: Callable[[Any], Any], key: Callable[[Any], Any] | None = None
) -> Any:
    """``value`` with its dicts and lists (tuples become lists) rebuilt, ``leaf`` applied to
    every other value in it, and ``key`` to every dict key (``leaf`` unless given)."""
    if isinstance(value, dict):
        keyed = key or leaf
        return {keyed(k): map_leaves(v, leaf, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [map_leaves(v, leaf, key) for v in value]
    return leaf(value)
