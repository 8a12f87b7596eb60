r"""The bounds and canonical form of what an agent sends: checked once, at the call boundary.

A tool call is untrusted input (a model's output, an outside agent's return value). Before any
broker, authorizer or tool sees it, the mediator checks its envelope with :func:`check_call`,
then resolves it against the catalog (:func:`simenv.world.catalog.resolve`); a call that fails
either becomes one ``invalid`` record, and no engine sees it, so that every engine (native, Cedar,
Rego, an outside one) decides on the same, well-formed input.

Every string of a call (tool name, argument names and values, the justification, a presented
credential label) must be:

* **valid Unicode**: no lone surrogate (``U+D800``–``U+DFFF``; valid JSON can carry one as
  ``"\ud800"``, and engines disagree on it: one raises, one denies, one allows);
* **free of control characters** other than tab, line feed and carriage return: no NUL, no
  other C0 control (``U+0000``–``U+001F``), no DEL (``U+007F``), no C1 control
  (``U+0080``–``U+009F``, which terminals may read as escape sequences). Everything else,
  including non-ASCII letters, emoji, combining marks and bidirectional marks, is text and passes
  unchanged (no normalization: ``bob`` and a homoglyph of it are different names, and the
  homoglyph names no identity);
* **at most** :data:`MAX_TEXT_CHARS` characters, and all the strings of one call together at
  most :data:`MAX_CALL_CHARS`.

A call has at most :data:`MAX_ARGS` arguments (no tool takes more than three; the catalog then
checks the exact arity and that every argument is a string: nothing nests), and a model's JSON
``arguments`` at most :data:`MAX_CALL_CHARS` characters, with no key given twice and only the
fields of a chat-completions tool call around them (:func:`simenv.agents.base.coerce_call`;
``_credential`` and ``justification`` are the two arguments every tool takes besides its own
parameters). ``complete_ticket`` and ``abort_ticket`` take no argument but a justification: they
close the agent's own ticket, and cannot name another. The limits are far above
anything a legitimate call sends (the longest argument of a shipped plan or transcript is under
200 characters; a 4096-bit RSA private key in PEM is about 3,300), and they bound what one call
can write into the audit log.

An error or an audit record that quotes an input quotes at most :data:`MAX_QUOTE_CHARS` of it
(:func:`quote`, :func:`safe_value`), with invalid characters escaped.
"""

from __future__ import annotations

import re
from typing import Any

from simenv.errors import ToolCallError
from simenv.types import ToolCall

MAX_TEXT_CHARS = 8_192
"""The most characters one string of a call may have (an argument, its name, the justification, a credential label)."""
MAX_CALL_CHARS = 16_384
"""The most characters all the strings of one call may have together (and a model's JSON ``arguments`` text)."""
MAX_ARGS = 16
"""The most arguments a call may carry before its names are even compared with the tool's parameters."""
MAX_QUOTE_CHARS = 200
"""How much of an input an error message or an audit record quotes."""

_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""The characters a string of a call may not contain (see the module docstring)."""


def text_problem(s: str) -> str | None:
    r"""Why ``s`` may not be part of a call (too long, a lone surrogate, a control character), or ``None``.

    >>> text_problem("payments") is None, text_problem("tab\tand\nnewline are text") is None
    (True, True)
    >>> text_problem("a\ud800b")
    'contains a lone surrogate U+D800 at index 1 (text must be valid Unicode)'
    >>> text_problem("nul\x00"), text_problem("x" * 9000)
    ('contains the control character U+0000 at index 3', 'is 9000 characters long (the limit is 8192)')
    """
    if len(s) > MAX_TEXT_CHARS:
        return f"is {len(s)} characters long (the limit is {MAX_TEXT_CHARS})"
    if s.isascii() and s.isprintable():  # the common case, checked in C without a scan
        return None
    m = _REFUSED.search(s)
    if m is None:
        return None
    c = ord(m.group())
    if 0xD800 <= c <= 0xDFFF:
        return f"contains a lone surrogate U+{c:04X} at index {m.start()} (text must be valid Unicode)"
    return f"contains the control character U+{c:04X} at index {m.start()}"


def clean(s: str, limit: int = MAX_QUOTE_CHARS) -> str:
    r"""``s`` cut to ``limit`` characters (the cut is marked), lone surrogates escaped: safe to log.

    >>> clean("x" * 300)[-12:], clean("a\ud800")
    ('…(300 chars)', 'a\\ud800')
    """
    out = s if len(s) <= limit else f"{s[:limit]}…({len(s)} chars)"
    if not out.isascii():
        out = out.encode("utf-8", "backslashreplace").decode("utf-8")
    return out


def safe_value(v: Any, depth: int = 0) -> Any:
    """A JSON-able, bounded, process-independent stand-in for whatever an agent sent.

    Strings are cut to :data:`MAX_QUOTE_CHARS` (lone surrogates escaped), lists and objects to
    their first 20 items and 4 levels; anything else is its type's name (no repr, so no object
    address and no code of the agent's runs).
    """
    if v is None or isinstance(v, (bool, int, float)):
        return v if not isinstance(v, float) or v == v and abs(v) != float("inf") else str(v)
    if isinstance(v, str):
        v = v[:MAX_QUOTE_CHARS]
        return v if v.isascii() else v.encode("utf-8", "backslashreplace").decode("utf-8")
    if depth >= 4 and isinstance(v, (list, tuple, dict)):
        return f"<{type(v).__name__}>"
    if isinstance(v, (list, tuple)):
        return [safe_value(x, depth + 1) for x in v[:20]]
    if isinstance(v, dict):
        return {safe_key(k): safe_value(x, depth + 1) for k, x in list(v.items())[:20]}
    return f"<{type(v).__name__}>"


def safe_key(k: Any) -> str:
    """An argument name as the audit writes it (cut to 100 characters; a non-string as its text or type name)."""
    if isinstance(k, str):
        return clean(k, 100) if len(k) > 100 or not k.isascii() else k
    if k is None or isinstance(k, (bool, int, float)):
        return str(k)
    return f"<{type(k).__name__}>"


def quote(v: Any) -> str:
    """``v`` as an error message quotes it: the repr of its :func:`safe_value`."""
    return repr(safe_value(v))


def _refuse(s: str, where: str) -> None:
    """Raise :class:`ToolCallError` if ``s`` may not be part of a call."""
    why = text_problem(s)
    if why is not None:
        raise ToolCallError(f"{where} {why}")


def _name(call: ToolCall) -> str:
    return clean(call.tool, 60) if isinstance(call.tool, str) else "the call"


def check_call(call: ToolCall) -> None:
    """Check a call's envelope (see the module docstring); raise :class:`ToolCallError` saying what is wrong.

    What this checks: the problem :func:`simenv.agents.base.coerce_call` found in a model's
    payload (an unknown field, arguments that are not JSON), the justification (a string or
    nothing), and the size and characters of every string. What it leaves to
    :func:`~simenv.world.catalog.resolve`: the tool, the arity, the type of each argument, and
    argument names (an unknown one is refused there, quoted by :func:`safe_key`).

    This runs on every call, so the common case (short printable ASCII) costs a few C-level
    string checks per string and no scan in Python.
    """
    if call.problem is not None:
        raise ToolCallError(f"{_name(call)}: {call.problem}")
    total = 0
    tool, why, cred = call.tool, call.justification, call.credential
    if isinstance(tool, str):
        total = len(tool)
        if total > MAX_TEXT_CHARS or not (tool.isascii() and tool.isprintable()):
            _refuse(tool, "the tool name")
    if why is not None:
        if not isinstance(why, str):
            raise ToolCallError(f"{_name(call)}: justification must be a string, not {type(why).__name__}")
        total += len(why)
        if len(why) > MAX_TEXT_CHARS or not (why.isascii() and why.isprintable()):
            _refuse(why, f"{_name(call)}: the justification")
    if isinstance(cred, str):  # another type is an unknown credential (the mediator says so)
        total += len(cred)
        if len(cred) > MAX_TEXT_CHARS or not (cred.isascii() and cred.isprintable()):
            _refuse(cred, f"{_name(call)}: the credential label")
    args = call.args
    if isinstance(args, dict):
        if len(args) > MAX_ARGS:
            raise ToolCallError(f"{_name(call)}: {len(args)} arguments; no tool takes more than a few "
                                f"(the limit is {MAX_ARGS})")
        for k, v in args.items():
            if isinstance(v, str):
                total += len(v)
                if len(v) > MAX_TEXT_CHARS or not (v.isascii() and v.isprintable()):
                    _refuse(v, f"{_name(call)}.{safe_key(k)}")
    if total > MAX_CALL_CHARS:
        raise ToolCallError(f"{_name(call)}: the call's strings are {total} characters together "
                            f"(the limit is {MAX_CALL_CHARS})")
