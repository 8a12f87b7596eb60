"""Build an episode's world, tickets and agent contexts from a spec and a seed.

Everything a scenario builds is a function of its spec, its estate size and its estate seed
(``estate.seed``, by default fixed, so that every episode of a scenario runs in one estate). It
is built once per process and kept as a template, keyed by the spec's content; each episode gets
the template's immutable parts and a :meth:`~simenv.world.state.World.fresh` world.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from simenv.agents.base import AgentContext
from simenv.agents.scripted import PlanStep
from simenv.gcpause import paused_gc
from simenv.rng import Streams
from simenv.scenario.oracle import oracle_plan
from simenv.scenario.schema import EventSpec, ScenarioSpec, StepSpec
from simenv.types import IdentityKind, ResourceType, RiskClass, System
from simenv.world.generator import generate
from simenv.world.model import DeclaredScope, DoneWhen, Identity, IntentStep, Permission, Resource, Ticket, TicketTruth
from simenv.world.state import World


@dataclass
class BuiltScenario:
    """Everything an engine needs for one episode.

    ``tickets`` are what governance and agents may see; ``truth`` holds each ticket's exact intent
    and completion predicate, for scoring only. Everything but ``world`` is shared by the episodes
    built from one template: read it, never change it.
    """

    spec: ScenarioSpec
    path: Path | None
    world: World
    tickets: list[Ticket]
    truth: dict[str, TicketTruth]
    agents: list[int]
    contexts: dict[str, AgentContext]
    events: list[EventSpec] = field(default_factory=list)
    learner: str = ""
    max_ticks: int = 40
    attackers: dict[str, tuple[PlanStep, ...]] = field(default_factory=dict)
    oracle_gaps: tuple[str, ...] = ()
    """Intent steps the oracle cannot make (an open argument nothing pins down), as ``field: message`` lines."""


def _step(s: StepSpec) -> PlanStep:
    return PlanStep(s.tool, dict(s.args), tuple(_step(x) for x in s.on_deny), credential=s.credential,
                    justification=s.justification)


TEMPLATES = 64
"""How many built scenarios a process keeps (the least recently used goes first)."""
_templates: collections.OrderedDict[tuple[str, str, int, int], BuiltScenario] = collections.OrderedDict()
_keys: collections.OrderedDict[int, tuple[ScenarioSpec, str]] = collections.OrderedDict()


def estate_seed(spec: ScenarioSpec, seed: int) -> int:
    """The seed of the generated estate: ``estate.seed``, or the episode seed if it is ``"episode"``."""
    return seed if spec.estate.seed == "episode" else int(spec.estate.seed)


def _content_key(spec: ScenarioSpec) -> str:
    """The SHA-256 of the spec's canonical JSON, remembered per (frozen) spec object."""
    hit = _keys.get(id(spec))
    if hit is not None and hit[0] is spec:
        _keys.move_to_end(id(spec))
        return hit[1]
    key = hashlib.sha256(spec.model_dump_json().encode()).hexdigest()
    _keys[id(spec)] = (spec, key)  # holding the spec keeps its id from being reused
    if len(_keys) > TEMPLATES:
        _keys.popitem(last=False)
    return key


def build(spec: ScenarioSpec, seed: int, path: Path | None = None, size: int | None = None) -> BuiltScenario:
    """Build the scenario for the episode ``seed``; ``size`` overrides the estate size.

    Served from the process's templates when this spec (by content), path, size and estate seed
    were built before: the world is fresh, everything else is shared and never changed.
    """
    n = spec.estate.size if size is None else size
    key = (_content_key(spec), str(path), n, estate_seed(spec, seed))
    tpl = _templates.get(key)
    if tpl is None:
        with paused_gc():  # a large estate is a million new objects: see simenv.gcpause
            tpl = _templates[key] = _build(spec, key[3], path, n)
        if len(_templates) > TEMPLATES:
            _templates.popitem(last=False)
    else:
        _templates.move_to_end(key)
    return dataclasses.replace(tpl, world=tpl.world.fresh())


def _build(spec: ScenarioSpec, estate: int, path: Path | None, n: int) -> BuiltScenario:
    streams = Streams(estate)
    names = [i.name for i in spec.identities]
    ix = {n: k for k, n in enumerate(names)}
    td = spec.estate.trust_domain
    idents = [
        Identity(
            k, i.name, IdentityKind(i.kind), ix.get(i.owner) if i.owner else None, i.purpose, i.trust_tier, i.shared,
            f"spiffe://{i.tenant or td}/{i.kind}/{i.name}",
            ix[i.acts_as] if i.acts_as else None, i.tenant or "",
        )
        for k, i in enumerate(spec.identities)
    ]
    rx = {r.name: k for k, r in enumerate(spec.resources)}
    resources = []
    attrs: dict[tuple[int, str], object] = {}
    for k, r in enumerate(spec.resources):
        perms = tuple(
            Permission(
                System(p.system), frozenset(RiskClass(x) for x in p.risks),
                frozenset(ResourceType(t) for t in p.types) if p.types is not None else None,
                frozenset(rx[n] for n in p.resources) if p.resources is not None else None,
            )
            for p in r.permissions
        )
        resources.append(
            Resource(
                k, r.name, ResourceType(r.type), System(r.system), ix.get(r.owner) if r.owner else None,
                float(r.sensitivity), perms, tuple(rx[n] for n in r.roles),
                ix[r.yields] if r.yields else None, frozenset(RiskClass(x) for x in r.yields_via),
                r.tenant or spec.estate.system_tenants.get(r.system, ""), frozenset(r.marks),
            )
        )
        for key, value in r.attrs.items():
            attrs[(k, key)] = value
    # every agent is reachable as an endpoint in the directory: invoking it is an escalation edge
    for i in idents:
        if i.kind is IdentityKind.AGENT and i.name not in rx:
            rx[i.name] = len(resources)
            resources.append(Resource(len(resources), i.name, ResourceType.AGENT, System.IDP, i.owner,
                                      1.0 + 2.0 * i.trust_tier, yields=i.idx,
                                      yields_via=frozenset({RiskClass.AGENT_INVOKE}), tenant=i.tenant))
    grants = [(ix[g.identity], rx[g.resource]) for g in spec.grants]
    filler = generate(n, streams.child("estate"), len(idents), len(resources))
    legacy = frozenset(System(s) for s in spec.estate.legacy_systems)
    world = World(td, idents + filler.identities, resources + filler.resources, grants + filler.grants, attrs, legacy)

    def named_estate() -> World:  # a scratch copy of the named estate, for planning the oracle's calls
        return World(td, idents, resources, grants, attrs, legacy)

    tickets = []
    truth: dict[str, TicketTruth] = {}
    for t in spec.tickets:
        done = []
        for d in t.done_when:
            if d.grant is not None:
                done.append(DoneWhen("grant", ix[d.grant.identity], rx[d.grant.resource]))
            elif d.no_grant is not None:
                done.append(DoneWhen("no_grant", ix[d.no_grant.identity], rx[d.no_grant.resource]))
            elif d.attr is not None:
                done.append(DoneWhen("attr", None, rx[str(d.attr["resource"])], str(d.attr["key"]), d.attr["value"]))
        tickets.append(
            Ticket(
                t.id, ix[t.assignee], ix.get(t.owner) if t.owner else None, t.text,
                DeclaredScope(frozenset(System(s) for s in t.scope.systems), frozenset(RiskClass(x) for x in t.scope.risks)),
                t.opens_at, t.parent, t.on_invoke,
            )
        )
        truth[t.id] = TicketTruth(tuple(IntentStep(a.tool, tuple(sorted(a.args.items()))) for a in t.intent), tuple(done))
    agents = [i.idx for i in idents if i.kind is IdentityKind.AGENT]
    by_agent = {a.identity: a for a in spec.agents if a.role == "agent"}
    attackers = {a.identity: tuple(_step(s) for s in a.plan) for a in spec.agents if a.role == "attacker"}
    contexts = {}
    gaps: dict[int, tuple[str, ...]] = {}
    for a in agents:
        name = idents[a].name
        aspec = by_agent.get(name)
        plans: dict[str | None, tuple[PlanStep, ...]] = {}
        if aspec is not None:
            plans[None] = tuple(_step(s) for s in aspec.plan)
            plans.update({tid: tuple(_step(s) for s in steps) for tid, steps in aspec.plans.items()})
        oracle: dict[str | None, tuple[PlanStep, ...]] = {}
        for k, t in enumerate(spec.tickets):
            if t.assignee == name:
                planned = oracle_plan(t, k, truth[t.id].done_when, a, len(idents), named_estate)
                oracle[t.id] = planned.steps
                gaps[k] = planned.gaps
        contexts[name] = AgentContext(name, plans, oracle, tuple(aspec.knowledge) if aspec else ())
    learner = next((a.identity for a in spec.agents if a.learner), "")
    if not learner:
        learner = next((idents[t.assignee].name for t in tickets), idents[agents[0]].name)
    return BuiltScenario(spec, path, world, tickets, truth, agents, contexts, list(spec.events), learner, spec.max_ticks,
                         attackers, tuple(g for k in sorted(gaps) for g in gaps[k]))
