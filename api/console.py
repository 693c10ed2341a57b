"""What every command shares: one-line failures, messages and progress on standard error."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import IO

ENVIRONMENT = """settings, read from the environment by every command:
  ZALODESK_DATABASE_URL  the PostgreSQL server (postgresql://user:pass@host:port/db);
                         unset: the embedded server in the data folder, which only
                         `zalodesk serve` creates
  ZALODESK_DATA_DIR      the embedded server's folder and the metrics folder
                         (default: ./.zalodesk)
  ZALODESK_CIPHER_KEY    encrypts the event store at rest (base64, 16/24/32 bytes)
  ZALODESK_ADMIN_TOKEN   a bootstrap admin API token (serve, api)
  ZALODESK_PUBLIC_URL    the base of webhook URLs (default: http://127.0.0.1:8000)
  ZALODESK_ZALO_API_BASE, ZALODESK_ZALO_OAUTH_BASE   Zalo's API (serve, worker)
  ZALODESK_CHAT_INACTIVITY_SECONDS  new accounts' chat timeout (default: 600)
  ZALODESK_STREAM_BIND   the live stream's HOST:PORT (serve, stream; default: the
                         API's port + 1, or 127.0.0.1:8001 for `zalodesk stream`)
  ZALODESK_STREAM_URL    where the API's GET /api/stream redirects (default: the
                         request's host at the stream's port)"""


class Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, and the settings table as it is written."""


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name, help=help_text, description=help_text, epilog=ENVIRONMENT, formatter_class=Help
    )


class CommandError(Exception):
    """Ends the command with this message and a non-zero status."""


def say(message: str) -> None:
    print(f"zalodesk: {message}", file=sys.stderr)


class Progress:
    """On standard error: redrawn in place on a terminal, one line per 5% otherwise (or always,
    with ``in_place=False``: beside a service's log lines)."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        in_place: bool = True,
    ):
        self._stream = stream
        self.clock = clock
        self.in_place = in_place
        self.start(0, "")

    @property
    def stream(self) -> IO[str]:
        return self._stream or sys.stderr

    def start(self, total: int, doing: str) -> None:
        self.total, self.doing, self.done = total, doing, 0
        self.began = self.drawn = self.clock()
        self.next_step = 5

    def advance(self, count: int) -> None:
        self.done += count
        if self.redraws():
            if self.clock() - self.drawn >= 0.1:
                self.drawn = self.clock()
                self.stream.write(f"\r{self.line()}   ")
                self.stream.flush()
        elif self.percent() >= self.next_step:
            while self.percent() >= self.next_step:
                self.next_step += 5
            print(self.line(), file=self.stream)

    def finish(self) -> None:
        elapsed = max(self.clock() - self.began, 1e-9)
        end = "\r" if self.redraws() else ""
        self.stream.write(
            f"{end}{self.doing}: {self.done:,} events in {elapsed:.1f} s "
            f"({self.done / elapsed:,.0f} events/s)   \n"
        )
        self.stream.flush()

    def redraws(self) -> bool:
        return self.in_place and self.stream.isatty()

    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 100.0

    def line(self) -> str:
        elapsed = max(self.clock() - self.began, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        return (
            f"{self.doing} {min(self.percent(), 100.0):5.1f}%  {self.done:,}/{self.total:,} "
            f"events  {rate:,.0f} events/s  {_duration(max(left, 0.0))} left"
        )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
