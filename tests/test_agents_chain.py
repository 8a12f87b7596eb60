"""Multi-agent chaining (act chain, confused-deputy guard) and the credential-stealing attacker."""

from simenv import metrics, run_episode
from simenv.sim.records import CallRecord, EventRecord, TicketRecord


def _profile(tmp_path, body, name="p"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\n" + body)
    return str(path)


def test_act_chain_travels_with_delegated_work():
    r = run_episode("multi_agent_chaining", "static_rbac", seed=0)
    calls = [c for c in r.audit.of_kind(CallRecord) if c.agent == "admin-bot"]
    assert calls and calls[0].chain == ["admin-bot", "helpdesk-bot"], "RFC 8693 act chain, current actor first"
    assert calls[0].ticket == "T-20a" and calls[0].in_intent is False
    deleg = [t for t in r.audit.of_kind(TicketRecord) if t.op == "delegate"]
    assert deleg and deleg[0].parent == "T-20" and deleg[0].chain == ["helpdesk-bot"]


def test_static_rbac_lets_a_violation_through_the_chain_and_the_guard_blocks_it(tmp_path):
    guard = _profile(tmp_path, "credentials: {mode: session_bound, options: {intersect_chain: true}}\n"
                               "authorizer: {engine: rbac}\n")
    depth = _profile(tmp_path, "credentials: {mode: jit, options: {max_chain_depth: 0}}\nauthorizer: {engine: rbac}\n",
                     "depth")
    for seed in range(3):
        rbac = run_episode("multi_agent_chaining", "static_rbac", seed=seed)
        through = [c for c in rbac.audit.of_kind(CallRecord) if c.agent == "admin-bot" and c.effect == "applied"]
        assert through, "the privileged agent executes the out-of-intent grant"
        for prof in (guard, depth):
            g = run_episode("multi_agent_chaining", prof, seed=seed)
            blocked = [c for c in g.audit.of_kind(CallRecord) if c.agent == "admin-bot"]
            assert blocked and all(c.effect in ("forbidden", "denied", "refused") for c in blocked)
            assert g.scores["task_success"]
            assert g.scores["blast_radius"] < rbac.scores["blast_radius"]


def test_unscripted_invoke_opens_an_ad_hoc_sub_ticket():
    from simenv.sim.factory import make_episode
    from simenv.types import ToolCall

    engine, _ = make_episode("multi_agent_chaining", "allow_all", 0)
    st = engine.by_name["helpdesk-bot"]
    engine.open_ticket(st)
    engine.state.templates.clear()
    rec = engine.handle(st, ToolCall("invoke_agent", {"agent": "admin-bot", "task": "rotate everything"}))
    assert rec.effect == "delegated"
    sub = engine.by_name["admin-bot"].queue[0]
    assert sub.parent == "T-20" and sub.text == "rotate everything" and sub.chain == ("helpdesk-bot",)


def test_attacker_damage_counts_and_jit_limits_it():
    for seed in range(4):
        rbac = run_episode("stolen_credential_replay", "static_rbac", seed=seed).scores
        jit = run_episode("stolen_credential_replay", "jit", seed=seed).scores
        assert rbac["attacker_calls_executed"] > 0 and rbac["blast_radius"] > 0
        assert jit["blast_radius"] < rbac["blast_radius"]
        assert jit["attacker_calls_executed"] < rbac["attacker_calls_executed"]
        # attacker calls are not the agent's violations
        assert rbac["violations_attempted"] == 0


def test_session_bound_refuses_the_stolen_credential(tmp_path):
    sb = _profile(tmp_path, "credentials: {mode: session_bound}\nauthorizer: {engine: rbac}\n")
    r = run_episode("stolen_credential_replay", sb, seed=0)
    att = [c for c in r.audit.of_kind(CallRecord) if c.actor == "attacker"]
    assert att and all(c.effect == "refused" for c in att)
    assert "session" in att[0].reasons[0]  # refused while still live: the binding, not the expiry
    assert r.scores["blast_radius"] == 0 and r.scores["task_success"]
    ev = r.audit.of_kind(EventRecord)[0]
    assert ev.event == "steal_credential" and ev.result["stolen"]
    assert metrics.compute(r.audit) == r.scores


def test_shared_service_account_keeps_each_action_attributable():
    r = run_episode("shared_service_account", "static_rbac", seed=0)
    calls = [c for c in r.audit.of_kind(CallRecord) if c.effect != "invalid"]
    assert {c.agent for c in calls} == {"report-bot", "cleanup-bot"}
    assert {c.represents for c in calls} == {"svc-automation"}  # what the estate's own logs would show
    grant = next(c for c in calls if c.tool == "db_grant_access")
    assert grant.agent == "report-bot" and grant.in_intent is False and grant.effect == "applied"
    # JIT credentials are issued to each agent for its own ticket: the shared account is not used
    jit = run_episode("shared_service_account", "jit", seed=0)
    assert {c.represents for c in jit.audit.of_kind(CallRecord) if c.represents} == {"report-bot", "cleanup-bot"}
