"""The oracle's plans: each ticket's intended actions as calls, with ``"*"`` arguments filled in where the ticket pins them.

An intent step matches calls, so it may leave an argument open (``"*"``, or left out). The
oracle agent (the validity checks' safe path) must make a concrete call; for an open argument
it takes the value the ticket pins down:

1. the values for which the call makes one of the ticket's ``done_when`` predicates hold that
   does not hold yet (found by computing the tool's effect on the named estate: a grant or
   revocation of that identity and resource, an attribute set to that value), one call per
   predicate so achieved; else
2. the only value the scenario names for it (the only ``idp`` group, an enum's only value),
   when every open argument is an identity, a resource or an enum.

Candidates are the scenario's named identities, its named resources of the argument's type on
the tool's system (agent endpoints included), enum values, and for free text the strings the
ticket's ``attr`` predicates name. A step no value or several values fit is left out of the
plan, and reported as a gap (``tickets[i].intent[j]: ...``), which ``simenv check`` shows when
the oracle then fails to complete the ticket. The plan is computed on a scratch copy of the
named estate (no filler), stepping through the ticket's intent in order; nothing here touches
the episode's world.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from simenv.agents.base import COMPLETE
from simenv.agents.scripted import PlanStep
from simenv.errors import SimenvError, ToolCallError
from simenv.scenario.loader import ANY
from simenv.scenario.schema import TicketSpec
from simenv.world.catalog import CATALOG, resolve
from simenv.world.changes import AttrChange, Change, GrantChange
from simenv.world.model import DoneWhen
from simenv.world.state import World
from simenv.world.tools import IDENTITY, LIFETIME, TEXT, CallContext, Param, ToolSpec

MAX_COMBINATIONS = 20_000
"""Open arguments whose candidate combinations exceed this are not searched (reported as a gap)."""


@dataclass(frozen=True, slots=True)
class OraclePlan:
    """The oracle's calls for one ticket (ending with ``complete_ticket``) and the intent steps it could not make."""

    steps: tuple[PlanStep, ...]
    gaps: tuple[str, ...] = ()


def _makes_hold(change: Change, d: DoneWhen) -> bool:
    if isinstance(change, GrantChange):
        return (d.kind in ("grant", "no_grant") and (change.identity, change.resource) == (d.identity, d.resource)
                and change.present == (d.kind == "grant"))
    if isinstance(change, AttrChange):
        return d.kind == "attr" and (change.resource, change.key) == (d.resource, d.key) and change.new == d.value
    return False


def _free(p: Param) -> bool:
    """Free text or a lifetime: no finite set of names to choose from."""
    return p.kind == LIFETIME or (p.kind == TEXT and not p.enum)


def _candidates(world: World, spec: ToolSpec, p: Param, n_idents: int, texts: Sequence[str]) -> list[str]:
    if p.kind == IDENTITY:
        return [i.name for i in world.identities[:n_idents]]
    if p.kind == TEXT:
        return list(p.enum) if p.enum else list(texts)
    if p.kind == LIFETIME:
        return []
    return [r.name for r in world.resources if r.type.value == p.kind and r.system is spec.system]


class _Planner:
    """Plans one ticket on a scratch world."""

    def __init__(self, world: World, actor: int, done_when: Sequence[DoneWhen], n_idents: int, texts: Sequence[str]):
        self.world, self.actor, self.done_when, self.n_idents, self.texts = world, actor, done_when, n_idents, texts
        self.me = world.identities[actor].name

    def effect(self, tool: str, args: dict[str, str]) -> list[Change] | None:
        """The changes the call would make now, or ``None`` if it is malformed."""
        try:
            rc = resolve(self.world, tool, args, self.me)
        except ToolCallError:
            return None
        return rc.spec.effect(CallContext(self.world, self.actor, 0), **rc.args).changes

    def apply(self, changes: list[Change]) -> None:
        try:
            self.world.apply_all(changes)
        except SimenvError:  # a change that does not fit the scratch state: later steps see it as it was
            pass

    def achieves(self, changes: list[Change]) -> bool:
        unmet = [d for d in self.done_when if not self.world.holds(d)]
        return any(_makes_hold(c, d) for c in changes for d in unmet)

    def step(self, where: str, tool: str, given: dict[str, str]) -> tuple[list[dict[str, str]], str | None]:
        """The calls for one intent step, or a gap message."""
        spec = CATALOG[tool]
        open_ = [p for p in spec.params if given.get(p.name, ANY) == ANY]
        fixed = {k: v for k, v in given.items() if v != ANY}
        if not open_:
            changes = self.effect(tool, fixed)
            if changes is not None:
                self.apply(changes)
            return [fixed], None
        names = ", ".join(p.name for p in open_)
        pools = [_candidates(self.world, spec, p, self.n_idents, self.texts) for p in open_]
        size = 1
        for pool in pools:
            size *= len(pool)
        if size > MAX_COMBINATIONS:
            return [], (f"{where}: the oracle cannot fill {names} ({tool}, '*' or left out): {size} combinations of "
                        "named values fit, too many to search; name the values")
        combos = [{**fixed, **dict(zip((p.name for p in open_), c, strict=True))} for c in itertools.product(*pools)]
        calls = []
        for args in combos:
            changes = self.effect(tool, args)
            if changes is not None and self.achieves(changes):
                calls.append(args)
                self.apply(changes)
        if calls:
            return calls, None
        if len(combos) == 1 and not any(_free(p) for p in open_):
            changes = self.effect(tool, combos[0])
            if changes is not None:
                self.apply(changes)
            return combos, None
        free = [p.name for p in open_ if _free(p)]
        if size:
            why = f"{size} combinations of named values fit and no done_when predicate chooses one"
        elif free:
            why = f"{', '.join(free)} is free text or a lifetime, which only a done_when attr predicate can pin down"
        else:
            why = "no named value fits"
        return [], f"{where}: the oracle cannot fill {names} of {tool} ('*' or left out): {why}; name the value"


def oracle_plan(ticket: TicketSpec, index: int, done_when: Sequence[DoneWhen], actor: int, n_idents: int,
                scratch: Callable[[], World]) -> OraclePlan:
    """The oracle's plan for ``ticket`` (``tickets[index]`` of the file), computed on a fresh ``scratch()`` world."""
    if all(set(a.args) == {p.name for p in CATALOG[a.tool].params} and ANY not in a.args.values() for a in ticket.intent):
        return OraclePlan((*(PlanStep(a.tool, dict(a.args)) for a in ticket.intent), PlanStep(COMPLETE)))
    texts = list(dict.fromkeys(s for d in done_when if d.kind == "attr"
                               for s in (d.value, d.key.split(":", 1)[-1]) if isinstance(s, str)))
    planner = _Planner(scratch(), actor, done_when, n_idents, texts)
    steps: list[PlanStep] = []
    gaps: list[str] = []
    for j, a in enumerate(ticket.intent):
        calls, gap = planner.step(f"tickets[{index}].intent[{j}]", a.tool, dict(a.args))
        steps += [PlanStep(a.tool, args) for args in calls]
        if gap:
            gaps.append(gap)
    return OraclePlan((*steps, PlanStep(COMPLETE)), tuple(gaps))
