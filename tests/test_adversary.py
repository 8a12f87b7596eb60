"""The adversarial agent and the invariant checker: every shipped scenario × profile, >= 10,000 calls per CI run.

``SIMENV_FUZZ_FULL=1`` runs many more seeds (the long run; also ``python -m simenv.testing.adversary
--calls N``). The checker itself is tested first: each planted fault must be caught.
"""

import math
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass

import pytest
from conftest import POLICIES, SCENARIOS

from simenv import run_episode
from simenv.agents.adversary import WEIGHTS, Adversary
from simenv.governance.request import Decision
from simenv.sim.factory import make_episode
from simenv.sim.records import ApprovalRecord, CallRecord
from simenv.testing import check_agent
from simenv.testing.adversary import fuzz, fuzz_episode, main
from simenv.testing.invariants import InvariantChecker
from simenv.types import Effect, ToolCall
from simenv.world.changes import GrantChange

FULL = os.environ.get("SIMENV_FUZZ_FULL") == "1"
SEEDS = range(40) if FULL else range(4)
CI_CALLS = 10_000
GRANT = ToolCall("db_grant_access", {"table": "payments", "identity": "bob"})


# --------------------------------------------------------------------------- the checker catches planted faults
def _grant(engine, who="bob", what="payments"):
    w = engine.world
    return GrantChange(w.ident_index[who], w.res_index[what], not w.has_grant(w.ident_index[who], w.res_index[what]))


def _plant(engine, fault):
    m, ep = engine.mediator, engine.state
    real = m.handle

    def faulty(st, call):
        rec = real(st, call)
        if fault == "change behind apply":
            w = ep.world  # grants are frozensets, replaced on change: a change behind apply replaces one
            w.by_identity[st.idx] = w.by_identity.get(st.idx, frozenset()) | {w.res_index["payments"]}
        elif fault == "change on a refusal" and rec.effect in ("denied", "invalid", "refused"):
            ep.apply([_grant(engine)], "call")
        elif fault == "second record":
            ep.audit.append(CallRecord(tick=ep.tick, agent=st.name, tool="db_query"))
        elif fault == "no record":
            ep.audit.records.pop()
            return CallRecord(tick=ep.tick, agent=st.name, tool=call.tool)
        elif fault == "record hides a change" and rec.effect == "applied":
            rec.changes = []
        return rec

    m.handle = faulty


@dataclass(frozen=True)
class _Lie(Decision):
    """A decision that says deny and lets the call through: the mediator must not be trusted blindly."""

    @property
    def allowed(self) -> bool:
        return True


class _LyingAuthorizer:
    name = "liar"

    def prepare(self, estate, tickets):
        pass

    def authorize(self, req):
        return _Lie(Effect.DENY, ("no",), ("liar",))


@pytest.mark.parametrize("fault", ["change behind apply", "change on a refusal", "second record", "no record",
                                   "record hides a change", "authorizer denied", "change between calls",
                                   "rollback of nothing", "approval of a call never pending"])
def test_the_checker_catches_each_planted_fault(fault):
    engine, _ = make_episode("scope_creep", "allow_all", 0)
    if fault == "authorizer denied":
        engine.mediator.gov.authorizer = _LyingAuthorizer()
    else:
        _plant(engine, fault)
    checker = InvariantChecker(engine)
    st = engine.states[0]
    engine.open_ticket(st)
    engine.handle(st, ToolCall("db_query", {"table": "nope"}))  # an invalid call
    engine.handle(st, GRANT)  # an allowed write
    if fault == "change between calls":
        engine.state.apply([_grant(engine, "bob", "audit-log")], "call")
    elif fault == "rollback of nothing":
        engine.state.apply([_grant(engine, "bob", "audit-log")], "rollback")
    elif fault == "approval of a call never pending":
        engine.state.audit.append(ApprovalRecord(tick=0, agent=st.name, call_seq=len(engine.audit) - 1))
    engine.handle(st, ToolCall("db_query", {"table": "payments"}))
    found = {v.check for v in checker.finish()}
    expected = {"change behind apply": "unlogged", "change on a refusal": "bypass", "second record": "records",
                "no record": "records", "record hides a change": "effect", "authorizer denied": "bypass",
                "change between calls": "bypass", "rollback of nothing": "rollback",
                "approval of a call never pending": "audit"}[fault]
    assert expected in found, (fault, checker.violations)


def test_the_checker_finds_nothing_on_honest_episodes():
    for scenario in SCENARIOS:
        for agent in ("scripted", "llm_stub"):
            engine, _ = make_episode(scenario, "zero_standing", 1, agent)
            checker = InvariantChecker(engine)
            engine.run()
            assert checker.finish() == [], (scenario, agent, checker.violations[:3])
            assert checker.calls == sum(1 for r in engine.audit if r.kind in ("call", "control"))


# --------------------------------------------------------------------------- the adversary as an agent
def test_the_adversary_is_an_agent_by_name_and_by_class_and_passes_check_agent():
    by_name = run_episode("multi_agent_chaining", "jit_approval", seed=3, agent="adversary")
    by_class = run_episode("multi_agent_chaining", "jit_approval", seed=3,
                           agent="simenv.testing.adversary:Adversary")
    assert by_name.scores["fingerprint"] == by_class.scores["fingerprint"]
    assert by_name.scores["invalid_calls"] > 0 and by_name.scores["audit_complete"]
    check_agent("simenv.testing.adversary:Adversary")
    assert pickle.loads(pickle.dumps(Adversary()))


def test_the_adversary_is_seeded_the_same_in_any_process():
    code = ("from simenv import run_episode\n"
            "print(run_episode('stolen_credential_replay', 'intent_rego', seed=5, agent='adversary').scores['fingerprint'])")
    fps = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": h}).stdout.strip() for h in ("0", "1", "random")}
    here = run_episode("stolen_credential_replay", "intent_rego", seed=5, agent="adversary").scores["fingerprint"]
    other = run_episode("stolen_credential_replay", "intent_rego", seed=6, agent="adversary").scores["fingerprint"]
    assert fps == {here} and other != here


def test_unknown_tactic_weights_are_refused():
    with pytest.raises(ValueError, match="unknown adversary tactics"):
        Adversary(weights={"teleport": 1.0})
    with pytest.raises(ValueError, match="positive weight"):
        Adversary(weights=dict.fromkeys(WEIGHTS, 0.0))


# --------------------------------------------------------------------------- targeted attacks: refused, without effect
def _two_agents():
    engine, _ = make_episode("multi_agent_chaining", "static_rbac", 0)
    a, b = engine.states
    engine.open_ticket(a)
    return engine, a, b


def _creds_of(engine, st):
    return [f"cred-{c.id}" for _, c in sorted(engine.world.creds.items()) if c.holder == st.idx]


def test_credentials_it_does_not_hold_are_refused_and_change_nothing():
    engine, a, b = _two_agents()
    checker = InvariantChecker(engine)
    tool, args = "idp_list_members", {"group": "contractors"}
    own = _creds_of(engine, a)[0]
    full = own.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})  # cred-１: full-width digits
    recs = [engine.handle(a, ToolCall(tool, args, credential=label))  # its own live credential, respelled
            for label in (f"cred-0{own[5:]}", full)]
    others = _creds_of(engine, b)
    assert others, "the other agent holds a standing credential"
    recs.append(engine.handle(a, ToolCall(tool, args, credential=others[0])))  # another agent's
    engine.state.apply([_revoke(engine, int(own[5:]))], "event.test")  # a revocation, as an administrator would
    recs.append(engine.handle(a, ToolCall(tool, args, credential=own)))  # its own, revoked
    for label in ("cred-999999", "cred-x", "cred-1 ", "CRED-1", "cred-0", "cred--1"):  # made up
        recs.append(engine.handle(a, ToolCall(tool, args, credential=label)))
    assert [r.effect for r in recs] == ["invalid"] * 2 + ["refused"] * 2 + ["invalid"] * 6
    assert "is not held by" in recs[2].reasons[0] and "is revoked" in recs[3].reasons[0]
    assert checker.finish() == []


def _revoke(engine, cid):
    from simenv.world.changes import CredChange

    c = engine.world.creds[cid]
    return CredChange(cid, c, c.revoke())


def test_an_expired_credential_is_refused():
    engine, _ = make_episode("long_lived_key", "jit", 0)
    st = engine.states[0]
    engine.open_ticket(st)
    first = engine.handle(st, ToolCall("vault_create_access_key", {"key": "billing-key", "lifetime": "60"}))
    label = first.credential
    assert label is not None
    engine.state.tick += 31  # past the JIT TTL of 30
    rec = engine.handle(st, ToolCall("vault_create_access_key", {"key": "billing-key", "lifetime": "60"},
                                     credential=label))
    assert rec.effect == "refused" and "expired" in rec.reasons[0]


def test_forged_chains_and_fields_are_refused_and_the_chain_is_the_ticket_s():
    engine, a, _ = _two_agents()
    checker = InvariantChecker(engine)
    args = '{"group": "contractors", "identity": "dana"}'
    forged = [{"function": {"name": "idp_add_member", "arguments": args}, "act": {"sub": "root"}},
              {"function": {"name": "idp_add_member", "arguments": args, "chain": ["root"]}},
              {"function": {"name": "idp_add_member", "arguments": args[:-1] + ', "approval": "granted"}'}}]
    from simenv.agents.base import coerce_call

    recs = [engine.handle(a, coerce_call(f)) for f in forged]
    assert [r.effect for r in recs] == ["invalid"] * 3
    ok = engine.handle(a, coerce_call({"function": {"name": "idp_add_member", "arguments": args}}))
    assert ok.effect == "applied" and ok.chain == [a.name]  # the chain comes from the ticket, never the call
    assert checker.finish() == []


def test_complete_or_abort_on_a_ticket_it_does_not_hold_closes_nothing():
    engine, a, b = _two_agents()
    own = a.current.id
    for call in (ToolCall("complete_ticket", {"ticket": "T-other"}), ToolCall("abort_ticket", {"ticket": own}),
                 ToolCall("complete_ticket", {}, credential="cred-1")):
        assert engine.handle(a, call).effect == "invalid"
    assert a.current is not None and a.current.id == own and not engine.state.completed
    assert engine.handle(b, ToolCall("complete_ticket", {})).effect == "invalid"  # b has no open ticket yet
    assert engine.handle(a, ToolCall("complete_ticket", {})).kind == "control"


# --------------------------------------------------------------------------- the run: every scenario × profile
@pytest.mark.parametrize("profile", POLICIES)
def test_the_adversary_over_every_shipped_scenario_finds_no_bypass_and_no_traceback(profile):
    report = fuzz(profiles=[profile], seeds=SEEDS)
    assert report.ok, report.summary()
    assert report.episodes == len(SCENARIOS) * len(SEEDS)
    assert report.calls >= math.ceil(CI_CALLS / len(POLICIES)), report.summary()  # >= 10,000 over the profiles
    assert set(report.tactics) >= set(WEIGHTS) - {"wait"}, report.tactics
    assert report.outcomes["invalid"] and report.outcomes["applied"] + report.outcomes["noop"] > 0 or \
        profile == "deny_all", report.outcomes


def test_fuzz_episode_reports_a_traceback_instead_of_raising(monkeypatch):
    from simenv.sim import engine as engine_mod

    def boom(self, *a, **kw):
        raise RuntimeError("planted")

    monkeypatch.setattr(engine_mod.Engine, "step", boom)
    r = fuzz_episode("scope_creep", "allow_all", 0)
    assert len(r.tracebacks) == 1 and "planted" in r.tracebacks[0] and not r.ok


def test_the_long_run_command(capsys):
    assert main(["--calls", "200", "--scenarios", "scope_creep", "--profiles", "jit_approval", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"bypasses": 0' in out and '"tracebacks": 0' in out
