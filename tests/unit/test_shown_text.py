"""What the views write for characters PostgreSQL cannot hold: U+FFFD, and nothing else
changed."""

from __future__ import annotations

import json

from adapters.read_models.views.shown_text import shown, shown_json


def test_nul_and_lone_surrogates_show_as_the_replacement_character() -> None:
    assert shown("a\x00b\ud800c\udfff") == "a\ufffdb\ufffdc\ufffd"


def test_other_text_is_kept_as_it_is() -> None:
    text = "Xin chào 😀 \\u0000 \ufffd\t\n"
    assert shown(text) == text
    assert json.loads(shown_json({"text": text})) == {"text": text}


def test_json_keys_and_nested_strings_are_shown_too() -> None:
    document = {"a\x00": ["\ud800", {"b": "c\x00"}, 1, None], "n": 2.5}
    assert json.loads(shown_json(document)) == {
        "a\ufffd": ["\ufffd", {"b": "c\ufffd"}, 1, None],
        "n": 2.5,
    }
