"""The Rego authorizer (regopy, i.e. rego-cpp; no OPA binary). The only module that imports regopy.

Contract of a simenv Rego policy:

- ``input`` is the published request model, ``AccessRequest.to_input()`` (see the README's
  section for policy authors);
- the policy defines ``data.simenv.decision`` (so: ``package simenv``) as an object::

      {"effect": "allow" | "deny" | "require_approval",
       "policy_ids": [...],   # array or set of strings: the rules that decided
       "reasons": [...]}      # array or set of strings (optional)

  simenv sorts both. An undefined decision, a malformed one or an evaluation error is a deny
  (policy id ``rego.undefined`` / ``rego.malformed`` / ``rego.error``) whose reason says why.

The module is compiled once into a bundle with the entry point ``simenv/decision``; each call
only sets the input and runs the compiled plan. A policy is validated by compiling it and
evaluating it on a default request, which must yield a well-formed decision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simenv import files
from simenv.errors import SimenvError, SpecError
from simenv.governance.request import AccessRequest, Decision
from simenv.governance.views import EstateView
from simenv.types import AUTHORIZER_EFFECTS, Effect
from simenv.world.model import Ticket

ENTRYPOINT = "simenv/decision"
_INSTALL = "the rego engine needs regopy: pip install simenv[all] (or pip install regopy)"
_ERROR = re.compile(r"\(error \d+:([^|]*)\|(\d+)\|\d+\s*\(errormsg \d+:([^)]*)\)")
_EFFECTS = {str(e): e for e in AUTHORIZER_EFFECTS}


def _regopy() -> Any:
    try:
        import regopy
        from regopy import rego_shared
    except ImportError:
        raise SimenvError(_INSTALL) from None
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
    """A decision from the entry point's output text (rego-cpp's JSON, or an error tree)."""
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


class RegoAuthorizer:
    """A Rego policy compiled once into a bundle; each call runs the compiled plan."""

    name = "rego"

    def __init__(self, policy: Path | str | None = None):
        if policy is None:
            raise SimenvError("the rego engine needs a policy file: set authorizer.policy in the profile")
        path = Path(policy)
        if not path.exists():
            raise SpecError(str(path), [("", "no such file")])
        self._setup(files.read_text(path), str(path))

    @classmethod
    def from_text(cls, text: str, file: str = "<rego>") -> RegoAuthorizer:
        """An authorizer from policy text."""
        authz = cls.__new__(cls)
        authz._setup(text, file)
        return authz

    def _setup(self, text: str, file: str) -> None:
        regopy, self._c = _regopy()
        self._regopy = regopy
        self.file = file
        self._rego = regopy.Interpreter()
        self._rego.log_level = regopy.LogLevel.NONE
        try:
            self._rego.add_module(Path(file).name, text)
            self._bundle = self._rego.build(None, [ENTRYPOINT])
        except regopy.RegoError as e:
            raise SpecError(file, _readable(str(e), text)) from None
        if not self._bundle.ok():
            raise SpecError(file, [("", "Rego: the policy does not compile")])

    def check(self, probe: AccessRequest) -> None:
        """Raise :class:`SpecError` unless the policy yields a well-formed decision for ``probe``."""
        text = self._query(probe)
        dec = parse_output(text)
        if dec.policy_ids and dec.policy_ids[0].startswith("rego."):
            where = "data.simenv.decision" if dec.policy_ids[0] != "rego.error" else ""
            raise SpecError(self.file, [(where, dec.reasons[0])])

    def prepare(self, estate: EstateView, tickets: Sequence[Ticket]) -> None:
        """Nothing to prepare: the policy was compiled when the authorizer was built."""

    def _query(self, request: AccessRequest) -> str:
        c = self._c
        self._rego.set_input(self._regopy.Input(request.to_input()))
        out = c.rego_bundle_query_entrypoint(self._rego._impl, self._bundle._impl, ENTRYPOINT)
        try:
            return c.rego_output_string(out)
        finally:
            c.rego_free_output(out)

    def authorize(self, request: AccessRequest) -> Decision:
        """Run the compiled plan on ``request.to_input()``."""
        return parse_output(self._query(request))
