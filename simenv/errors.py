"""The error hierarchy. Every user-facing error names the file and the field it is about.

Messages quote what the user wrote, and what a user wrote may be hostile: megabytes long, nested
a thousand deep, full of control characters or lone surrogates. :func:`quote` gives a bounded
``repr`` of any value, and :class:`SpecError` keeps every field and message on one printable line
of bounded length, and at most :data:`MAX_PROBLEMS` of them.
"""

from __future__ import annotations

import reprlib
from typing import Any

MAX_FIELD = 200
"""Characters of a field path shown in a message."""
MAX_MESSAGE = 400
"""Characters of one problem's message."""
MAX_PROBLEMS = 20
"""Problems listed per file; the rest are counted."""


class _Repr(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 3, 80, 80, 40
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdict = 6

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:  # str() of a huge int is slow, and refused past 4300 digits
            return f"<an integer of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_REPR = _Repr()


def clip(text: object, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one printable line (control characters and lone surrogates escaped), cut to ``limit`` characters."""
    s = str(text)
    if len(s) > 4 * limit:
        s = s[: 4 * limit]
    if not s.isprintable():
        s = "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                    for c in s)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def quote(value: Any, limit: int = 120) -> str:
    """A bounded ``repr`` of ``value`` for a message: nested and long values elided, at most ``limit`` characters."""
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails is named by its type
        text = f"<{type(value).__name__}>"
    return clip(text, limit)


class SimenvError(Exception):
    """Base class of every error simenv raises on purpose."""


class SpecError(SimenvError):
    """A scenario, profile or cases file is invalid.

    Attributes:
        file: the path of the file (or ``<name>`` for an in-memory spec).
        problems: ``(field path, message)`` pairs, each on one line of bounded length (see :func:`clip`).
    """

    def __init__(self, file: str, problems: list[tuple[str, str]]):
        self.file = clip(file, 1000)
        self.problems = [(clip(path, MAX_FIELD), clip(msg, MAX_MESSAGE)) for path, msg in problems]
        super().__init__(self.render())

    def render(self) -> str:
        """A readable, multi-line message: one ``file: field: message`` line per problem (at most :data:`MAX_PROBLEMS`)."""
        shown = [f"{self.file}: {path or '<root>'}: {msg}" for path, msg in self.problems[:MAX_PROBLEMS]]
        if len(self.problems) > MAX_PROBLEMS:
            shown.append(f"{self.file}: <more>: {len(self.problems) - MAX_PROBLEMS} more problems not shown")
        return "\n".join(shown)


class UnknownNameError(SimenvError):
    """A scenario, profile or agent name that is neither shipped nor a readable file."""


class ToolCallError(SimenvError):
    """A tool call is malformed: unknown tool, missing or ill-typed argument, unknown reference."""
