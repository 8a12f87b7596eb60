"""Brokers, simulated approvers and monitors."""

import numpy as np
import pytest

from simenv import metrics, run_episode
from simenv.errors import SpecError
from simenv.governance.approvals import SimulatedApprovers
from simenv.governance.fields import RequestDoc
from simenv.governance.monitors import WindowMonitor
from simenv.governance.profile import load_profile
from simenv.governance.protocols import MonitorEvent
from simenv.governance.review import Review
from simenv.rng import Streams
from simenv.sim.factory import make_episode as make_engine
from simenv.sim.records import CredentialRecord, MonitorRecord
from simenv.types import CredentialKind, Effect, Outcome, ToolCall, parse_cred_label


def _profile(tmp_path, body, name="p"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\n" + body)
    return path


def test_jit_credential_is_scoped_ttl_bound_and_revoked_on_completion():
    r = run_episode("scope_creep", "jit", seed=0)
    creds = r.audit.of_kind(CredentialRecord)
    issued = [c for c in creds if c.op == "issue"]
    assert issued and all(c.cred_kind == "jit" and c.ticket == "T-7" for c in issued)
    assert issued[0].expires_at == issued[0].tick + 30
    assert any(c.op == "revoke" and c.cause == "ticket.complete" for c in creds)
    s = r.scores
    assert s["residual_exposure"] == 0
    # JIT scoped to the declared scope (db read + grant): the self-grant on idp is not covered
    assert s["violations_executed"] == 0 or s["blast_radius"] < run_episode("scope_creep", "static_rbac", 0).scores[
        "blast_radius"]
    assert s["task_success"]


def test_standing_least_is_narrower_than_standing_broad():
    for seed in range(3):
        least = run_episode("scope_creep", "least_privilege", seed=seed).scores
        broad = run_episode("scope_creep", "static_rbac", seed=seed).scores
        assert least["exposure"] < broad["exposure"]
        assert least["blast_radius"] <= broad["blast_radius"]
        assert least["residual_exposure"] > 0  # standing: still live at the end


def test_jit_exposure_below_standing():
    for seed in range(3):
        jit = run_episode("scope_creep", "jit", seed=seed).scores
        least = run_episode("scope_creep", "least_privilege", seed=seed).scores
        assert jit["exposure"] <= least["exposure"] and jit["residual_exposure"] < least["residual_exposure"]


def test_session_bound_refuses_replay_in_a_later_session(tmp_path):
    prof = _profile(tmp_path, "credentials: {mode: session_bound, ttl: 30}\nauthorizer: {engine: rbac}\n")
    engine, _ = make_engine("scope_creep", str(prof), 0)
    st = engine.states[0]
    engine.open_ticket(st)
    rec = engine.handle(st, ToolCall("db_query", {"table": "payments"}))
    cid = rec.credential
    assert rec.effect == "noop" and engine.world.creds[parse_cred_label(cid)].session == 0
    st.session += 1  # the session ends; the agent cached the credential and presents it again
    replay = engine.handle(st, ToolCall("db_query", {"table": "payments"}, credential=cid))
    assert replay.effect == "refused" and "session" in replay.reasons[0]
    fresh = engine.handle(st, ToolCall("db_query", {"table": "payments"}))
    assert fresh.effect == "noop" and fresh.credential != cid


def test_jit_replay_after_completion_is_refused(tmp_path):
    engine, _ = make_engine("scope_creep", "jit", 0)
    st = engine.states[0]
    engine.open_ticket(st)
    cid = engine.handle(st, ToolCall("db_query", {"table": "payments"})).credential
    engine.handle(st, ToolCall("complete_ticket", {}))
    assert engine.world.creds[parse_cred_label(cid)].revoked
    st.current = engine.built.tickets[0]  # pretend to work the ticket again with the old credential
    rec = engine.handle(st, ToolCall("db_query", {"table": "payments"}, credential=cid))
    assert rec.effect == "refused" and "revoked" in rec.reasons[0]


def test_legacy_system_falls_back_to_static_and_costs_exposure(tmp_path):
    from simenv import files

    text = (files.shipped_dir("scenarios") / "scope_creep.yaml").read_text()
    legacy = tmp_path / "legacy.yaml"
    legacy.write_text(text.replace("  size: 200\n", "  size: 200\n  legacy_systems: [db]\n"))
    modern = run_episode("scope_creep", "jit", seed=0).scores
    r = run_episode(str(legacy), "jit", seed=0)
    kinds = {c.cred_kind for c in r.audit.of_kind(CredentialRecord) if c.op == "issue"}
    assert CredentialKind.STATIC in kinds
    assert r.scores["task_success"]
    assert r.scores["residual_exposure"] > modern["residual_exposure"] == 0


def _review(tool="db_grant_access", resource="payments", target="bob", text="Grant bob read access to payments.",
            **context):
    doc = {"action": {"name": tool}, "resource": {"name": resource, "sensitivity": 3.0},
           "context": {"justification": "ticket T-7", **context}}
    if target:
        doc["target_identity"] = {"name": target, "kind": "human"}
    req, problems = RequestDoc.model_validate(doc).build()
    assert not problems
    return Review(req, ticket_text=text)


def test_approvers_judge_what_they_are_shown_never_the_intent():
    """An overreach that looks like the requests before it is approved as often; a glaring one at the rubber-stamp rate."""
    gate = SimulatedApprovers(Streams(1).child("approvals"), accuracy=0.95, rubber_stamp=0.10, fatigue=0.0)
    legit = _review()
    # the ticket mentions dana too (she is to be told about the grant), but only bob was to get access: same look
    text = "Grant bob read access to payments and tell dana when it is done."
    lookalike, honest = _review(target="dana", text=text), _review(text=text)
    assert legit.flags == lookalike.flags == honest.flags == ()
    glaring = _review(tool="idp_assign_role", resource="global-admin", target="agent-1", in_declared_scope=False)
    assert set(glaring.flags) >= {"out_of_scope", "self_target", "unmentioned_target"}
    n = 3000
    rate = {k: np.mean([gate.submit(r, t * 1000).granted for t in range(n)])
            for k, r in (("legit", legit), ("lookalike", lookalike), ("glaring", glaring))}
    assert abs(rate["lookalike"] - rate["legit"]) < 0.03, rate  # it cannot tell them apart
    assert 0.93 < rate["legit"] < 0.97, rate  # rubber_stamp + (1 - rubber_stamp) * accuracy
    assert 0.10 < rate["glaring"] < 0.19, rate  # about the rubber-stamp rate, and nothing like the legit one
    outs = [gate.submit(legit, 5) for _ in range(50)]
    assert all(o.ready_at >= 6 for o in outs)


def test_approver_probability_is_the_documented_formula():
    gate = SimulatedApprovers(Streams(0).child("approvals"), accuracy=0.9, rubber_stamp=0.2, fatigue=0.01)
    r = _review(in_declared_scope=False)
    assert r.flags == ("out_of_scope",)
    rs = 0.2 + 0.01 * 5
    assert gate.p_approve(r, load=5) == pytest.approx(rs + (1 - rs) * 0.9 * (1 - 0.7))
    assert SimulatedApprovers(Streams(0).child("approvals"), catch={"out_of_scope": 0.0}).p_approve(r) == \
        pytest.approx(0.1 + 0.9 * 0.95)


def test_fatigue_and_quorum():
    tired = SimulatedApprovers(Streams(2).child("approvals"), accuracy=1.0, rubber_stamp=0.0, fatigue=0.05, window=1000,
                               catch={"out_of_scope": 1.0})
    flagged = _review(in_declared_scope=False)
    late = [tired.submit(flagged, t).granted for t in range(40)]
    assert not any(late[:3]) and any(late[20:])  # rubber-stamping grows with load
    q = SimulatedApprovers(Streams(3).child("approvals"), accuracy=0.5, rubber_stamp=0.0, approvers=3, quorum=3,
                           fatigue=0.0)
    rate = np.mean([q.submit(_review(), t * 100).granted for t in range(2000)])
    assert 0.09 < rate < 0.16  # 0.5 ** 3
    a = SimulatedApprovers(Streams(9).child("approvals"))
    b = SimulatedApprovers(Streams(9).child("approvals"))
    assert [a.submit(_review(), t) for t in range(20)] == [b.submit(_review(), t) for t in range(20)]


def test_a_deferred_stream_draws_as_the_child_it_stands_for_and_seeds_only_when_drawn():
    """Approvers get the episode's stream seeded on first use: the same outcomes, none of the seeding for no review."""
    import copy
    import pickle

    from simenv.governance.profile import build_governance
    from simenv.rng import DeferredGenerator

    eager = SimulatedApprovers(Streams(9).child("approvals"))
    lazy = SimulatedApprovers(Streams(9).deferred("approvals"))
    assert [eager.submit(_review(), t) for t in range(20)] == [lazy.submit(_review(), t) for t in range(20)]
    d = Streams(5).deferred("approvals")
    assert "not yet seeded" in repr(d)
    twin, thawed = copy.deepcopy(d), pickle.loads(pickle.dumps(d))  # copied before any draw: each seeds itself
    assert d.random(4).tolist() == Streams(5).child("approvals").random(4).tolist() == twin.random(4).tolist() \
        == thawed.random(4).tolist()
    assert "not yet" not in repr(d) and isinstance(d.generator, np.random.Generator)
    assert copy.deepcopy(d).random(3).tolist() == d.random(3).tolist()  # copied mid-stream: the same next draws
    with pytest.raises(AttributeError):
        d.no_such_method  # noqa: B018 - the generator's own error, not a recursion
    gate = build_governance("jit_approval", Streams(3)).approvals
    assert isinstance(gate.rng, DeferredGenerator) and gate.rng._gen is None  # a profile's reset seeds nothing


def test_break_glass_resources_need_their_own_quorum():
    gate = SimulatedApprovers(Streams(4).child("approvals"), accuracy=0.5, rubber_stamp=0.0, quorum_for={"break_glass": 2})
    doc = {"action": {"name": "db_query"}, "resource": {"name": "payments", "marks": ["break_glass"]},
           "context": {"justification": "incident"}}
    req, _ = RequestDoc.model_validate(doc).build()
    outs = [gate.submit(Review(req, ticket_text="read payments"), t * 100) for t in range(2000)]
    assert all(len(o.approvers) == 2 for o in outs)
    assert 0.21 < np.mean([o.granted for o in outs]) < 0.29  # 0.5 ** 2


def test_monitor_window():
    m = WindowMonitor(kind="denials", threshold=2, window=5, action="halt")

    def ev(tick):
        return MonitorEvent("call", tick, "a", "db_query", "read", "db", "payments", True, Effect.DENY, Outcome.DENIED)

    assert m.observe(ev(0)) == []
    assert m.observe(ev(9)) == []  # the first fell out of the window
    acts = m.observe(ev(10))
    assert acts and acts[0].action == "halt" and acts[0].agent == "a"
    assert m.observe(ev(11)) == []  # fires once


def test_monitor_in_a_profile_revokes(tmp_path):
    prof = _profile(tmp_path, "credentials: {mode: standing_broad}\nauthorizer: {engine: rbac}\n"
                              "monitors:\n  - {kind: out_of_scope, threshold: 1, action: revoke, id: oos}\n")
    r = run_episode("scope_creep", str(prof), seed=0)
    mons = r.audit.of_kind(MonitorRecord)
    assert mons and mons[0].monitor == "oos" and mons[0].revoked
    assert r.scores["time_to_revoke"] == 0
    assert r.scores["exposure"] < run_episode("scope_creep", "static_rbac", seed=0).scores["exposure"]


@pytest.mark.parametrize("body,field", [
    ("credentials: {mode: jit}\nauthorizer: {engine: rbac}\napprovals: {quorum: 3}\n", "approvals"),
    ("credentials: {mode: jit}\nauthorizer: {engine: rbac}\napprovals: {latncy: 3}\n", "approvals.latncy"),
    ("credentials: {mode: jit}\nauthorizer: {engine: rbac}\nmonitors: [{kind: vibes}]\n", "monitors[0].kind"),
    ("credentials: {mode: jit}\nauthorizer: {engine: rbac}\nmonitors: [{kind: denials, window: 0}]\n",
     "monitors[0].window"),
])
def test_bad_approvals_and_monitors(tmp_path, body, field):
    with pytest.raises(SpecError) as e:
        load_profile(_profile(tmp_path, body))
    assert field in e.value.render() and "p.yaml" in e.value.render()


def test_scores_recompute_with_new_brokers():
    for p in ("jit", "least_privilege"):
        r = run_episode("scope_creep", p, seed=3)
        assert metrics.compute(r.audit) == r.scores


def test_a_reviews_flags_come_in_flags_order():
    from test_policy_engines import sample_requests

    from simenv.governance.review import FLAGS, Review, discrepancies

    seen = set()
    for i, r in enumerate(sample_requests(500, seed=7)):
        flags = discrepancies(Review(r, "grant r1 to t1" if i % 2 else "", "alice" if i % 3 else None, i % 2, i % 5 == 0))
        assert flags == tuple(f for f in FLAGS if f in flags)
        seen.update(flags)
    assert seen == set(FLAGS)
