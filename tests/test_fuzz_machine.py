"""A hypothesis state machine over one episode: random calls, ticks, events and approvals, checked after each.

Invariants (with :class:`~simenv.testing.invariants.InvariantChecker` watching every operation):
no world change without an allow, exactly one record per call, the audit log whole, and a
rollback of every call since a mark restores the grants and attributes of the mark.

CI runs a derandomized profile (the same examples on every run); ``SIMENV_FUZZ_FULL=1`` runs a
long, randomized one.
"""

import os

from conftest import PAIRS
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from simenv.agents.adversary import MADE_UP_CREDENTIALS, UNICODE
from simenv.scenario.schema import EventSpec
from simenv.sim.events import run_event
from simenv.sim.factory import make_episode
from simenv.sim.records import CallRecord
from simenv.testing.invariants import InvariantChecker
from simenv.types import IdentityKind, Outcome, ToolCall
from simenv.world.catalog import CATALOG
from simenv.world.inputs import MAX_TEXT_CHARS
from simenv.world.tools import IDENTITY, LIFETIME, TEXT

FULL = os.environ.get("SIMENV_FUZZ_FULL") == "1"
SETTINGS = settings(max_examples=2000 if FULL else 200, stateful_step_count=120 if FULL else 60,
                    derandomize=not FULL, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))
TOOLS = sorted(CATALOG)
CONTROL = ("complete_ticket", "abort_ticket")
ODD = st.one_of(st.integers(-3, 2**65), st.floats(allow_nan=True), st.booleans(), st.none(),
                st.lists(st.text(max_size=3), max_size=2), st.dictionaries(st.text(max_size=3), st.text(max_size=3),
                                                                          max_size=2))
TEXTS = st.one_of(st.text(max_size=20), st.sampled_from(UNICODE),
                  st.integers(MAX_TEXT_CHARS, MAX_TEXT_CHARS + 2).map("A".__mul__),  # at and over the limit
                  st.text(st.characters(codec=None, categories=["Cs", "Cc"]), min_size=1, max_size=4))


def _flat(steps):
    for s in steps:
        yield s
        yield from _flat(s.on_deny)


class EpisodeMachine(RuleBasedStateMachine):
    """One episode of a shipped scenario and profile; every agent's calls come from hypothesis."""

    @initialize(pair=st.sampled_from(PAIRS), seed=st.integers(0, 3))
    def start(self, pair, seed):
        self.engine, _ = make_episode(pair[0], pair[1], seed, "null")  # the agents wait: the machine calls
        self.checker = InvariantChecker(self.engine)
        self.ep = self.engine.state
        w = self.ep.world
        self.identities = [i.name for i in w.identities[:40]] + [a.name for a in w.agents()]
        self.humans = [i.name for i in w.identities if i.kind is IdentityKind.HUMAN][:20]
        self.by_kind = {}
        for r in w.resources[:200]:
            self.by_kind.setdefault((r.system, r.type.value), []).append(r.name)
        self.mark = None  # (tick since which calls are rolled back, grants, attrs)
        self.plans = {}  # each agent's scripted and intended calls: valid, in scope and out of it
        for name, ctx in sorted(self.engine.built.contexts.items()):
            steps = [s for plans in (ctx.plans, ctx.oracle) for _, plan in sorted(plans.items(), key=str)
                     for s in _flat(plan)]
            self.plans[name] = [ToolCall(s.tool, dict(s.args), justification=s.justification) for s in steps
                                if s.tool in CATALOG] or [ToolCall("complete_ticket", {})]

    # ------------------------------------------------------------------ calls
    def _names(self, spec, p):
        if p.kind == IDENTITY:
            return [*self.identities, "$self"]
        if p.kind == TEXT:
            return list(p.enum) or ["a value", "note"]
        if p.kind == LIFETIME:
            return ["60", "1", "never", "0", "x"]
        return self.by_kind.get((spec.system, p.kind)) or ["missing"]

    def _call(self, data, ag):
        """A call: well formed on the estate's names (modes 0-5, what shrinking tends to), odd (6-7) or junk (8-9)."""
        mode = data.draw(st.integers(0, 9), label="mode")
        if mode >= 8:
            tool = data.draw(st.one_of(st.sampled_from(TOOLS), ODD, TEXTS), label="tool")
            args = data.draw(st.one_of(st.dictionaries(st.one_of(st.sampled_from(["table", "role", "identity",
                                                                                   "_credential"]), TEXTS),
                                                       st.one_of(TEXTS, ODD), max_size=4), ODD), label="args")
            return ToolCall(tool, args, credential=data.draw(st.one_of(st.none(), st.sampled_from(MADE_UP_CREDENTIALS),
                                                                       ODD)), justification=data.draw(st.one_of(TEXTS, ODD)))
        tool = data.draw(st.sampled_from(TOOLS + list(CONTROL)), label="tool")
        spec = CATALOG.get(tool)
        args = {} if spec is None else {p.name: data.draw(st.sampled_from(self._names(spec, p)), label=p.name)
                                        for p in spec.params}
        own = [f"cred-{c.id}" for _, c in sorted(self.ep.world.creds.items()) if c.holder == ag.idx]
        cred = data.draw(st.sampled_from([None, None, None, *own[-2:]]), label="credential") if spec else None
        why = data.draw(st.sampled_from([None, "for the ticket", "urgent"]), label="why")
        if mode >= 6:  # one piece odd: a value, a presented credential, the justification or an extra argument
            which = data.draw(st.integers(0, 3), label="odd piece")
            top = max(self.ep.world.creds, default=0) + 3
            if which == 0 and args:
                args[data.draw(st.sampled_from(sorted(args)))] = data.draw(st.one_of(TEXTS, ODD), label="odd value")
            elif which == 1:
                cred = data.draw(st.one_of(st.integers(0, top).map("cred-{}".format), st.sampled_from(MADE_UP_CREDENTIALS),
                                           ODD), label="odd credential")
            elif which == 2:
                why = data.draw(st.one_of(TEXTS, ODD), label="odd why")
            else:
                args[data.draw(TEXTS, label="extra name")] = "x"
        return ToolCall(tool, args, credential=cred, justification=why)

    @rule(data=st.data(), n=st.integers(1, 6))
    def calls(self, data, n):
        for _ in range(n):
            if self.engine.finished:
                return
            ag = data.draw(st.sampled_from(self.engine.states), label="agent")
            self.engine.open_ticket(ag)
            if ag.current is None and data.draw(st.booleans(), label="call without a ticket"):
                continue
            rec = self.engine.handle(ag, self._call(data, ag))
            event(f"call: {getattr(rec, 'effect', 'control')}")

    @rule(data=st.data(), n=st.integers(1, 6))
    def plan_calls(self, data, n):
        for _ in range(n):
            if self.engine.finished:
                return
            ag = data.draw(st.sampled_from(self.engine.states), label="agent")
            self.engine.open_ticket(ag)
            rec = self.engine.handle(ag, data.draw(st.sampled_from(self.plans[ag.name]), label="plan call"))
            event(f"plan call: {getattr(rec, 'effect', 'control')}")

    @rule(n=st.integers(1, 3))
    def tick(self, n):
        for _ in range(n):
            if self.engine.finished or self.engine.step():
                break

    @rule(data=st.data())
    def approve_now(self, data):
        waiting = [s for s in self.engine.states if s.pending is not None]
        if self.engine.finished or not waiting:
            return
        rec = self.engine.mediator.resolve_approval(data.draw(st.sampled_from(waiting), label="approve"))
        event(f"approval: {rec.effect}")

    # ------------------------------------------------------------------ events
    def _event(self, kind, agent=None, **params):
        return run_event(self.ep, EventSpec(tick=self.ep.tick, kind=kind, agent=agent, params=params))

    @rule(data=st.data())
    def lifecycle(self, data):
        if self.engine.finished:
            return
        kind = data.draw(st.sampled_from(["identity_disabled", "identity_enabled", "owner_offboarded",
                                          "session_end", "steal_credential"]), label="event")
        if kind == "session_end":
            self._event(kind, data.draw(st.sampled_from(self.engine.states)).name)
        elif kind == "steal_credential":
            if self.ep.attackers:
                attacker = data.draw(st.sampled_from(sorted(self.ep.attackers)))
                self._event(kind, data.draw(st.sampled_from(self.engine.states)).name, attacker=attacker,
                            which=data.draw(st.sampled_from(["newest", "broker", "stored"])))
        elif kind == "owner_offboarded":
            if self.humans:
                self._event(kind, identity=data.draw(st.sampled_from(self.humans)))
        else:
            self._event(kind, identity=data.draw(st.sampled_from(self.identities)))

    @rule(scope=st.sampled_from(["suspicious", "out_of_scope", "all"]), since=st.integers(0, 40))
    def rollback(self, scope, since):
        if self.engine.finished:
            return
        ticks = {s: e.tick for s, e in self.ep.undo.items()}
        rec = self._event("rollback", scope=scope, since=since)
        if self.mark is not None and any(ticks[s] < self.mark[0] for s in rec.result["undone"]):
            self.mark = None  # it undid a call older than the mark: the mark's state is no longer reachable

    @rule()
    def set_mark(self):
        if self.engine.finished or self.engine.step():
            return
        w = self.ep.world
        self.mark = (self.ep.tick, {i: set(rs) for i, rs in w.by_identity.items() if rs}, dict(w.attrs))

    @rule()
    def rollback_since_mark(self):
        if self.mark is None or self.engine.finished:
            return
        since, grants, attrs = self.mark
        rec = self._event("rollback", scope="all", since=since)
        w = self.ep.world
        event(f"rollback since the mark: {len(rec.result['undone'])} undone, {len(rec.result['not_undone'])} not")
        if not rec.result["not_undone"]:  # every call since the mark undone whole: its grants and attributes are back
            assert {i: rs for i, rs in w.by_identity.items() if rs} == grants, "rollback did not restore the grants"
            assert w.attrs == attrs, "rollback did not restore the attributes"
        self.mark = None

    @rule()
    def observe(self):
        for s in self.engine.states:  # what an agent may see: always available, even after the end
            obs = self.engine.observe(s)
            assert obs.pending_approval == (s.pending is not None)

    # ------------------------------------------------------------------ invariants
    @invariant()
    def nothing_found(self):
        if hasattr(self, "checker"):
            assert not self.checker.violations, self.checker.violations[:3]
            recs = self.ep.audit.records
            for s in self.engine.states:  # a waiting agent waits on a call that is pending and not yet settled
                if s.pending is not None:
                    r = recs[s.pending.seq]
                    assert type(r) is CallRecord and r.effect is Outcome.PENDING and r.agent == s.name

    def teardown(self):
        if hasattr(self, "checker"):
            found = self.checker.finish()
            assert not found, found[:3]


EpisodeMachine.TestCase.settings = SETTINGS
TestEpisodeMachine = EpisodeMachine.TestCase
