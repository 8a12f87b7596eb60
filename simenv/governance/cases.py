"""Table-driven decision tests of a policy file (``simenv test POLICY_FILE CASES.yaml``), and policy-file validators.

``POLICY_FILE`` is a ``.cedar``, ``.rego`` or native rules ``.yaml`` file, or a governance
profile (a file or a shipped name): then the cases test the profile's authorizer, built as the
profile builds it (its engine, its ``authorizer.policy`` resolved relative to the profile file,
its options). A profile whose authorizer has no policy file is an error.

A cases file is a table of decision tests, in the manner of ``opa test``::

    description: the intent policy's decisions
    cases:
      - name: an in-scope read is allowed
        request: {action: {name: db_query}}          # see simenv.governance.fields (defaults)
        expect: allow                                # allow | deny | require_approval
        policy_ids: [intent.allow_in_scope]          # optional: the deciding policy ids (any order)

``simenv test`` (in :mod:`simenv.cli.policy`) exits 0 when every case passes, 1 when one does
not (with a diff per failing case), 2 on bad input (a file:field error).

A cases file is untrusted like a policy: its text must be valid Unicode without NUL characters
and at most :data:`~simenv.governance.bounds.MAX_TEXT_CHARS` long per field, its integers fit
64 bits and its sensitivities Cedar's decimal (:mod:`simenv.governance.bounds`), so that every
engine is handed the same request. ``simenv validate`` and ``simenv test`` compile a Cedar or
Rego policy in a child process first (:mod:`simenv.governance.isolate`), so an engine crash is
an error, not a dead process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simenv import files
from simenv.errors import SpecError
from simenv.governance import bounds, isolate
from simenv.governance.fields import RequestDoc
from simenv.governance.protocols import Authorizer
from simenv.governance.request import AccessRequest, Decision

ENGINES = {".cedar": "cedar", ".rego": "rego", ".yaml": "native", ".yml": "native"}


class CaseSpec(BaseModel):
    """One decision test."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str
    request: dict[str, Any]
    expect: Literal["allow", "deny", "require_approval"]
    policy_ids: list[str] | None = None


class CasesSpec(BaseModel):
    """A cases file."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    description: str = ""
    cases: list[dict[str, Any]] = Field(min_length=1)


def _errors(e: ValidationError, prefix: str) -> list[tuple[str, str]]:
    return [(prefix + files.field_path(err["loc"]), "unknown field" if err["type"] == "extra_forbidden" else err["msg"])
            for err in e.errors()]


def text_problems(value: Any, where: str) -> list[tuple[str, str]]:
    """``(field, message)`` for every text (key or value) in ``value`` that cannot reach every engine unchanged."""
    out = []
    stack = [(where, value)]
    while stack:
        at, v = stack.pop()
        if isinstance(v, str):
            why = bounds.text_problem(v)
            if why:
                out.append((at, why))
        elif isinstance(v, dict):
            for k, x in v.items():
                name = str(k)[:60]
                if isinstance(k, str) and (why := bounds.text_problem(k, 200)):
                    out.append((f"{at}.{name!r}" if at else repr(name), f"key: {why}"))
                stack.append((f"{at}.{name}" if at else name, x))
        elif isinstance(v, list):
            stack.extend((f"{at}[{i}]", x) for i, x in enumerate(v))
    return sorted(out)


def load_cases(path: Path) -> list[tuple[CaseSpec, AccessRequest]]:
    """Load a cases file and build each request; raise :class:`SpecError` naming every bad field."""
    data = files.load_yaml(path)
    bad_text = text_problems(data, "") if isinstance(data, dict) else []
    if bad_text:
        raise SpecError(str(path), bad_text)
    spec = files.validate(CasesSpec, data, str(path))
    problems: list[tuple[str, str]] = []
    out = []
    names: dict[str, int] = {}
    for i, raw in enumerate(spec.cases):
        try:
            case = CaseSpec.model_validate(raw, strict=True)
        except ValidationError as e:
            problems.extend(_errors(e, f"cases[{i}]."))
            continue
        if case.name in names:
            problems.append((f"cases[{i}].name", f"duplicate name (first at cases[{names[case.name]}])"))
        names.setdefault(case.name, i)
        try:
            req, bad = RequestDoc.model_validate(case.request, strict=True).build()
        except ValidationError as e:
            req, bad = None, _errors(e, "")
        problems.extend((f"cases[{i}].request.{where}", msg) for where, msg in bad)
        if req is not None:
            out.append((case, req))
    if problems:
        raise SpecError(str(path), problems)
    return out


def engine_of(path: Path) -> str:
    """The engine a policy file is written for: by suffix, then (YAML) by content."""
    engine = ENGINES.get(path.suffix)
    if engine is None:
        raise SpecError(str(path), [("", "not a policy file: expected .cedar, .rego or a native rules .yaml")])
    if engine == "native":
        data = files.load_yaml(path)
        if not isinstance(data, dict) or "rules" not in data:
            raise SpecError(str(path), [("rules", "a native rule set needs a top-level 'rules' list "
                                                  "(or give a profile, whose authorizer names its policy file)")])
    return engine


def is_profile(path: Path) -> bool:
    """Whether ``path`` is a governance profile (a YAML mapping with ``authorizer`` or ``credentials``)."""
    if path.suffix not in (".yaml", ".yml") or not path.exists():
        return False
    data = files.load_yaml(path)
    return isinstance(data, dict) and ("authorizer" in data or "credentials" in data)


def _profile_path(path: Path) -> Path:
    """``path``, or the shipped profile it names (``intent_cedar``)."""
    return files.resolve(str(path), "policies") if not path.exists() and not path.suffix else path


def profile_policy(path: Path) -> Path | None:
    """The policy file of the profile at ``path`` (relative paths resolved against the profile), or ``None``.

    ``None`` when ``path`` is not a profile; a profile whose authorizer has no policy file is a
    :class:`SpecError` naming ``authorizer.policy``.
    """
    path = _profile_path(path)
    if not is_profile(path):
        return None
    from simenv.governance.profile import load_profile

    spec, path = load_profile(path)
    a = spec.authorizer
    if a.policy is None:
        raise SpecError(str(path), [("authorizer.policy", (
            f"the profile's authorizer (engine {a.engine!r}) has no policy file to test; give simenv test a policy "
            "file, or a profile whose authorizer names one (engine native, cedar or rego with policy: FILE)"))])
    return path.parent / a.policy


def _probe(authz: Authorizer) -> Authorizer:
    """A Rego authorizer evaluated once, so that a policy without a decision fails at load time."""
    from simenv.governance.rego import RegoAuthorizer

    if isinstance(authz, RegoAuthorizer):
        probe, _ = RequestDoc.model_validate({"action": {"name": "db_query"}}).build()
        assert probe is not None
        authz.check(probe)
    return authz


def load_authorizer(path: Path) -> Authorizer:
    """Build the authorizer for a policy file (``.cedar``, ``.rego`` or native rules YAML) or a profile's authorizer."""
    path = _profile_path(path)
    if not path.exists():
        raise SpecError(str(path), [("", "no such file")])
    if profile_policy(path) is not None:
        from simenv.governance.profile import build_governance

        return _probe(build_governance(path).authorizer)
    engine = engine_of(path)
    if engine == "cedar":
        from simenv.governance.cedar import CedarAuthorizer

        return CedarAuthorizer(path)
    if engine == "rego":
        from simenv.governance.rego import RegoAuthorizer

        return _probe(RegoAuthorizer(path))
    from simenv.governance.native import NativeRules

    return NativeRules(path)


def _in_child(path: Path) -> None:
    """Compile a Cedar or Rego policy (and run it on a probe request) in a child process first."""
    if path.exists() and path.suffix in (".cedar", ".rego"):
        isolate.check_in_child("simenv.governance.cases:load_authorizer", path,
                               what=f"the {ENGINES[path.suffix]} engine, compiling {path.name}")


def validate_policy_file(path: Path) -> None:
    """Validate a policy file (a Cedar or Rego one in a child process); raise :class:`SpecError` if it is invalid."""
    _in_child(path)
    load_authorizer(path)


def validate_cases_file(path: Path) -> None:
    """Validate a cases file (without a policy)."""
    load_cases(path)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case run against a policy: the case, the decision, and whether it matched."""

    case: CaseSpec
    got: Decision

    @property
    def passed(self) -> bool:
        c, got = self.case, self.got
        return str(got.effect) == c.expect and (c.policy_ids is None or sorted(c.policy_ids) == sorted(got.policy_ids))

    def diff(self) -> list[str]:
        """The lines that explain a failing case."""
        return [f"FAIL  {self.case.name}",
                f"      expected: {_show(self.case.expect, self.case.policy_ids)}",
                f"      got:      {_show(str(self.got.effect), self.got.policy_ids)}",
                f"      reasons:  {'; '.join(self.got.reasons)}"]


def _show(effect: str, ids: Any) -> str:
    return f"{effect} [{', '.join(sorted(ids))}]" if ids is not None else effect


def run_cases(policy: Path, cases_file: Path) -> tuple[Authorizer, list[CaseResult]]:
    """Run every case of ``cases_file`` against the policy file ``policy``; raise SpecError on bad input."""
    _in_child(policy)
    authz = load_authorizer(policy)
    return authz, [CaseResult(case, authz.authorize(req)) for case, req in load_cases(cases_file)]
