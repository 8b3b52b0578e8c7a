"""The exceptions leadledger raises, translated to messages and exit codes at each edge.

LeadledgerError
├── PolicyError        a policy file is invalid (each problem names its line and key)
├── NotFound           a contact, account or policy does not exist
├── TransitionRefused  a stage change lacks its gate's evidence (lists what is missing)
├── Forbidden          the acting role does not own this action (docs/security.md)
├── Conflict           the request conflicts with what is stored (e.g. a third active key)
└── ImportFailed       an import file cannot be read at all (bad rows are rejected, not raised)
"""

from __future__ import annotations

from dataclasses import dataclass


class LeadledgerError(Exception):
    """Base class for every error leadledger reports to a user."""


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong in a policy file."""

    line: int | None
    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        text = f"{where}: {self.path}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class PolicyError(LeadledgerError):
    """A policy file failed validation; it is never stored."""

    def __init__(self, source: str, problems: list[PolicyProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}: {p}" for p in problems)
        super().__init__(f"invalid policy {source} ({len(problems)} problem(s)):\n{lines}")


class NotFound(LeadledgerError):
    """The named record does not exist."""


class TransitionRefused(LeadledgerError):
    """A stage change was refused; the message lists the missing evidence."""

    def __init__(self, message: str, missing: list[dict[str, str]]) -> None:
        self.missing = missing
        super().__init__(message)


class Forbidden(LeadledgerError):
    """The acting user's or key's role does not allow this action."""


class Conflict(LeadledgerError):
    """The request conflicts with what is stored."""


class ImportFailed(LeadledgerError):
    """An import file could not be read at all."""
