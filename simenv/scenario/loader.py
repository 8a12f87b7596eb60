"""Load a scenario file: strict YAML, strict schema, then cross-reference checks.

Every error names the file and the field path (``tickets[0].assignee``).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

from simenv import files
from simenv.errors import SpecError, quote
from simenv.scenario.events import EVENTS
from simenv.scenario.frameworks import check_tags
from simenv.scenario.schema import EventSpec, IdentitySpec, ScenarioSpec, StepSpec
from simenv.types import parse_cred_label
from simenv.world.actions import COUNTER_ATTRS, SECRET_REF, SIMULATION_ATTRS, TEXT_ATTRS
from simenv.world.catalog import CATALOG, parse_lifetime
from simenv.world.tools import IDENTITY, LIFETIME, TEXT, Param, ToolSpec

CONTROL_STEPS = {"complete_ticket", "abort_ticket"}
PLAN_CREDENTIALS = ("$newest", "$cached")
"""The symbolic values of a plan step's ``credential`` (see :mod:`simenv.agents.scripted`); else a ``cred-N`` id."""
ANY = "*"
SELF = "$self"
SECRET_TYPES = ("secret", "key")
"""What a ``secret://NAME`` value of ``cicd_set_variable`` may name: a resource that reveals a credential."""


def load_scenario(name_or_path: str | Path) -> tuple[ScenarioSpec, Path]:
    """Load, validate and cross-check a scenario (a shipped name or a path); parsed once per process."""
    path = files.resolve(name_or_path, "scenarios")
    return _load(path), path


def shared_scenario(name_or_path: str | Path) -> tuple[ScenarioSpec, Path]:
    """Like :func:`load_scenario`, but the process's cached spec itself, not a copy.

    For the episode factory, which only reads it (the builder keys its templates on the spec's content).
    """
    path = files.resolve(name_or_path, "scenarios")
    return _load.shared(path), path  # type: ignore[attr-defined]


def _estate_file(path: Path, spec: ScenarioSpec) -> list[Path]:
    """The estate file a loaded scenario was built from: editing it loads the scenario again."""
    from simenv.scenario.estate import estate_path

    target = estate_path(spec, path)
    return [] if target is None else [target]


@functools.partial(files.cached, deps=_estate_file)
def _load(path: Path, text: str) -> ScenarioSpec:
    spec = files.validate(ScenarioSpec, files.parse_yaml(text, str(path)), str(path))
    if spec.estate.file is not None:
        from simenv.scenario.estate import with_estate

        spec = with_estate(spec, path)
    problems = cross_check(spec)
    if problems:
        raise SpecError(str(path), problems)
    return spec


def _dupes(names: list[str], where: str) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for i, n in enumerate(names):
        if n in seen:
            out.append((f"{where}[{i}].name" if where != "tickets" else f"{where}[{i}].id", f"duplicate {quote(n)}"))
        seen.add(n)
    return out


def _event_problems(i: int, e: EventSpec, idents: dict[str, IdentitySpec], attackers: set[str]) -> list[tuple[str, str]]:
    """An event checked against :data:`simenv.scenario.events.EVENTS`."""
    where = f"events[{i}]"
    kind = EVENTS.get(e.kind)
    if kind is None:
        return [(f"{where}.kind", f"unknown event kind {quote(e.kind)}; known: {', '.join(sorted(EVENTS))}")]
    p: list[tuple[str, str]] = []
    if e.agent is not None and e.agent not in idents:
        p.append((f"{where}.agent", f"unknown identity {quote(e.agent)}"))
    elif kind.agent == "required" and e.agent is None:
        p.append((f"{where}.agent", f"a {e.kind} event names the agent it happens to"))
    elif kind.agent == "none" and e.agent is not None:
        p.append((f"{where}.agent", f"a {e.kind} event takes no agent; name the identity in params"))
    elif e.agent is not None and idents[e.agent].kind != "agent":
        p.append((f"{where}.agent", f"{quote(e.agent)} is a {idents[e.agent].kind}, not an agent"))
    for name in sorted(set(e.params) - set(kind.params)):
        p.append((f"{where}.params.{name}", f"unknown parameter; {e.kind} takes: {', '.join(kind.params) or 'none'}"))
    for name, param in kind.params.items():
        v = e.params.get(name)
        if v is None:
            if param.required:
                p.append((f"{where}.params.{name}", f"required by {e.kind}"))
            continue
        if not isinstance(v, param.type) or isinstance(v, bool) and param.type is not bool:
            p.append((f"{where}.params.{name}", f"expected {_a(param.type.__name__)}, got {quote(v)}"))
        elif param.choices and v not in param.choices:
            hint = "; out_of_intent is ground truth no responder has: use suspicious" if v == "out_of_intent" else ""
            p.append((f"{where}.params.{name}", f"one of {', '.join(param.choices)}, not {quote(v)}{hint}"))
        elif param.identity is not None:
            if v not in idents:
                p.append((f"{where}.params.{name}", f"unknown identity {quote(v)}"))
            elif param.identity != "any" and idents[str(v)].kind != param.identity:
                p.append((f"{where}.params.{name}", f"{quote(v)} is a {idents[str(v)].kind}, not a {param.identity}"))
    if e.kind == "steal_credential" and isinstance(e.params.get("attacker"), str) and e.params["attacker"] not in attackers:
        p.append((f"{where}.params.attacker", f"{quote(e.params['attacker'])} is not an agents[] entry with role: attacker"))
    return p


def _attr_problems(where: str, attrs: Mapping[str, object]) -> list[tuple[str, str]]:
    """Attributes the tools read must have the type they read (see :mod:`simenv.world.actions`)."""
    p: list[tuple[str, str]] = []
    for key, v in attrs.items():
        if key in COUNTER_ATTRS and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            p.append((f"{where}.{key}", f"a count the tools increment: a non-negative integer, not {quote(v)}"))
        elif key in SIMULATION_ATTRS:
            p.append((f"{where}.{key}", "set by the simulation (a secret pasted into a pipeline), not by a file"))
        elif (key in TEXT_ATTRS or key.startswith("var:")) and not isinstance(v, str):
            p.append((f"{where}.{key}", f"text the tools read: a string, not {quote(v)}"))
    return p


def _hint(value: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` when a known name is close to ``value``, else ``""``."""
    close = difflib.get_close_matches(value, sorted(set(known)), n=1)
    return f"; did you mean {quote(close[0])}?" if close else ""


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _what(spec: ToolSpec, param: Param) -> str:
    """What ``param`` takes, for messages: ``an identity name``, ``one of on, off``, ``an idp group``."""
    if param.kind == IDENTITY:
        return "an identity name"
    if param.kind == TEXT:
        return f"one of {', '.join(param.enum)}" if param.enum else "text"
    if param.kind == LIFETIME:
        return "a lifetime in ticks (a positive integer) or never"
    return _a(f"{spec.system} {param.kind}")


class _Args:
    """Checks tool arguments of plan and intent steps against the catalog and the scenario's names.

    A resource argument may name a named resource or an agent endpoint (every agent is an
    ``idp`` resource of type ``agent`` named after it, see :func:`simenv.scenario.builder.build`);
    generated filler is never referenced by a file.
    """

    def __init__(self, spec: ScenarioSpec):
        self.idents = [i.name for i in spec.identities]
        self.targets: dict[str, tuple[str, str]] = {r.name: (r.type, r.system) for r in spec.resources}
        for i in spec.identities:
            if i.kind == "agent":
                self.targets.setdefault(i.name, ("agent", "idp"))

    def check(self, path: str, spec: ToolSpec, args: Mapping[str, str], intent_of: str | None = None) -> list[tuple[str, str]]:
        """Problems of ``args`` for ``spec`` at ``path``; ``intent_of`` is the ticket's assignee for intent steps.

        Intent steps match calls (``"*"`` matches any value; a left-out argument is not
        constrained); plan steps become calls, so they give every argument a concrete value.
        """
        intent = intent_of is not None
        p: list[tuple[str, str]] = []
        params = {x.name: x for x in spec.params}
        for name in args:
            if name not in params:
                p.append((f"{path}.args.{name}", f"{spec.name} has no argument {quote(name)}; "
                                                 f"its arguments: {', '.join(params)}{_hint(name, params)}"))
        for name, param in params.items():
            where = f"{path}.args.{name}"
            if name not in args:
                if not intent:
                    p.append((where, f"missing argument: {spec.name} needs {name}, {_what(spec, param)}; add it"))
                continue
            v = args[name]
            if v == ANY:
                if not intent:
                    p.append((where, f"{quote(ANY)} matches any value in ticket intent only; a plan step makes the call, "
                                     f"so give {_what(spec, param)}"))
                continue
            why = self._value(spec, param, v, intent_of)
            if why:
                p.append((where, why))
        return p

    def _value(self, spec: ToolSpec, param: Param, v: str, intent_of: str | None) -> str | None:
        if param.kind == IDENTITY:
            if v == SELF:
                if intent_of is None:
                    return None
                return (f"{quote(SELF)} is not resolved in intent: calls are matched on resolved names, where {SELF} is "
                        f"already the acting agent's name; write the agent's name, e.g. {quote(intent_of)}")
            if v in self.idents:
                return None
            alt = "" if intent_of is not None else f" or {quote(SELF)} for the acting agent"
            return f"unknown identity {quote(v)}; name one of identities[]{alt}{_hint(v, self.idents)}"
        if param.kind == TEXT:
            if param.enum and v not in param.enum:
                return f"{quote(v)} is not one of {', '.join(param.enum)}; write one of them{_hint(v, param.enum)}"
            if spec.name == "cicd_set_variable" and param.name == "value" and v.startswith(SECRET_REF):
                ref = v[len(SECRET_REF):]
                kinds = [n for n, (t, _) in self.targets.items() if t in SECRET_TYPES]
                if ref not in self.targets:
                    return (f"{quote(v)} names an unknown secret {quote(ref)}; {SECRET_REF}NAME must name a secret or key "
                            f"of resources[]{_hint(ref, kinds)}")
                rtype, rsys = self.targets[ref]
                if rtype not in SECRET_TYPES:
                    return (f"{quote(v)} names {_a(f'{rsys} {rtype}')}; {SECRET_REF}NAME must name a secret or key of "
                            f"resources[]" + (f" (e.g. {', '.join(sorted(kinds)[:5])})" if kinds else ""))
            return None
        if param.kind == LIFETIME:
            return None if parse_lifetime(v) is not None else f"{quote(v)} is not {_what(spec, param)}"
        same = [n for n, ts in self.targets.items() if ts == (param.kind, str(spec.system))]
        eg = f" (e.g. {', '.join(sorted(same)[:5])})" if same else ""
        if v not in self.targets:
            hint = _hint(v, same or self.targets)
            return f"unknown {param.kind} {quote(v)}; name {_what(spec, param)} of resources[]{eg}{hint}"
        rtype, rsys = self.targets[v]
        if (rtype, rsys) != (param.kind, str(spec.system)):
            what = _what(spec, param)
            return f"{quote(v)} is {_a(f'{rsys} {rtype}')}, not {what}; name {what} of resources[]{eg}"
        return None


def _check_step(path: str, s: StepSpec, args: _Args) -> list[tuple[str, str]]:
    """A plan step's arguments and credential (its tool is checked by the caller)."""
    if s.tool in CONTROL_STEPS:
        return [(f"{path}.args", f"{s.tool} takes no arguments; remove args")] if s.args else []
    p = args.check(path, CATALOG[s.tool], s.args) if s.tool in CATALOG else []
    c = s.credential
    if c is not None and c not in PLAN_CREDENTIALS and parse_cred_label(c) is None:
        p.append((f"{path}.credential", f"unknown credential {quote(c)}; write $newest (the newest credential the agent "
                                        f"obtained itself), $cached (the first it ever held), a credential id like "
                                        f"cred-3, or leave it out to use the broker's"))
    return p


def cross_check(spec: ScenarioSpec) -> list[tuple[str, str]]:
    """Dangling references, duplicates and misplaced kinds, as (field path, message) pairs."""
    p: list[tuple[str, str]] = []
    idents = {i.name: i for i in spec.identities}
    res = {r.name: r for r in spec.resources}
    tickets = {t.id for t in spec.tickets}
    p += _dupes([i.name for i in spec.identities], "identities")
    p += _dupes([r.name for r in spec.resources], "resources")
    p += _dupes([t.id for t in spec.tickets], "tickets")
    p += check_tags(spec.tags.model_dump())
    args = _Args(spec)

    def ident(path: str, name: str | None, kind: str | None = None) -> None:
        if name is None:
            return
        if name not in idents:
            p.append((path, f"unknown identity {quote(name)}"))
        elif kind and idents[name].kind != kind:
            p.append((path, f"{quote(name)} is a {idents[name].kind}, not a {kind}"))

    def resource(path: str, name: str | None, rtype: str | None = None) -> None:
        if name is None:
            return
        if name not in res:
            p.append((path, f"unknown resource {quote(name)}"))
        elif rtype and res[name].type != rtype:
            p.append((path, f"{quote(name)} is a {res[name].type}, not a {rtype}"))

    for i, idn in enumerate(spec.identities):
        if idn.kind == "agent":
            if idn.owner is None:
                p.append((f"identities[{i}].owner", "an agent needs a named human owner"))
            ident(f"identities[{i}].owner", idn.owner, "human")
        else:
            ident(f"identities[{i}].owner", idn.owner)
    for i, r in enumerate(spec.resources):
        p += _attr_problems(f"resources[{i}].attrs", r.attrs)
        ident(f"resources[{i}].owner", r.owner)
        ident(f"resources[{i}].yields", r.yields)
        for j, role in enumerate(r.roles):
            resource(f"resources[{i}].roles[{j}]", role, "role")
        for j, perm in enumerate(r.permissions):
            for k, name in enumerate(perm.resources or ()):
                resource(f"resources[{i}].permissions[{j}].resources[{k}]", name)
    for i, g in enumerate(spec.grants):
        ident(f"grants[{i}].identity", g.identity)
        resource(f"grants[{i}].resource", g.resource)
    for i, t in enumerate(spec.tickets):
        ident(f"tickets[{i}].assignee", t.assignee, "agent")
        ident(f"tickets[{i}].owner", t.owner)
        for j, a in enumerate(t.intent):
            if a.tool not in CATALOG:
                p.append((f"tickets[{i}].intent[{j}].tool", f"unknown tool {quote(a.tool)}"))
            else:
                p += args.check(f"tickets[{i}].intent[{j}]", CATALOG[a.tool], a.args, intent_of=t.assignee)
        for j, d in enumerate(t.done_when):
            given = [x for x in (d.grant, d.no_grant, d.attr) if x is not None]
            if len(given) != 1:
                p.append((f"tickets[{i}].done_when[{j}]", "give exactly one of grant, no_grant, attr"))
            for key in ("grant", "no_grant"):
                g = getattr(d, key)
                if g is not None:
                    ident(f"tickets[{i}].done_when[{j}].{key}.identity", g.identity)
                    resource(f"tickets[{i}].done_when[{j}].{key}.resource", g.resource)
            if d.attr is not None:
                missing = {"resource", "key", "value"} - set(d.attr)
                if missing:
                    p.append((f"tickets[{i}].done_when[{j}].attr", f"missing {sorted(missing)}"))
                else:
                    resource(f"tickets[{i}].done_when[{j}].attr.resource", str(d.attr["resource"]))
    for i, ag in enumerate(spec.agents):
        if ag.role == "agent":
            ident(f"agents[{i}].identity", ag.identity, "agent")
        elif ag.identity in idents and idents[ag.identity].kind == "agent":
            p.append((f"agents[{i}].identity", "an attacker is an outside identity, not one of the agents"))
        else:
            ident(f"agents[{i}].identity", ag.identity)
        for tid in ag.plans:
            if tid not in tickets:
                p.append((f"agents[{i}].plans.{tid}", f"unknown ticket {quote(tid)}"))
        steps = [(f"agents[{i}].plan[{j}]", s) for j, s in enumerate(ag.plan)]
        steps += [(f"agents[{i}].plans.{t}[{j}]", s) for t, ps in ag.plans.items() for j, s in enumerate(ps)]
        while steps:  # depth first, in file order
            path, s = steps.pop(0)
            if s.tool not in CATALOG and s.tool not in CONTROL_STEPS:
                p.append((f"{path}.tool", f"unknown tool {quote(s.tool)}"))
            p += _check_step(path, s, args)
            steps[:0] = [(f"{path}.on_deny[{k}]", sub) for k, sub in enumerate(s.on_deny)]
    if sum(a.learner for a in spec.agents) > 1:
        p.append(("agents", "at most one agent can be the learner"))
    attackers = {a.identity for a in spec.agents if a.role == "attacker"}
    for i, e in enumerate(spec.events):
        p += _event_problems(i, e, idents, attackers)
    for i, idn in enumerate(spec.identities):
        if idn.acts_as is not None:
            if idn.kind != "agent":
                p.append((f"identities[{i}].acts_as", "only agents act as a service account"))
            ident(f"identities[{i}].acts_as", idn.acts_as, "service_account")
    parents = {t.id: t.parent for t in spec.tickets}
    for i, t in enumerate(spec.tickets):
        if t.parent is not None and t.parent not in tickets:
            p.append((f"tickets[{i}].parent", f"unknown ticket {quote(t.parent)}"))
        seen, up = {t.id}, t.parent
        while up is not None and up in parents:
            if up in seen:
                why = "is its own ancestor" if up == t.id else f"has ancestors that form a cycle (through {quote(up)})"
                p.append((f"tickets[{i}].parent", f"ticket {quote(t.id)} {why}"))
                break
            seen.add(up)
            up = parents[up]
        if t.on_invoke and t.parent is None:
            p.append((f"tickets[{i}].on_invoke", "an on_invoke ticket needs a parent"))
    if not any(i.kind == "agent" for i in spec.identities):
        p.append(("identities", "a scenario needs at least one agent"))
    return p
