"""Domain errors: a small hierarchy the API maps to HTTP statuses once."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a command can raise on purpose."""


class NotFound(DomainError):
    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class InvalidInput(DomainError):
    """A command's input breaks a rule of the domain."""


class Conflict(DomainError):
    """The command cannot apply to the aggregate in its current state."""


class ConcurrentChange(Conflict):
    """Others kept changing the same records at the same moment, more often than a command
    tries again: nothing was changed, and asking again later will do."""
