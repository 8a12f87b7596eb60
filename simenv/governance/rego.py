"""The Rego authorizer (regopy, i.e. rego-cpp; no OPA binary). The only module that imports regopy.

Contract of a simenv Rego policy:

- ``input`` is the published request model, ``AccessRequest.to_input()`` (see the README's
  section for policy authors);
- the policy defines ``data.simenv.decision`` (so: ``package simenv``) as an object::

      {"effect": "allow" | "deny" | "require_approval",
       "policy_ids": [...],   # array or set of strings: the rules that decided
       "reasons": [...]}      # array or set of strings (optional)

  simenv sorts both. An undefined decision, a malformed one (or one longer than
  :data:`MAX_OUTPUT_CHARS`) or an evaluation error is a deny (policy id ``rego.undefined`` /
  ``rego.malformed`` / ``rego.error``) whose reason says why; a request the engine cannot
  represent is ``request.invalid`` (see :mod:`simenv.governance.bounds`). ``authorize`` never raises.

The module is compiled once into a bundle with the entry point ``simenv/decision``; each call
only sets the input and runs the compiled plan. A policy is validated by compiling it and
evaluating it on a default request, which must yield a well-formed decision.

Policies are untrusted. Before rego-cpp sees a file, :mod:`simenv.governance.policy_text`
refuses what is known to crash it (no ``package`` line, deep nesting, a large file); after it
compiles, :mod:`simenv.governance.rego_sandbox` refuses every built-in outside the allowlist
(``opa.runtime``, ``time.*``, ``rand.*``, ``uuid.*``, ``http.send``, ``net.*``...) by reading
the compiled plan. Both happen once per policy text, at load time; the hot path is unchanged.
"""

from __future__ import annotations

import collections
import collections.abc
import ctypes
import functools
import json
import re
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from simenv import files
from simenv.errors import SimenvError, SpecError
from simenv.governance import bounds, policy_text, rego_sandbox
from simenv.governance.request import AccessRequest, Decision
from simenv.governance.views import EstateView
from simenv.types import AUTHORIZER_EFFECTS, Effect
from simenv.world.model import Ticket

ENTRYPOINT = "simenv/decision"
_INSTALL = "the rego engine needs regopy: pip install simenv[all] (or pip install regopy)"
_ERROR = re.compile(r"\(error \d+:([^|]*)\|(\d+)\|\d+\s*\(errormsg \d+:([^)]*)\)")
_EFFECTS = {str(e): e for e in AUTHORIZER_EFFECTS}
_USER_FUNCTION = re.compile(r"^g\d+\.")  # a plan's name for a rule or function of the policy (not a built-in)
MAX_OUTPUT_CHARS = 64 * 1024
"""The longest decision a policy may return (its reasons go to the audit log)."""
Call = tuple[str, int | None, int | None]
_vetted: dict[str | tuple[str, str], tuple[tuple[str, str], ...]] = {}  # policy text (and entry point) -> sandbox problems


LATE = ("rego-cpp's library was loaded after libstdc++ (numpy, matplotlib or a Jupyter kernel loaded it first), so "
        "each Rego query in this process leaks about 28 KB: import simenv before them, or run the episodes on workers "
        "(run_matrix(..., executor='local') preloads the library)")
_warned: list[bool] = []


def _regopy(install: str = _INSTALL) -> Any:
    try:
        import regopy
        from regopy import rego_shared
    except ImportError:
        raise SimenvError(install) from None
    if not _warned:  # see simenv._load_rego_first
        _warned.append(True)
        if getattr(sys.modules.get("simenv"), "_REGO_LOADED_LATE", False):
            warnings.warn(LATE, RuntimeWarning, stacklevel=2)
    return regopy, rego_shared


def _readable(err: str, source: str) -> list[tuple[str, str]]:
    """rego-cpp's error tree → ``(line L, column C, message)`` problems."""
    out = []
    raw = source.encode("utf-8")  # rego-cpp reports byte offsets
    for _, offset, msg in _ERROR.findall(err):
        pos = int(offset)
        line = raw.count(b"\n", 0, pos) + 1
        col = len(raw[raw.rfind(b"\n", 0, pos) + 1:pos].decode("utf-8", "replace")) + 1
        out.append((f"line {line}, column {col}", f"Rego: {msg.strip()}"))
    return out or [("", f"Rego: {err.strip()[:400]}")]


def parse_output(text: str) -> Decision:
    """A decision from the entry point's output text (rego-cpp's JSON, or an error tree); never raises."""
    if len(text) > MAX_OUTPUT_CHARS:
        return Decision(Effect.DENY, (f"the Rego decision is {len(text):,} characters; the limit is {MAX_OUTPUT_CHARS:,}",),
                        ("rego.malformed",))
    try:
        return _parse_output(text)
    except (RecursionError, MemoryError):
        return Decision(Effect.DENY, ("the Rego decision nests too deeply to read",), ("rego.malformed",))


def _parse_output(text: str) -> Decision:
    if text == "undefined" or not text:
        return Decision(Effect.DENY, ("data.simenv.decision is undefined for this request",), ("rego.undefined",))
    if text.startswith("(error") or text.startswith("("):
        msg = " ".join(m for *_, m in _ERROR.findall(text)) or text[:200]
        return Decision(Effect.DENY, (f"Rego evaluation error: {msg}",), ("rego.error",))
    try:
        doc = json.loads(text)["expressions"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return Decision(Effect.DENY, (f"unreadable Rego output: {text[:200]}",), ("rego.malformed",))
    return decision_of(doc)


def decision_of(doc: Any) -> Decision:
    """A :class:`Decision` from a ``data.simenv.decision`` value (a deny if it is malformed)."""
    if not isinstance(doc, dict) or doc.get("effect") not in _EFFECTS:
        return Decision(Effect.DENY, (f"malformed decision (needs effect allow|deny|require_approval): {doc!r:.200}",),
                        ("rego.malformed",))
    ids, reasons = doc.get("policy_ids", []), doc.get("reasons", [])
    if not isinstance(ids, list) or not isinstance(reasons, list) or not all(isinstance(x, str) for x in ids + reasons):
        return Decision(Effect.DENY, (f"malformed decision (policy_ids and reasons are lists of strings): {doc!r:.200}",),
                        ("rego.malformed",))
    return Decision(_EFFECTS[doc["effect"]], tuple(sorted(reasons)), tuple(sorted(ids)))


COMPILED = 32
"""How many compiled policies a process keeps, by file name, text and entry point: each episode's authorizer shares
one interpreter and bundle (a query sets its whole input, so nothing of one episode reaches the next)."""
Compiled = tuple[Any, Any, threading.Lock]
"""A compiled policy: its interpreter, its bundle, and the lock its queries take (an interpreter holds one input)."""
_compiled: collections.OrderedDict[tuple[str, str, str], Compiled] = collections.OrderedDict()
read_policy = files.cached(lambda path, text: text, immutable=True)
"""A policy file's text (a file unchanged since it was read is not read again: :func:`simenv.files.cached`)."""


def compile_policy(text: str, file: str, entrypoint: str = ENTRYPOINT, install: str = _INSTALL) -> Compiled:
    """A Rego policy compiled for ``entrypoint`` and vetted by the sandbox, once per process; SpecError naming ``file``.

    The rego engine and the agt engine's manifests share it: only a policy that passed the sandbox is kept.
    """
    regopy, c = _regopy(install)
    key = (Path(file).name, text, entrypoint)
    hit = _compiled.get(key)
    if hit is None:
        policy_text.check_text(text, file, "rego")  # before rego-cpp sees it: what is known to crash it
        rego = regopy.Interpreter()
        rego.log_level = regopy.LogLevel.NONE
        try:
            rego.add_module(key[0], text)
            bundle = rego.build(None, [entrypoint])
        except regopy.RegoError as e:
            raise SpecError(file, _readable(str(e), text)) from None
        if not bundle.ok():
            raise SpecError(file, [("", "Rego: the policy does not compile")])
        hit = (rego, bundle, threading.Lock())
    vet = text if entrypoint == ENTRYPOINT else (entrypoint, text)  # the built-ins a plan calls depend on its entry point
    problems = _vetted.get(vet)
    if problems is None:
        calls = plan_calls(c, hit[1])
        problems = tuple(rego_sandbox.problems(calls, text)) if calls is not None else (
            ("", "Rego: simenv cannot list the built-ins this policy calls (unknown regopy version), so it refuses it"),)
        if len(_vetted) > 256:
            _vetted.clear()
        _vetted[vet] = problems
    if problems:  # the sandbox's verdict, remembered per text, is read on every load
        raise SpecError(file, list(problems))
    _compiled[key] = hit
    _compiled.move_to_end(key)
    if len(_compiled) > COMPILED:
        _compiled.popitem(last=False)
    return hit


def release() -> None:
    """Drop every compiled policy: their interpreters and bundles are freed now, while regopy's module is whole."""
    _compiled.clear()


class Input:
    """A JSON value as rego-cpp's input, built as ``regopy.Input`` builds it, with a fraction of its Python overhead.

    ``regopy.Input`` pushes every value through a Python wrapper that copies the string into a fresh
    buffer and checks the return code; this calls the same C functions of the same library directly (a
    bytes object is passed as the ``char *``), dispatching on a value's exact type first, so an input of the
    request model's size (about 90 values) costs little more than its C calls. The values, their order and
    the errors are regopy's: a failed push raises ``regopy.RegoError``, a value of another type ``ValueError``.
    """

    __slots__ = ("_impl", "_free")

    def __init__(self, c: Any, value: Any):
        lib = c.rego
        self._free = lib.regoFreeInput
        self._impl = lib.regoNewInput()
        try:
            _pusher(lib, c.RegoError)(self._impl, value)
        except BaseException:
            self._free(self._impl)
            self._impl = None
            raise

    def __del__(self) -> None:
        if getattr(self, "_impl", None) is not None:
            self._free(self._impl)


@functools.lru_cache(maxsize=4)
def _pusher(lib: Any, error: type[Exception]) -> Callable[[Any, Any], None]:
    """``push(p, v)``, which pushes ``v`` onto the input stack ``p``, depth first.

    regopy's ``rego_input_from_value``, case for case, with the library's functions bound once per loaded library.
    """
    string, integer, number, boolean, null = (lib.regoInputString, lib.regoInputInt, lib.regoInputFloat,
                                              lib.regoInputBoolean, lib.regoInputNull)
    item, obj, array, aset = lib.regoInputObjectItem, lib.regoInputObject, lib.regoInputArray, lib.regoInputSet

    def push(p: Any, v: Any) -> None:
        t = type(v)  # the exact types of a request document first; subclasses (StrEnum...) take the general path
        if t is str:
            code = string(p, v.encode())
        elif t is dict:
            code = mapping(p, v)
        elif t is bool:
            code = boolean(p, v)
        elif t is int:
            code = integer(p, v)
        elif t is list or t is tuple:
            code = sequence(p, v)
        elif v is None:
            code = null(p)
        elif t is float:
            code = number(p, v)
        else:
            code = general(p, v)
        if code:
            raise error("Unable to create input")

    def mapping(p: Any, v: Any) -> Any:
        for k, x in v.items():
            push(p, k)
            push(p, x)
            if item(p):
                raise error("Unable to create input")
        return obj(p, len(v))

    def sequence(p: Any, v: Any) -> Any:
        for x in v:
            push(p, x)
        return array(p, len(v))

    def general(p: Any, v: Any) -> Any:
        if v is True or v is False:
            return boolean(p, v)
        if isinstance(v, int):
            return integer(p, v)
        if isinstance(v, float):
            return number(p, v)
        if isinstance(v, str):
            return string(p, v.encode())
        if isinstance(v, collections.abc.Set):
            for x in v:
                push(p, x)
            return aset(p, len(v))
        if isinstance(v, collections.abc.Mapping):
            return mapping(p, v)
        if isinstance(v, collections.abc.Sequence):
            return sequence(p, v)
        raise ValueError("Cannot convert object of type " + str(type(v)) + " to rego input")

    return push


def run_query(c: Any, policy: Compiled, entrypoint: str, given: Any) -> str:
    """The output string of one query of a compiled policy on ``given`` (an :class:`Input`), one query at a time."""
    rego, bundle, lock = policy
    with lock:  # the interpreter is shared by every authorizer of this policy, in any thread
        c.rego_set_input(rego._impl, given._impl)
        out = c.rego_bundle_query_entrypoint(rego._impl, bundle._impl, entrypoint)
        try:
            return c.rego_output_string(out)
        finally:
            c.rego_free_output(out)


class RegoAuthorizer:
    """A Rego policy compiled once into a bundle; each call runs the compiled plan."""

    name = "rego"

    def __init__(self, policy: Path | str | None = None):
        if policy is None:
            raise SimenvError("the rego engine needs a policy file: set authorizer.policy in the profile")
        path = Path(policy)
        try:
            text = read_policy(path)  # the cache looks at the file once: no stat of its own first
        except SpecError:
            if not path.exists():
                raise SpecError(str(path), [("", "no such file")]) from None
            raise
        self._setup(text, str(path))

    @classmethod
    def from_text(cls, text: str, file: str = "<rego>") -> RegoAuthorizer:
        """An authorizer from policy text."""
        authz = cls.__new__(cls)
        authz._setup(text, file)
        return authz

    def _setup(self, text: str, file: str) -> None:
        _, self._c = _regopy()
        self.file = file
        self._policy = compile_policy(text, file)

    def check(self, probe: AccessRequest) -> None:
        """Raise :class:`SpecError` unless the policy yields a well-formed decision for ``probe``."""
        dec = self.authorize(probe)
        if dec.policy_ids and dec.policy_ids[0].startswith("rego."):
            where = "data.simenv.decision" if dec.policy_ids[0] != "rego.error" else ""
            raise SpecError(self.file, [(where, dec.reasons[0])])

    def prepare(self, estate: EstateView, tickets: Sequence[Ticket]) -> None:
        """Nothing to prepare: the policy was compiled when the authorizer was built."""

    def _query(self, request: AccessRequest) -> str:
        return run_query(self._c, self._policy, ENTRYPOINT, Input(self._c, request.to_input()))

    def authorize(self, request: AccessRequest) -> Decision:
        """Run the compiled plan on ``request.to_input()``; never raises."""
        problem = bounds.request_problem(request)
        if problem is not None:
            return bounds.invalid(problem)
        try:
            return parse_output(self._query(request))
        except Exception as e:  # noqa: BLE001 - whatever the engine does, the call gets a decision
            return Decision(Effect.DENY, (f"Rego could not evaluate the request ({type(e).__name__})",), ("rego.error",))


# --------------------------------------------------------------------------- the compiled plan
def _node_str(size_of: Any, read: Any, node: Any) -> str | None:
    size = size_of(node) + 1  # rego-cpp's sizes leave out the terminating NUL
    buf = ctypes.create_string_buffer(size)
    return buf.value.decode("utf-8", "replace") if read(node, buf, size) == 0 else None


def plan_calls(c: Any, bundle: Any) -> list[Call] | None:
    """Every built-in call of a compiled bundle: ``(name, arguments given, arguments declared)``.

    Read from the bundle's plan (rego-cpp's IR): the ``builtinfunction`` declarations and every
    ``callstmt``. A declared built-in no call names appears with ``None`` arguments given; a
    variadic one with ``None`` declared. ``None`` if the plan does not have the expected shape.
    """
    lib = c.rego

    def kind(n: Any) -> str | None:
        return _node_str(lib.regoNodeTypeNameSize, lib.regoNodeTypeName, n)

    def value(n: Any) -> str | None:
        return _node_str(lib.regoNodeValueSize, lib.regoNodeValue, n)

    def kids(n: Any) -> list[Any]:
        return [c.rego_node_get(n, i) for i in range(c.rego_node_size(n))]

    declared: dict[str, int | None] = {}
    called: list[tuple[str, int]] = []
    stack, seen_policy = [c.rego_bundle_node(bundle._impl)], False
    while stack:
        node = stack.pop()
        k = kind(node)
        if k is None:
            return None
        seen_policy = seen_policy or k == "rego-policy"
        if k == "rego-builtinfunction":
            name, decl = kids(node)[:2]
            args = kids(decl)[0] if c.rego_node_size(decl) else None
            n = value(name)
            if n is None:
                return None
            declared[n] = c.rego_node_size(args) if args is not None and kind(args) == "rego-builtin-argseq" else None
            continue
        if k == "rego-callstmt":
            func, operands = kids(node)[:2]
            n = value(func)
            if n is None:
                return None
            if not _USER_FUNCTION.match(n):
                called.append((n, c.rego_node_size(operands)))
        stack.extend(kids(node))
    if not seen_policy:
        return None
    out: list[Call] = [(n, given, declared.get(n)) for n, given in called]
    out += [(n, None, d) for n, d in declared.items() if n not in {x for x, _ in called}]
    return out
