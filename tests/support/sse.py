"""A Server-Sent Events client over real HTTP, for tests: frames as they arrive."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Frame:
    id: int | None = None
    event: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.data)


class EventStream:
    """``GET path`` on ``port``, read frame by frame; a comment-only block (a keep-alive)
    is a frame with comments and no data."""

    def __init__(
        self,
        port: int,
        path: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.conn.request("GET", path, headers=dict(headers or {}))
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}

    def body(self) -> bytes:
        return self.response.read()

    def next(self) -> Frame:
        """The next block (events and comments alike); TimeoutError if none comes in time."""
        frame = Frame()
        seen = False
        while True:
            try:
                raw = self.response.readline()
            except TimeoutError:
                raise TimeoutError("no frame in time") from None
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\n")
            if line == "":
                if seen:
                    return frame
                continue
            seen = True
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                frame.comments.append(value)
            elif name == "id":
                frame.id = int(value)
            elif name == "event":
                frame.event = value
            elif name == "data":
                frame.data = f"{frame.data}\n{value}" if frame.data else value

    def events(self, count: int) -> list[Frame]:
        """The next ``count`` event frames, skipping keep-alives and the opening block."""
        found: list[Frame] = []
        while len(found) < count:
            frame = self.next()
            if frame.data:
                found.append(frame)
        return found

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
