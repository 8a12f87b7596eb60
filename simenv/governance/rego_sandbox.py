"""The Rego sandbox: which built-ins a policy may call, written as data (``rego_capabilities.json``).

regopy 1.5 cannot restrict built-ins: rego-cpp's C++ ``BuiltInsDef::whitelist`` is not in its C
API, and a default interpreter offers every one, ``opa.runtime`` (the whole process
environment, CI secrets included), ``time.now_ns``, ``rand.intn`` and ``uuid.rfc4122`` among
them. So simenv refuses a policy at load time unless every built-in its *compiled plan* calls
is on the allowlist. The plan is the compiler's own answer: a built-in reached through
``import opa.runtime as r``, ``opa["runtime"]()``, ``opa . runtime()``, a helper function, a
comprehension, ``walk``, ``every`` or a rule shadowed by ``with`` is listed there like a
direct call, and an unused rule is compiled too. Rego has no way to build a reference from a
string, so nothing escapes the list. The plan also gives each call's argument count: rego-cpp
segfaults when a built-in is called with none of its arguments (``count()``), so a call
whose count differs from the built-in's declaration is refused as well.

The allowlist (``builtins`` in the JSON file, the shape of OPA's capabilities file) holds the
deterministic, side-effect-free built-ins that did not crash or hang rego-cpp 1.5.2 under a
fuzz of argument values; ``refused`` says why a name is not on it. The set of names is data,
not code: :func:`allowed` reads it once.

>>> "sprintf" in allowed(), "opa.runtime" in allowed()
(True, False)
>>> why("time.now_ns")
"it reads the clock or the host's time-zone files (non-deterministic)"
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from importlib import resources

from simenv.governance import policy_text

CAPABILITIES = "rego_capabilities.json"
_SURFACE = {"internal.print": "print", "internal.member_2": "in", "internal.member_3": "in"}


@functools.lru_cache(maxsize=1)
def _capabilities() -> dict:
    return json.loads(resources.files("simenv.governance").joinpath(CAPABILITIES).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def allowed() -> frozenset[str]:
    """The names of the built-ins a policy may call."""
    return frozenset(b["name"] for b in _capabilities()["builtins"])


def why(name: str) -> str:
    """Why a built-in is refused (the first matching ``refused`` entry, or the general reason)."""
    for r in _capabilities()["refused"]:
        if name == r["prefix"] or name.startswith(r["prefix"]):
            return str(r["why"])
    return "it is not on simenv's list of deterministic, side-effect-free built-ins"


def problems(calls: Iterable[tuple[str, int | None, int | None]], text: str) -> list[tuple[str, str]]:
    """The problems of a compiled policy's built-in calls ``(name, arguments given, arguments declared)``.

    ``arguments given`` is ``None`` for a built-in the plan declares but whose call was not seen,
    ``arguments declared`` is ``None`` for a variadic built-in. Each problem names the line of the
    first reference in ``text``.
    """
    ok = allowed()
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, int | None]] = set()
    for name, given, declared in sorted(calls, key=lambda c: (c[0], c[1] is None, c[1] or 0)):
        surface = _SURFACE.get(name, name)
        if name not in ok:
            if (name, None) in seen:
                continue
            seen.add((name, None))
            out.append((policy_text.locate(text, "rego", surface),
                        f"Rego: built-in {surface} is not allowed: {why(name)}; remove it (simenv allows only the "
                        f"built-ins listed in simenv/governance/{CAPABILITIES})"))
        elif given is not None and declared is not None and given != declared and (name, given) not in seen:
            seen.add((name, given))
            out.append((policy_text.locate(text, "rego", surface),
                        f"Rego: built-in {surface} is called with {given} argument(s) but takes {declared}: "
                        "pass every argument (rego-cpp crashes on a call without them)"))
    return out
