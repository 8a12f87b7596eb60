"""Rollback: undo entries keyed by the call's own record, and every call undone whole or not at all.

Three paths where the old keying went wrong: a call whose credential the broker issues just
before the call's record is written (JIT), a call that delegates, and a call that settles in an
approval record. Then a call whose changes no longer fit the state: it must stay exactly as it
was and be reported as not undone.
"""

from pathlib import Path

import yaml

from simenv import metrics, run_episode
from simenv.sim.factory import make_episode
from simenv.sim.records import ApprovalRecord, CallRecord, CredentialRecord, EventRecord
from simenv.types import ToolCall
from simenv.world.changes import AttrChange

ROOT = Path(__file__).resolve().parent.parent


def _with_rollback(tmp_path, scenario, tick, scope="all"):
    doc = yaml.safe_load((ROOT / "scenarios" / f"{scenario}.yaml").read_text())
    doc["events"] = [e for e in doc.get("events", []) if e["kind"] != "rollback"]
    doc["events"].append({"tick": tick, "kind": "rollback", "params": {"scope": scope, "since": 0}})
    doc["max_ticks"] = max(doc.get("max_ticks", 40), tick + 2)
    path = tmp_path / f"{scenario}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _rollback(audit):
    (ev,) = [r for r in audit.of_kind(EventRecord) if r.event == "rollback"]
    return ev


def _undone_are_calls(audit, ev):
    recs = audit.records
    assert ev.result["undone"], "the rollback undid nothing"
    for seq in ev.result["undone"] + ev.result["not_undone"]:
        assert isinstance(recs[seq], CallRecord), f"record {seq} is a {type(recs[seq]).__name__}, not the call"
        assert recs[seq].effect in ("applied", "delegated") or any(
            isinstance(a, ApprovalRecord) and a.call_seq == seq and a.effect == "applied" for a in recs)


def test_a_jit_call_is_named_by_its_own_record_not_its_credentials(tmp_path):
    path = _with_rollback(tmp_path, "scope_creep", 6)
    r = run_episode(path, "jit", seed=0)
    issued = [c for c in r.audit.of_kind(CredentialRecord) if c.cause == "broker.issue"]
    assert issued, "the JIT broker issued a credential before the first call's record"
    ev = _rollback(r.audit)
    _undone_are_calls(r.audit, ev)
    assert not r.scores["task_success"]  # the grant bob needed was undone with the rest (scope: all)


def test_a_delegating_call_is_named_by_its_own_record(tmp_path):
    path = _with_rollback(tmp_path, "multi_agent_chaining", 8)
    r = run_episode(path, "static_rbac", seed=0)
    ev = _rollback(r.audit)
    _undone_are_calls(r.audit, ev)
    calls = {c.seq: c for c in r.audit.of_kind(CallRecord)}
    assert any(calls[s].agent == "admin-bot" for s in ev.result["undone"]), "the delegated grant was undone"


def test_an_approved_call_is_named_by_the_call_it_settles(tmp_path):
    path = _with_rollback(tmp_path, "scope_creep", 30)
    r = run_episode(path, "jit_approval", seed=0)
    approved = [a for a in r.audit.of_kind(ApprovalRecord) if a.effect == "applied"]
    assert approved, "no call was approved and applied"
    ev = _rollback(r.audit)
    _undone_are_calls(r.audit, ev)
    assert {a.call_seq for a in approved} <= set(ev.result["undone"])


def test_a_call_is_undone_whole_or_not_at_all():
    """Pasting a secret into a pipeline makes two changes (the variable, and who it exposes).

    When something later changes the variable, undoing the call would undo the exposure and
    then fail on the variable: the call must be left exactly as it was, and reported.
    """
    from simenv.sim.incidents import rollback

    engine, _ = make_episode("secrets_sprawl", "allow_all", 0)
    st = engine.by_name["build-bot"]
    engine.open_ticket(st)
    w = engine.world
    assert engine.handle(st, ToolCall("vault_read_secret", {"secret": "warehouse-admin-password"})).effect == "applied"
    rec = engine.handle(st, ToolCall("cicd_set_variable", {"pipeline": "nightly-report", "name": "DB_PASSWORD",
                                                           "value": "secret://warehouse-admin-password"}))
    assert rec.effect == "applied" and len(rec.changes) == 2
    pipe = w.res_index["nightly-report"]
    engine.state.apply([AttrChange(pipe, "var:DB_PASSWORD", "secret://warehouse-admin-password", "rotated")], "test")
    before = w.fingerprint()
    done = rollback(engine.state, "all", 0)
    assert rec.seq in done.not_undone and rec.seq not in done.undone
    assert w.attrs.get((pipe, "exposes")) is not None, "the exposure was undone without the variable"
    assert w.fingerprint() != before or done.undone  # the secret read was undone whole
    engine.finish()
    assert metrics.audit_complete(engine.audit)
