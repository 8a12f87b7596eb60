"""The loop: no bypass, every call audited, invalid calls logged, approvals, monitors."""

from pathlib import Path

import pytest
from conftest import PAIRS, POLICIES
from hypothesis import given, settings
from hypothesis import strategies as st

from simenv import metrics, run_episode
from simenv.agents.scripted import ScriptedAgent
from simenv.governance.protocols import ApprovalOutcome, MonitorAction
from simenv.governance.request import Decision
from simenv.sim.factory import make_episode as make_engine
from simenv.sim.records import CallRecord, ControlRecord, CredentialRecord, MonitorRecord
from simenv.types import Effect, ToolCall
from simenv.world.catalog import CATALOG

GARBAGE = [None, 7, [], {"a": 1}, "", "nope", "$self", "payments", "bob", "db-admin", "eng-readers", "x" * 300]


def call_strategy():
    tool = st.one_of(st.sampled_from(sorted(CATALOG) + ["complete_ticket", "abort_ticket"]),
                     st.sampled_from(GARBAGE))
    value = st.sampled_from(GARBAGE)
    args = st.one_of(
        st.dictionaries(st.sampled_from(["table", "identity", "group", "role", "secret", "key", "pipeline",
                                         "rule", "state", "domain", "value", "name", "junk"]), value, max_size=4),
        st.sampled_from([None, [], "args", 3]),
    )
    cred = st.sampled_from([None, None, None, "cred-1", "cred-99", 5])
    return st.builds(ToolCall, tool, args, cred)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(PAIRS), st.lists(call_strategy(), min_size=1, max_size=25), st.integers(0, 3))
def test_no_world_change_without_allow_and_every_call_audited(pair, calls, seed):
    scenario, policy = pair
    engine, _ = make_engine(scenario, policy, seed)
    st_ = engine.states[0]
    engine.open_ticket(st_)
    for call in calls:
        if st_.current is None:
            engine.open_ticket(st_)
            if st_.current is None:
                break
        before_world = engine.world.fingerprint()
        n = len(engine.audit)
        rec = engine.handle(st_, call)
        new = engine.audit.records[n:]
        kinds = [type(r) for r in new]
        assert kinds.count(CallRecord) + kinds.count(ControlRecord) == 1, "exactly one record per call"
        assert any(r is rec for r in new)
        if engine.world.fingerprint() != before_world:
            broker_only = all(isinstance(r, CredentialRecord) and r.cause.startswith(("broker", "ticket"))
                              for r in new if r is not rec)
            applied = isinstance(rec, CallRecord) and rec.decision == "allow" and rec.effect == "applied"
            assert applied or isinstance(rec, ControlRecord) or broker_only, rec
    engine.finish()
    assert metrics.audit_complete(engine.audit)


@pytest.mark.parametrize("garbage", [
    ToolCall(None, None), ToolCall(42, {}), ToolCall("db_query", []), ToolCall("db_query", {"table": 5}),
    ToolCall("db_query", {"table": "no-such-table"}), ToolCall("db_query", {}),
    ToolCall("db_query", {"table": "payments", "extra": "x"}), ToolCall("idp_assign_role", {"role": "payments",
                                                                                             "identity": "bob"}),
    ToolCall("rm -rf /", {"a": object()}), ToolCall("db_query", {"table": "payments"}, credential="cred-404"),
])
def test_malformed_calls_become_invalid_decisions(garbage):
    engine, _ = make_engine("scope_creep", "allow_all", 0)
    st_ = engine.states[0]
    engine.open_ticket(st_)
    before = engine.world.fingerprint()
    rec = engine.handle(st_, garbage)
    assert rec.decision == "invalid" and rec.effect == "invalid" and rec.reasons
    assert engine.world.fingerprint() == before
    engine.finish()
    assert metrics.compute(engine.audit)["invalid_calls"] == 1


class _Garbage:
    name = "garbage"

    def reset(self, identity, tools, rng):
        self.rng = rng

    def act(self, obs):
        pick = int(self.rng.integers(0, len(GARBAGE)))
        return ToolCall(GARBAGE[pick], {"x": GARBAGE[-pick]})


def test_an_agent_emitting_garbage_never_crashes_a_run():
    r = run_episode("scope_creep", "static_rbac", seed=1, agent=_Garbage())
    assert r.scores["invalid_calls"] > 0
    assert r.scores["audit_complete"]
    assert r.scores["violations_executed"] == 0


def test_scope_creep_baselines():
    for seed in range(5):
        assert run_episode("scope_creep", "allow_all", seed=seed).scores["violations_executed"] > 0
    d = run_episode("scope_creep", "deny_all", seed=1).scores
    assert not d["task_success"] and d["friction_rate"] == 1
    z = run_episode("scope_creep", "allow_all", seed=1, agent="null").scores
    assert not z["task_success"] and z["violations_attempted"] == 0


def test_oracle_completes_without_violations():
    for s in ("delegated_admin", "scope_creep"):
        r = run_episode(s, "allow_all", seed=0, agent="oracle").scores
        assert r["task_success"] and r["violations_attempted"] == 0


@pytest.mark.parametrize("policy", POLICIES)
def test_same_inputs_same_fingerprint(policy):
    a = run_episode("scope_creep", policy, seed=4).scores["fingerprint"]
    b = run_episode("scope_creep", policy, seed=4).scores["fingerprint"]
    c = run_episode("scope_creep", policy, seed=5).scores["fingerprint"]
    assert a == b != c


def _canonical_or_error(rec):
    from simenv.sim.records import _CANONICAL, to_json

    try:
        return _CANONICAL.encode(to_json(rec))
    except (ValueError, TypeError) as e:
        return type(e)


def _line_or_error(rec):
    from simenv.sim.records import line

    try:
        return line(rec)
    except (ValueError, TypeError) as e:
        return type(e)


@pytest.mark.parametrize("agent", [None, "adversary"])
def test_a_records_line_is_the_canonical_json_of_its_object_for_every_record_of_every_pair(agent):
    seen = 0
    for scenario, policy in PAIRS:
        for rec in run_episode(scenario, policy, seed=1, agent=agent).audit:
            assert _line_or_error(rec) == _canonical_or_error(rec), (scenario, policy, rec.seq)
            seen += 1
    assert seen > 1500


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(tool=_JSON, args=st.dictionaries(st.text(max_size=6), _JSON, max_size=4), weight=st.none() | st.floats(),
       text=st.none() | st.text(), output=st.none() | st.dictionaries(st.text(max_size=6), _JSON, max_size=3),
       flags=st.lists(st.text(max_size=8), max_size=3), step=st.none() | st.integers(min_value=-2**70, max_value=2**70))
def test_a_records_line_is_its_canonical_json_whatever_its_fields_hold(tool, args, weight, text, output, flags, step):
    from simenv.types import Outcome

    rec = CallRecord(seq=3, tick=2, agent=text or "", tool=tool, args=args, affected_weight=weight, justification=text,
                     output=output, flags=flags, intent_step=step, decision=Effect.ALLOW, effect=Outcome.APPLIED,
                     chain=[text or "", "\x7f\u00e9\n"], in_scope=True if step is None else None)
    assert _line_or_error(rec) == _canonical_or_error(rec)  # the same text, or the same error (NaN, a bad key)
    rec.decision, rec.effect, rec.approval, rec.session = None, tool, None, step  # type: ignore[assignment]
    assert _line_or_error(rec) == _canonical_or_error(rec)  # whatever a field was set to afterwards


# -- the approval and monitor seams, exercised with small implementations of their protocols
class _NeedsApproval:
    name = "needs_approval"

    def prepare(self, world, tickets):
        pass

    def authorize(self, req):
        if req.approval == "granted":
            return Decision(Effect.ALLOW, ("approved",), ("t.approved",))
        return Decision(Effect.REQUIRE_APPROVAL, ("privileged",), ("t.gate",))


class _Approver:
    """Approves what shows no discrepancy a reviewer would object to (it never sees the intent)."""

    def __init__(self, grant):
        self.grant = grant

    def submit(self, review, tick):
        assert not hasattr(review, "in_intent") and not hasattr(review.request, "in_intent")
        wrong = {"out_of_scope", "self_target", "unmentioned_target"} & set(review.flags)
        return ApprovalOutcome(self.grant and not wrong, tick + 3, 5.0, ("alice",))


class _HaltOutOfScope:
    name = "halt_out_of_scope"

    def observe(self, ev):
        assert not hasattr(ev, "in_intent") and not hasattr(ev, "affected"), "monitors must not see ground truth"
        if ev.in_scope is False:
            return [MonitorAction("halt", ev.agent, self.name, "out of declared scope")]
        return []


def _engine_with(gov_mut, profile="allow_all", scenario="scope_creep"):
    engine, _ = make_engine(scenario, profile, 0)
    gov_mut(engine.gov)
    return engine


def test_approval_flow_waits_and_applies():
    def mut(g):
        g.authorizer = _NeedsApproval()
        g.approvals = _Approver(True)

    engine = _engine_with(mut)
    audit = engine.run()
    s = metrics.compute(audit)
    assert s["approvals_requested"] >= 2
    assert s["approval_wait_ticks"] >= 3 * s["approvals_requested"] - 3
    assert s["task_success"]  # the calls the ticket asks for were approved
    assert s["violations_executed"] == 0  # scope_creep's overreach shows: refused by the approver
    assert s["audit_complete"]


def test_monitor_halts_and_revokes():
    def mut(g):
        g.monitors = [_HaltOutOfScope()]

    engine = _engine_with(mut, "static_rbac")
    audit = engine.run()
    mons = audit.of_kind(MonitorRecord)
    assert mons and mons[0].action == "halt" and mons[0].revoked
    revoked = [r for r in audit.of_kind(CredentialRecord) if r.op == "revoke"]
    assert revoked
    s = metrics.compute(audit)
    assert s["residual_exposure"] == 0
    assert s["time_to_revoke"] == 0
    assert not s["task_success"]  # halted before it could finish


class _Sloppy:
    """Returns whatever a careless integration might: dicts in two shapes, strings, numbers."""

    name = "sloppy"

    def reset(self, identity, tools, rng):
        self.n = 0

    def act(self, obs):
        self.n += 1
        outs = [{"type": "function", "function": {"name": "db_query", "arguments": '{"table": "payments"}'}},
                {"name": "db_grant_access", "arguments": {"table": "payments", "identity": "bob"}},
                "db_query(table=payments)", 42, {"function": "nope"}, ToolCall("complete_ticket", {})]
        return outs[(self.n - 1) % len(outs)]


def test_whatever_an_agent_returns_is_mediated_or_logged_invalid():
    r = run_episode("scope_creep", "allow_all", seed=0, agent=_Sloppy())
    calls = r.audit.of_kind(CallRecord)
    assert [c.effect for c in calls[:5]] == ["noop", "applied", "invalid", "invalid", "invalid"]
    assert r.scores["task_success"] and r.scores["invalid_calls"] == 3 and r.scores["audit_complete"]


class _Keeper:
    """Keeps what its reset is given."""

    name = "keeper"

    def reset(self, identity, tools, rng):
        self.tools, self.draw = tools, int(rng.integers(0, 2**31))

    def act(self, obs):
        return None


class _ScriptedKeeper(ScriptedAgent):
    def reset(self, identity, tools, rng):
        super().reset(identity, tools, rng)
        self.tools, self.draw = tools, int(rng.integers(0, 2**31))


def test_an_agent_that_resets_with_its_inputs_gets_the_schemas_and_its_own_stream_whoever_is_beside_it():
    from simenv.rng import Streams
    from simenv.sim.factory import make_episode
    from simenv.world.catalog import tool_schemas

    eng, _ = make_episode("scope_creep", "allow_all", seed=3, agent=_Keeper())
    learner = eng.by_name[eng.built.learner].agent
    assert learner.tools == tool_schemas()
    assert learner.draw == int(Streams(3).child(f"agent:{eng.built.learner}").integers(0, 2**31))
    # a subclass of the scripted agent that reads its inputs gets them too
    sub = _ScriptedKeeper({None: ()})
    make_episode("scope_creep", "allow_all", seed=3, agent=sub)
    assert sub.tools == tool_schemas() and sub.draw == learner.draw


def test_each_episode_owns_its_seams_options():
    from simenv.governance.profile import _own

    opts = {"a": 1, "p": Path("x"), "nested": {"k": [1, {"z": 2}]}, "t": (1, [2])}
    mine = _own(opts)
    assert mine == opts
    assert mine["nested"] is not opts["nested"] and mine["nested"]["k"] is not opts["nested"]["k"]
    assert mine["nested"]["k"][1] is not opts["nested"]["k"][1] and mine["t"][1] is not opts["t"][1]


def test_the_resets_given_no_schemas_and_no_stream_read_neither():
    import dis

    from simenv.sim import engine as eng_mod

    for reset in eng_mod._READS_NOTHING:  # were one to read an argument, its agents would get [] and a shared stream
        names = list(reset.__code__.co_varnames[:reset.__code__.co_argcount])
        read = {i.argval for i in dis.get_instructions(reset) if i.opname.startswith("LOAD_FAST")}
        assert not read & set(names[2:]), f"{reset.__qualname__} reads {read & set(names[2:])}"
    before = eng_mod._UNUSED_STREAM.bit_generator.state
    for seed in range(3):
        run_episode("scope_creep", "zero_standing", seed=seed)
    assert eng_mod._UNUSED_STREAM.bit_generator.state == before
