"""Text as the views hold it: what a person would see, whatever the log holds.

The log keeps every delivery's text exactly. PostgreSQL cannot hold every string JSON
allows: ``text`` refuses U+0000 and ``jsonb`` refuses its ``\\u0000`` escape; neither
holds a lone surrogate (which the log refuses too, so none reaches a view today). What the
views write through the projector's cursor shows such a character as U+FFFD, the
replacement character. No handler needs to know: the cursor's adapters do it, for text
parameters and for every string and key inside a JSON document.
"""

from __future__ import annotations

import json
import re
from typing import Any

from psycopg import Cursor
from psycopg.types.json import set_json_dumps
from psycopg.types.string import StrBinaryDumper, StrDumper, StrDumperUnknown

from adapters.json_data import map_leaves

REPLACEMENT = "\ufffd"
_UNHOLDABLE = re.compile("[\x00\ud800-\udfff]")


def shown(text: str) -> str:
    """The text with every character PostgreSQL cannot hold replaced by U+FFFD."""
    return _UNHOLDABLE.sub(REPLACEMENT, text)


def shown_data(value: Any) -> Any:
    """JSON data with ``shown`` applied to every string in it, object keys included."""
    return map_leaves(value, _shown_leaf)


def _shown_leaf(value: Any) -> Any:
    return shown(value) if isinstance(value, str) else value


def _holdable(text: str, encoding: str) -> bytes:
    if "\x00" not in text:
        try:
            return text.encode(encoding)
        except UnicodeEncodeError:
            pass
    return shown(text).encode(encoding)


def shown_json(value: Any) -> bytes:
    """A JSON document that ``jsonb`` accepts, as ``json.dumps`` would write it otherwise."""
    document = json.dumps(value, ensure_ascii=False)
    # A NUL in a string is written as the escape \u0000 (the check may also match an
    # escaped backslash followed by "u0000": the careful path is right for both).
    if "\\u0000" not in document:
        try:
            return document.encode()
        except UnicodeEncodeError:
            pass
    return json.dumps(shown_data(value), ensure_ascii=False).encode()


class _ShownStrDumper(StrDumperUnknown):
    def dump(self, obj: str) -> bytes:
        return _holdable(obj, self._encoding)


class _ShownStrTextDumper(StrDumper):
    def dump(self, obj: str) -> bytes:
        return _holdable(obj, self._encoding)


class _ShownStrBinaryDumper(StrBinaryDumper):
    def dump(self, obj: str) -> bytes:
        return _holdable(obj, self._encoding)


def write_shown_text(cur: Cursor[Any]) -> None:
    """From now on, this cursor writes every string as ``shown`` makes it."""
    # The last one registered for a format is the one used; the default (type unknown to
    # the server, so any column type accepts it) stays the default.
    cur.adapters.register_dumper(str, _ShownStrBinaryDumper)
    cur.adapters.register_dumper(str, _ShownStrTextDumper)
    cur.adapters.register_dumper(str, _ShownStrDumper)
    set_json_dumps(shown_json, cur)
