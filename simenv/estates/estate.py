"""The estate file (``estates/NAME.yaml`` or ``.json``): an imported account, its escalation edges, and its paths.

``simenv import aws-iam`` writes it; a scenario names it (``estate: {file: ...}``) to run agents as
its principals; ``simenv paths`` and ``simenv export opengraph`` read it. It holds:

* ``principals``: every IAM user and role (``user/NAME``, ``role/NAME``), with its ARN, the kind of
  identity it becomes (users are humans; roles are service accounts), the AWS services that may
  assume it, whether it is admin, and its sensitivity with the rule that set it;
* ``escalations``: every edge ``from → to`` (``to`` is ``admin`` for a self-escalation) with its
  method and the method's ids in the public catalogues (``rhino``, ``pathfinding``);
* ``not_modelled``: what the import leaves out.

Sensitivity is set by documented rules (:data:`RULES`); an edited ``sensitivity`` in the file, or
``simenv import --sensitivity NAME=W``, overrides it (``rule: override``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from simenv.errors import SpecError
from simenv.estates.aws import EVERY, NOT_MODELLED, Account, Analysis, escalations
from simenv.estates.methods import BY_ID

FORMAT = "simenv-estate/1"
ADMIN = "admin"
"""The node every self-escalation leads to: the account's administrator."""
ADMIN_ROLE = "aws-admin"
"""The cloud role that stands for ``admin`` (AdministratorAccess) in a scenario and in an OpenGraph export."""
RULES = {
    "admin": (25.0, "allowed * (or iam:*) on every resource, as AdministratorAccess"),
    "escalates": (15.0, "not admin, but an escalation path reaches admin"),
    "lateral": (5.0, "reaches other principals, but not admin"),
    "contained": (1.0, "reaches no other principal"),
}
"""Sensitivity by rule: (weight, what the rule says)."""
MAX_ESTATE_BYTES = 256 * 2**20


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SourceSpec(_Strict):
    """Where the estate came from."""

    kind: Literal["aws-iam"] = "aws-iam"
    file: str
    sha256: str
    account: str
    as_of: str = Field(description="the time conditions were evaluated at (the export's newest date)")


class PrincipalSpec(_Strict):
    """An imported user or role."""

    name: str = Field(description="user/NAME or role/NAME")
    type: Literal["user", "role"]
    arn: str
    kind: Literal["human", "service_account"]
    services: list[str] = Field(default_factory=list, description="AWS services its trust policy lets assume it")
    admin: bool = False
    sensitivity: float = Field(ge=0.0, le=1_000_000.0)
    rule: str = Field(description="the rule that set the sensitivity, or 'override'")


class EscalationSpec(_Strict):
    """One escalation edge."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    src: str = Field(alias="from")
    to: str
    method: str
    rhino: int | None = None
    pathfinding: str | None = None
    conditional: bool = False
    via: str = ""


class EstateFile(_Strict):
    """An estate file."""

    format: Literal["simenv-estate/1"] = "simenv-estate/1"
    source: SourceSpec
    not_modelled: list[str] = Field(default_factory=list)
    principals: list[PrincipalSpec]
    escalations: list[EscalationSpec] = Field(default_factory=list)

    def by_name(self) -> dict[str, PrincipalSpec]:
        """Principals by name."""
        return {p.name: p for p in self.principals}


def from_account(account: Account, text_sha256: str, overrides: dict[str, float] | None = None) -> EstateFile:
    """The estate of an account: its principals, edges, admins and sensitivities."""
    an = Analysis(account)
    edges, admins = escalations(an)
    reach = _reaches_admin(edges, admins, {p.name: p.kind for p in account.principals})
    lateral = {e.src for e in edges}
    overrides = dict(overrides or {})
    principals = []
    for p in account.principals:
        rule = ("admin" if p.name in admins else "escalates" if p.name in reach else
                "lateral" if p.name in lateral else "contained")
        weight = RULES[rule][0]
        if p.name in overrides:
            weight, rule = overrides.pop(p.name), "override"
        principals.append(PrincipalSpec(name=p.name, type=p.kind, arn=p.arn,  # type: ignore[arg-type]
                                        kind="human" if p.kind == "user" else "service_account",
                                        services=list(p.services), admin=p.name in admins, sensitivity=weight,
                                        rule=rule))
    if overrides:
        raise SpecError("--sensitivity", [(sorted(overrides)[0], "no such principal (give user/NAME or role/NAME)")])
    esc = [EscalationSpec.model_validate({"from": e.src, "to": e.dst, "method": e.method,
                                          "rhino": BY_ID[e.method].rhino, "pathfinding": BY_ID[e.method].pathfinding,
                                          "conditional": e.conditional, "via": e.via})
           for e in sorted(edges, key=lambda e: (e.src, e.dst, e.method, e.via))]
    return EstateFile(source=SourceSpec(file=Path(account.source).name, sha256=text_sha256, account=account.account,
                                        as_of=an.ctx.now),
                      not_modelled=list(NOT_MODELLED), principals=principals, escalations=esc)


def _reaches_admin(edges: Iterable, admins: set[str], types: dict[str, str]) -> set[str]:
    """Principals from which some chain of edges reaches admin (reverse search; ``types``: name -> user or role).

    An edge to every user (``user/*``) reaches admin when some other user does.
    """
    into: dict[str, list[str]] = {}
    for e in edges:
        into.setdefault(e.dst, []).append(e.src)
    seen: set[str] = set()
    frontier = [ADMIN, *sorted(admins)]
    while frontier:
        n = frontier.pop()
        srcs = list(into.get(n, ()))
        every = EVERY.get(types.get(n, ""))
        if every is not None:
            waiting = into.get(every, [])
            srcs += [s for s in waiting if s not in seen]
            into[every] = [s for s in waiting if s == n and s not in seen]  # the rest now reach admin through n
        for s in srcs:
            if s not in seen and s != n:
                seen.add(s)
                frontier.append(s)
    return seen - admins


# --------------------------------------------------------------------------- files
def dump(estate: EstateFile, path: Path) -> None:
    """Write the estate: JSON for a ``.json`` path, else YAML."""
    data = estate.model_dump(by_alias=True, exclude_defaults=False)
    if path.suffix == ".json":
        text = json.dumps(data, indent=1, sort_keys=False) + "\n"
    else:
        import yaml

        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        text = yaml.dump(data, Dumper=dumper, sort_keys=False, width=200, allow_unicode=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def load(path: str | Path) -> EstateFile:
    """Read and check an estate file (YAML, or JSON for ``.json``); errors name the file and the field."""
    from simenv import files

    p = Path(path)
    text = files.read_text(p, MAX_ESTATE_BYTES)
    if p.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as err:
            raise SpecError(str(p), [("<root>", f"not JSON ({err})")]) from None
    else:
        data = files.parse_yaml(text, str(p))
    est = files.validate(EstateFile, data, str(p))
    names = est.by_name()
    problems = []
    for k, e in enumerate(est.escalations):
        for fld, v in (("from", e.src), ("to", e.to)):
            if v not in names and not (fld == "to" and (v == ADMIN or v in EVERY.values())):
                problems.append((f"escalations[{k}].{fld}", f"unknown principal {v!r}"))
        if e.method not in BY_ID:
            problems.append((f"escalations[{k}].method", f"unknown method {e.method!r}"))
    if len(names) != len(est.principals):
        problems.append(("principals", "a principal is listed twice"))
    if problems:
        raise SpecError(str(p), problems)
    return est


def sha256(text: str) -> str:
    """The SHA-256 of a text."""
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- paths
def paths(est: EstateFile, max_depth: int = 6, limit: int = 1000
          ) -> dict[str, tuple[list[list[EscalationSpec]], bool]]:
    """Every simple escalation path to admin of each principal that is not admin: (paths, cut short).

    A path ends at ``admin`` (a self-escalation) or at an admin principal. Paths are at most
    ``max_depth`` steps; a principal's listing stops at ``limit`` paths (then ``cut short``).
    """
    names = est.by_name()
    admins = {n for n, p in names.items() if p.admin}
    out_edges: dict[str, list[EscalationSpec]] = {}
    for e in est.escalations:
        out_edges.setdefault(e.src, []).append(e)
    types: dict[str, str] = {n: p.type for n, p in names.items()}
    useful = _reaches_admin([_E(e.src, e.to) for e in est.escalations], admins, types) | admins | {ADMIN}
    every = {w: sorted(n for n in useful if types.get(n) == k) for k, w in EVERY.items()}
    result: dict[str, tuple[list[list[EscalationSpec]], bool]] = {}
    for start in sorted(names):
        if start in admins or start not in useful:
            continue
        found: list[list[EscalationSpec]] = []
        cut = False
        for path in _walk(start, out_edges, useful, admins, max_depth, every):
            if len(found) == limit:
                cut = True
                break
            found.append(path)
        result[start] = (found, cut)
    return result


class _E:
    __slots__ = ("src", "dst")

    def __init__(self, src: str, dst: str):
        self.src, self.dst = src, dst


def _walk(start: str, out_edges: dict[str, list[EscalationSpec]], useful: set[str], admins: set[str],
          max_depth: int, every: dict[str, list[str]]) -> Iterator[list[EscalationSpec]]:
    stack: list[EscalationSpec] = []
    on_path = {start}

    def expand(node: str) -> Iterator[EscalationSpec]:
        for e in out_edges.get(node, ()):
            if e.to in every:  # an edge to every user (or role): one step to each that leads somewhere
                for n in every[e.to]:
                    if n != node:
                        yield e.model_copy(update={"to": n})
            else:
                yield e

    def dfs(node: str) -> Iterator[list[EscalationSpec]]:
        for e in expand(node):
            if e.to not in useful or e.to in on_path:
                continue
            stack.append(e)
            if e.to == ADMIN or e.to in admins:
                yield list(stack)
            elif len(stack) < max_depth:
                on_path.add(e.to)
                yield from dfs(e.to)
                on_path.discard(e.to)
            stack.pop()

    yield from dfs(start)


def step_json(e: EscalationSpec) -> dict[str, object]:
    """One step of a path, as ``simenv paths --json`` prints it."""
    out: dict[str, object] = {"from": e.src, "to": e.to, "method": e.method, "rhino": e.rhino,
                              "pathfinding": e.pathfinding}
    if e.via:
        out["via"] = e.via
    if e.conditional:
        out["conditional"] = True
    return out
