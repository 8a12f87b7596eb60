"""Tool-call input is bounded and canonical at the call boundary, the same under every engine.

A call whose text is not valid Unicode, too long, nested, of the wrong type or arity, or carries
an unknown field becomes one ``invalid`` record before any broker or engine sees it
(:mod:`simenv.world.inputs`). Each regression below once raised, or split the engines.
"""

import json
import shutil
from pathlib import Path

import pytest

from simenv import run_episode
from simenv.agents.base import coerce_call
from simenv.agents.llm import LLMAgent
from simenv.sim import mediator
from simenv.sim.factory import make_episode
from simenv.sim.records import CallRecord, ControlRecord, line
from simenv.types import ToolCall
from simenv.world.inputs import MAX_ARGS, MAX_CALL_CHARS, MAX_QUOTE_CHARS, MAX_TEXT_CHARS, check_call, text_problem

ROOT = Path(__file__).resolve().parent.parent
KEY = {"key": "billing-key", "lifetime": "60"}  # long_lived_key's intended call: high risk, needs a justification


def _deep(n: int) -> list:
    out: list = []
    cur = out
    for _ in range(n):
        cur.append([])
        cur = cur[0]
    return out


def _loop() -> list:
    a: list = []
    a.append(a)
    return a


def _model(arguments: str, name: str = "vault_create_access_key", **extra) -> ToolCall:
    return coerce_call({"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}, **extra})


BAD = {
    "lone surrogate in an argument": ToolCall("vault_write_secret", {"secret": "payroll-db", "value": "a\ud800b"}),
    "lone surrogate in JSON": _model(json.dumps({**KEY, "justification": "ok"})[:-1] + ', "x": "\\udfff"}'),
    "lone surrogate in the justification": _model('{"key": "billing-key", "lifetime": "60", '
                                                  '"justification": "\\ud800 rotate"}'),
    "NUL": ToolCall("vault_create_access_key", KEY, justification="why\x00not"),
    "escape sequence": ToolCall("vault_create_access_key", KEY, justification="\x1b[2J cleared"),
    "C1 control": ToolCall("vault_create_access_key", KEY, justification="\x9b31m red"),
    "huge argument": ToolCall("vault_write_secret", {"secret": "payroll-db", "value": "x" * 10_000_000}),
    "huge justification": ToolCall("vault_create_access_key", KEY, justification="y" * (MAX_TEXT_CHARS + 1)),
    "call over its total": ToolCall("vault_write_secret", {"secret": "payroll-db", "value": "v" * MAX_TEXT_CHARS},
                                    justification="j" * MAX_TEXT_CHARS),
    "huge JSON": _model(json.dumps({**KEY, "pad": "p" * MAX_CALL_CHARS})),
    "JSON too deep to parse": _model("[" * 5000 + "]" * 5000),
    "repeated key": _model('{"key": "billing-key", "key": "other", "lifetime": "60"}'),
    "unknown top-level field": _model(json.dumps(KEY), credential="cred-1"),
    "forged act chain": _model(json.dumps(KEY), act={"sub": "root", "act": {"sub": "admin-bot"}}),
    "unknown function field": coerce_call({"function": {"name": "vault_create_access_key", "arguments": KEY,
                                                        "chain": ["admin-bot"]}}),
    "unknown argument": ToolCall("vault_create_access_key", {**KEY, "chain": "admin-bot"}),
    "too many arguments": ToolCall("vault_create_access_key", {**KEY, **{f"a{i}": "x" for i in range(100_000)}}),
    "nested argument": ToolCall("vault_create_access_key", {**KEY, "lifetime": {"ticks": "60"}}),
    "deeply nested argument": ToolCall("vault_create_access_key", {**KEY, "lifetime": _deep(10_000)}),
    "self-referential argument": ToolCall("vault_create_access_key", {**KEY, "lifetime": _loop()}),
    "number argument": ToolCall("vault_create_access_key", {**KEY, "lifetime": 60}),
    "missing argument": ToolCall("vault_create_access_key", {"key": "billing-key"}),
    "arguments a list": ToolCall("vault_create_access_key", ["billing-key", "60"]),
    "justification an object": _model(json.dumps({**KEY, "justification": {"why": "because"}})),
    "superscript lifetime": ToolCall("vault_create_access_key", {**KEY, "lifetime": "²"}),
    "Arabic-Indic lifetime": ToolCall("vault_create_access_key", {**KEY, "lifetime": "٦٠"}),
    "5000-digit lifetime": ToolCall("vault_create_access_key", {**KEY, "lifetime": "9" * 5000}),
    "homoglyph key": ToolCall("vault_create_access_key", {**KEY, "key": "bіlling-key"}),  # Cyrillic і
    "complete with a ticket": ToolCall("complete_ticket", {"ticket": "T-somebody-else"}),
    "abort with a credential": ToolCall("abort_ticket", {}, credential="cred-1"),
}


@pytest.fixture(scope="module")
def engine_profiles(tmp_path_factory):
    """The intent policy under one broker in the three engines (native, Cedar, Rego)."""
    d = tmp_path_factory.mktemp("profiles")
    for sub in ("rules", "cedar", "rego"):
        shutil.copytree(ROOT / "policies" / sub, d / sub)
    head = "credentials: {mode: jit, ttl: 30}\napprovals: {latency: 5, accuracy: 1.0, review_minutes: 4}\n"
    out = {}
    for engine, policy in (("native", "rules/intent.yaml"), ("cedar", "cedar/intent.cedar"),
                           ("rego", "rego/intent.rego")):
        (d / f"{engine}.yaml").write_text(f"name: in_{engine}\n{head}authorizer: {{engine: {engine}, policy: {policy}}}\n")
        out[engine] = str(d / f"{engine}.yaml")
    return out


def _one_call(profile: str, call: ToolCall):
    engine, _ = make_episode("long_lived_key", profile, 0)
    st = engine.states[0]
    engine.open_ticket(st)
    before, n = engine.world.fingerprint(), len(engine.audit)
    rec = engine.handle(st, call)
    new = engine.audit.records[n:]
    assert [type(r) for r in new].count(CallRecord) + [type(r) for r in new].count(ControlRecord) == 1
    return rec, engine.world.fingerprint() == before


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_call_is_one_invalid_record_with_the_same_decision_in_every_engine(kind, engine_profiles):
    records = {}
    for engine, profile in engine_profiles.items():
        rec, unchanged = _one_call(profile, BAD[kind])
        assert rec.decision == "invalid" and rec.effect == "invalid" and rec.policy_ids == ["engine.schema"], rec
        assert unchanged, f"{engine}: the world changed on an invalid call"
        assert 0 < len(rec.reasons[0]) <= 300
        text = line(rec)
        assert len(text) < 12_000, f"{engine}: a record quoting the call is {len(text)} characters"
        assert text.encode("utf-8").decode("utf-8") == text  # valid Unicode (ASCII, in fact) all through
        records[engine] = (rec.reasons, rec.args, rec.justification)
    assert len(set(map(repr, records.values()))) == 1, records


def test_each_reason_says_what_is_wrong():
    def reason(kind):
        return _one_call("allow_all", BAD[kind])[0].reasons[0]

    assert "lone surrogate U+D800" in reason("lone surrogate in an argument")
    assert "vault_write_secret.value is 10000000 characters long" in reason("huge argument")
    assert "control character U+0000" in reason("NUL")
    assert "unknown field(s) ['credential']" in reason("unknown top-level field")
    assert "unknown field(s) ['act']" in reason("forged act chain")
    assert "'key' twice" in reason("repeated key")
    assert "unknown argument(s) ['chain']" in reason("unknown argument")
    assert "100002 arguments; no tool takes more than a few (the limit is 16)" in reason("too many arguments")
    assert "justification must be a string, not dict" in reason("justification an object")
    assert "'²' is not a lifetime" in reason("superscript lifetime")
    assert "takes no arguments and no credential" in reason("complete with a ticket")


@pytest.mark.parametrize("text", ["tab\tline\nreturn\r", "pässwörd ünïcödé", "emoji 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
                                  "rtl \u202eevil\u202c and combining e\u0301", "\ufeffBOM and \ufffe noncharacter",
                                  "x" * MAX_TEXT_CHARS])
def test_valid_text_passes_unchanged_and_the_engines_agree_on_it(text, engine_profiles):
    assert text_problem(text) is None
    decisions = {}
    for engine, profile in engine_profiles.items():
        rec, _ = _one_call(profile, ToolCall("vault_create_access_key", KEY, justification=text))
        assert rec.effect != "invalid", rec.reasons
        assert rec.justification == text[:500]
        decisions[engine] = (rec.decision, rec.effect)
    assert len(set(decisions.values())) == 1, decisions


def test_limits_are_named_and_far_above_any_legitimate_call():
    assert (MAX_TEXT_CHARS, MAX_CALL_CHARS, MAX_ARGS, MAX_QUOTE_CHARS) == (8192, 16384, 16, 200)
    from simenv import files
    from simenv.scenario.loader import load_scenario

    def steps(step_list):
        for s in step_list:
            yield s
            yield from steps(s.on_deny)

    longest = 0
    for name in files.list_shipped("scenarios"):
        spec, _ = load_scenario(name)
        for a in spec.agents:
            for plan in [a.plan, *a.plans.values()]:
                for s in steps(plan):
                    longest = max([longest, len(s.justification or ""), *map(len, s.args.values())])
    assert 0 < longest < MAX_TEXT_CHARS // 20


def test_forty_ten_megabyte_calls_leave_a_small_audit(tmp_path):
    engine, _ = make_episode("secrets_sprawl", "allow_all", 0)
    st = engine.states[0]
    engine.open_ticket(st)
    secret = next(r.name for r in engine.world.resources if r.type.value == "secret")
    for _ in range(40):
        engine.handle(st, ToolCall("vault_write_secret", {"secret": secret, "value": "z" * 10_000_000}))
    engine.finish()
    out = tmp_path / "audit.jsonl"
    engine.audit.to_jsonl(out)
    assert out.stat().st_size < 100_000, out.stat().st_size  # it was 1.98 GB


def test_complete_or_abort_without_an_open_ticket_is_an_invalid_call_not_an_exception():
    engine, _ = make_episode("scope_creep", "allow_all", 0)
    st = engine.states[0]
    engine.open_ticket(st)
    assert engine.handle(st, ToolCall("complete_ticket", {})).kind == "control"
    st.queue.clear()
    rec = engine.handle(st, ToolCall("abort_ticket", {}))
    assert rec.effect == "invalid" and "no open ticket" in rec.reasons[0]


def test_a_call_while_one_waits_for_approval_or_after_a_halt_is_refused_as_invalid():
    engine, _ = make_episode("long_lived_key", "jit_approval", 0)
    st = engine.states[0]
    engine.open_ticket(st)
    first = engine.handle(st, ToolCall("vault_create_access_key", KEY, justification="rotate"))
    assert first.effect == "pending"
    again = engine.handle(st, ToolCall("vault_create_access_key", {**KEY, "lifetime": "never"}))
    assert again.effect == "invalid" and f"approval of call {first.seq}" in again.reasons[0]
    assert st.pending is not None and st.pending.seq == first.seq  # the first call still waits, and will settle
    st.halted = True
    assert "halted" in engine.handle(st, ToolCall("complete_ticket", {})).reasons[0]


def test_the_agent_own_arguments_object_is_not_changed_by_coercion():
    args = {"table": "payments", "justification": "why", "_credential": "cred-1"}
    call = coerce_call({"name": "db_query", "arguments": args})
    assert (call.justification, call.credential, call.args) == ("why", "cred-1", {"table": "payments"})
    assert args == {"table": "payments", "justification": "why", "_credential": "cred-1"}


def test_the_llm_adapter_reaches_the_same_validation():
    sent = [{"id": "c1", "type": "function", "function": {"name": "vault_create_access_key",
                                                          "arguments": '{"key": "billing-key", "lifetime": "\\ud800"}'}},
            {"id": "c2", "type": "function", "function": {"name": "vault_create_access_key",
                                                          "arguments": json.dumps({**KEY, "pad": "p" * 20_000})}},
            {"id": "c3", "type": "function", "function": {"name": "vault_create_access_key",
                                                          "arguments": json.dumps(KEY)}, "credential": "cred-1"}]

    def model(messages, tools):
        return sent.pop(0) if sent else None

    r = run_episode("long_lived_key", "intent_rego", seed=0, agent=LLMAgent(model))
    calls = r.audit.of_kind(CallRecord)
    assert [c.effect for c in calls[:3]] == ["invalid"] * 3
    assert ["lone surrogate" in calls[0].reasons[0], "characters of JSON" in calls[1].reasons[0],
            "unknown field(s) ['credential']" in calls[2].reasons[0]] == [True] * 3
    assert r.scores["audit_complete"]


@pytest.mark.parametrize("which", ["gymnasium", "pettingzoo"])
def test_env_actions_reach_the_same_validation_and_every_enumerated_action_passes_it(which, monkeypatch):
    seen = []

    def spy(call):
        seen.append(call)
        check_call(call)

    monkeypatch.setattr(mediator, "check_call", spy)
    if which == "gymnasium":
        import gymnasium as gym

        env = gym.make("simenv/IAM-v0", scenario="scope_creep", policy="static_rbac").unwrapped
        env.reset(seed=0)
        env.step(env.action_names.index("db_query(table=payments)"))
        calls = env.calls
    else:
        from simenv.envs import parallel_env

        env = parallel_env("multi_agent_chaining", "static_rbac")
        env.reset(seed=0)
        env.step({a: 3 for a in env.agents})
        calls = env.calls
    assert seen, "the env's call did not go through the mediator's check"
    for c in calls[1:]:
        check_call(c)  # raises if a legitimate action were refused
