"""JSON request bodies as text the log can keep: a lone surrogate escape (``"\\ud800"``)
decodes in Python but is no text at all, and is refused as malformed JSON."""

from __future__ import annotations

import json
from typing import Any

import falcon


def strict_loads(text: str) -> Any:
    value = json.loads(text)
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the body holds a lone surrogate escape, which is not text") from None
    return value


def media_handlers() -> falcon.media.Handlers:
    json_handler = falcon.media.JSONHandler(loads=strict_loads)
    return falcon.media.Handlers(
        {falcon.MEDIA_JSON: json_handler, "application/json; charset=UTF-8": json_handler}
    )
