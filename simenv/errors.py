"""The error hierarchy. Every user-facing error names the file and the field it is about."""

from __future__ import annotations


class SimenvError(Exception):
    """Base class of every error simenv raises on purpose."""


class SpecError(SimenvError):
    """A scenario, profile or cases file is invalid.

    Attributes:
        file: the path of the file (or ``<name>`` for an in-memory spec).
        problems: ``(field path, message)`` pairs.
    """

    def __init__(self, file: str, problems: list[tuple[str, str]]):
        self.file = str(file)
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        """A readable, multi-line message: one ``file: field: message`` line per problem."""
        return "\n".join(f"{self.file}: {path or '<root>'}: {msg}" for path, msg in self.problems)


class UnknownNameError(SimenvError):
    """A scenario, profile or agent name that is neither shipped nor a readable file."""


class ToolCallError(SimenvError):
    """A tool call is malformed: unknown tool, missing or ill-typed argument, unknown reference."""
