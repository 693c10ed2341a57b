"""A ticket's subject, taken from the message that opened it."""

from __future__ import annotations

SUBJECT_LENGTH = 80


def subject_of(kind: str, text: str) -> str:
    line = " ".join(text.split())
    if not line:
        return f"({kind.replace('_', ' ')})"
    if len(line) <= SUBJECT_LENGTH:
        return line
    return line[: SUBJECT_LENGTH - 1].rstrip() + "…"
