r"""Cheap checks of a Cedar or Rego policy's text, made before an engine sees it.

Policy files are untrusted (they come from pull requests), and both engines are native code
that a small file can kill. Measured with cedarpy 4.12 and regopy 1.5.2 (rego-cpp):

- a Rego module that does not start with a ``package`` declaration (``x = a``, 6 bytes)
  segfaults rego-cpp;
- a Rego reference into the ``io``, ``providers`` or ``uuid`` namespace that rego-cpp does not
  know (``uuid.x(1)``, also written ``uuid["x"](1)``) aborts it while compiling;
- Cedar segfaults on brackets nested 800 deep (400 is fine) and on ``if`` expressions nested
  12,800 deep; Rego segfaults on brackets nested about 25,000 deep, a run of 51,200 unary
  minus signs, or a chain of 60,000 ``+`` (240 KB);
- rego-cpp's compile time grows with the square of the text: 64 KiB of ordinary rules take
  about 7 s, a 64 KiB operator chain 28 s (32 KiB: 4 s).

So a policy file is refused, with a ``file: line L, column C`` error that says what to do,
when it is larger than :data:`MAX_POLICY_BYTES`, nests deeper than :data:`MAX_NESTING`, or
(Rego) lacks its ``package`` line or names a namespace rego-cpp crashes on. The scanner knows
each language's comments and strings (Rego's raw and template strings too), so nothing inside
a string or a comment counts, and code inside a template string's ``{...}`` does.

>>> check_text("package simenv\nallow := true\n", "p.rego", "rego")
>>> scan("# note: (((\npackage simenv\nx := [[1]]", "rego").depth
2
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from simenv.errors import SpecError

MAX_POLICY_BYTES = 32 * 1024
"""Largest policy file (UTF-8 bytes): ten times the shipped intent policies; rego-cpp compiles it in seconds."""
MAX_NESTING = 64
"""Deepest nesting of brackets, ``if`` expressions (Cedar) and runs of unary ``-`` / ``!``; Cedar crashes at 800."""
CRASH_ROOTS = frozenset({"io", "providers", "uuid"})
"""Rego namespaces in which rego-cpp 1.5 aborts on a name it does not know; simenv allows none of their built-ins."""
_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True, slots=True)
class Token:
    """A token of code (outside strings and comments): a name, or one punctuation character."""

    text: str
    line: int
    col: int
    name: bool


@dataclass(frozen=True, slots=True)
class Scan:
    """What the scanner found: the code tokens, the deepest nesting, and where it first went past the limit."""

    tokens: tuple[Token, ...]
    depth: int
    over: tuple[int, int] | None


def where(line: int, col: int) -> str:
    """The field of a problem at a position: ``line L, column C``."""
    return f"line {line}, column {col}"


@functools.lru_cache(maxsize=64)
def scan(text: str, engine: str) -> Scan:
    """Tokenize Cedar (``//`` comments) or Rego (``#`` comments, raw and template strings) text."""
    rego = engine == "rego"
    quotes = "\"`" if rego else "\""
    tokens: list[Token] = []
    frames: list[list[int]] = [[0, 0]]  # per open bracket: [ifs open in it, its template-string quote or 0]
    depth, run = 0, 0
    over: tuple[int, int] | None = None
    i, n, line, start = 0, len(text), 1, 0

    def deeper(extra: int) -> None:
        nonlocal depth, over
        d = len(frames) - 1 + sum(f[0] for f in frames) + extra
        depth = max(depth, d)
        if d > MAX_NESTING and over is None:
            over = (line, i - start + 1)

    while i < n:
        ch = text[i]
        if ch == "\n":
            line, start, i = line + 1, i + 1, i + 1
            continue
        if ch in " \t\r":
            i += 1
            continue
        if (rego and ch == "#") or (not rego and text.startswith("//", i)):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        template = rego and ch == "$" and i + 1 < n and text[i + 1] in "\"`"
        if ch in quotes or template or (ch == "}" and frames[-1][1]):
            # a string, or the rest of a template string after its {expression}
            if ch == "}":
                quote = chr(frames.pop()[1])
                i += 1
            else:
                if template:
                    i += 1
                quote, i = text[i], i + 1
            while i < n and text[i] != quote:
                if text[i] == "\\" and quote == '"':
                    i += 1
                elif text[i] == "\n":
                    line, start = line + 1, i + 1
                elif (template or ch == "}") and text[i] == "{":
                    break
                i += 1
            if i < n and text[i] == "{":  # an expression inside a template string
                frames.append([0, ord(quote)])
                deeper(0)
            i += 1
            run = 0
            continue
        if ch.isalpha() or ch == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            tokens.append(Token(word, line, i - start + 1, True))
            if not rego and word == "if":
                frames[-1][0] += 1
                deeper(0)
            i, run = j, 0
            continue
        tokens.append(Token(ch, line, i - start + 1, False))
        if ch in _OPEN:
            frames.append([0, 0])
            deeper(0)
        elif ch in _CLOSE and len(frames) > 1:
            frames.pop()
        elif ch in "-!":
            run += 1
            deeper(run)
            i += 1
            continue
        elif ch == ";" and not rego and len(frames) == 1:
            frames[0][0] = 0
        run = 0
        i += 1
    return Scan(tuple(tokens), depth, over)


def problems(text: str, engine: str) -> list[tuple[str, str]]:
    """The ``(field, message)`` problems of a Cedar or Rego policy's text; empty if it may go to the engine."""
    return list(_problems(text, engine))


@functools.lru_cache(maxsize=64)
def _problems(text: str, engine: str) -> tuple[tuple[str, str], ...]:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_POLICY_BYTES:
        return (("", f"the policy file is {size:,} bytes; the limit is {MAX_POLICY_BYTES:,}: split it or simplify it"),)
    s = scan(text, engine)
    out = []
    if s.over is not None:
        out.append((where(*s.over), f"nesting goes {s.depth} deep, past the limit of {MAX_NESTING} "
                                    "(brackets, if-expressions, runs of - or !): flatten the expression"))
    if engine != "rego":
        return tuple(out)
    first = s.tokens[0] if s.tokens else None
    if first is None or first.text != "package":
        at = where(first.line, first.col) if first else ""
        out.append((at, "a Rego module must start with a package declaration: add 'package simenv' as its first line"))
    for k, t in enumerate(s.tokens):
        if t.name and t.text in CRASH_ROOTS and not (k and s.tokens[k - 1].text == "."):
            out.append((where(t.line, t.col), f"Rego: {t.text!r} names a namespace of built-ins that simenv refuses "
                                              f"({t.text}.*) and that crashes rego-cpp: remove it, or rename the variable"))
    return tuple(out)


def check_text(text: str, file: str, engine: str) -> None:
    """Raise :class:`SpecError` naming ``file`` if the policy text may not go to the engine."""
    found = problems(text, engine)
    if found:
        raise SpecError(file, found)


def locate(text: str, engine: str, name: str) -> str:
    """Where the dotted reference ``name`` (or its first part) first appears in code: ``line L, column C``, or ``""``."""
    parts = name.split(".")
    toks = scan(text, engine).tokens
    fallback = ""
    for k, t in enumerate(toks):
        if not t.name or t.text != parts[0] or (k and toks[k - 1].text == "."):
            continue
        seq = [x.text for x in toks[k:k + 2 * len(parts) - 1]]
        if seq == [p for part in parts for p in (part, ".")][:-1]:
            return where(t.line, t.col)
        fallback = fallback or where(t.line, t.col)
    return fallback
