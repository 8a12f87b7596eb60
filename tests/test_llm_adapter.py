"""The real-LLM adapter: chat-completions in and out, record and replay, garbage never crashes."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import simenv_cli

from simenv import run_episode
from simenv.agents.llm import LLMAgent, ReplayAgent
from simenv.errors import SimenvError

SHIPPED = Path(__file__).resolve().parents[1] / "simenv" / "agents" / "transcripts" / "scope_creep_llm_stub.jsonl"


def _lines(path):
    return [json.loads(x) for x in Path(path).read_text().splitlines()]


def test_shipped_transcript_replays_to_its_recorded_fingerprint():
    lines = _lines(SHIPPED)
    head, result = lines[0], lines[-1]
    assert head["type"] == "header" and result["type"] == "result"
    r = run_episode(head["scenario"], head["policy"], seed=head["seed"], agent=ReplayAgent(SHIPPED))
    assert r.scores["fingerprint"] == result["fingerprint"], (
        "the engine's audit changed on purpose? re-record with: simenv record scope_creep --policy static_rbac "
        "--seed 2 --out simenv/agents/transcripts/scope_creep_llm_stub.jsonl")
    cli = simenv_cli("run", head["scenario"], "--policy", head["policy"], "--seed", str(head["seed"]),
                     "--agent", f"replay:{SHIPPED}", "--json")
    assert cli.returncode == 0 and json.loads(cli.stdout)["fingerprint"] == result["fingerprint"]


def test_record_then_replay_round_trip(tmp_path):
    out = tmp_path / "t.jsonl"
    r = simenv_cli("record", "multi_agent_chaining", "--policy", "jit", "--seed", "4", "--preset", "reckless",
                   "--out", str(out))
    assert r.returncode == 0, r.stderr
    fp = _lines(out)[-1]["fingerprint"]
    again = run_episode("multi_agent_chaining", "jit", seed=4, agent=ReplayAgent(out))
    assert again.scores["fingerprint"] == fp


def test_divergence_is_detected(tmp_path):
    out = tmp_path / "t.jsonl"
    out.write_text(SHIPPED.read_text())
    head = _lines(out)[0]
    with pytest.raises(SimenvError, match="diverged"):
        run_episode(head["scenario"], "deny_all", seed=head["seed"], agent=ReplayAgent(out))
    r = simenv_cli("run", head["scenario"], "--policy", "deny_all", "--agent", f"replay:{out}")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "diverged" in r.stderr


def _crafted(edit):
    lines = _lines(SHIPPED)
    first = next(i for i, x in enumerate(lines) if x["type"] == "exchange")
    return [edit(x) if i in (0, first) else x for i, x in enumerate(lines)], first + 1


CRAFTED = {  # a transcript is data from anywhere: each edit, and what the one line says
    "not_an_object": (lambda x: [x] if x["type"] == "header" else x, 1, "not a JSON object"),
    "no_identity": (lambda x: {k: v for k, v in x.items() if k != "identity"} if x["type"] == "header" else x, 1,
                    "the header names no identity"),
    "request_number": (lambda x: {**x, "request": 7} if x["type"] == "exchange" else x, None, "request is missing"),
    "tick_text": (lambda x: {**x, "tick": "x"} if x["type"] == "exchange" else x, None, "tick is missing"),
    "response_list": (lambda x: {**x, "response": []} if x["type"] == "exchange" else x, None, "response is missing"),
    "no_n": (lambda x: {k: v for k, v in x.items() if k != "n"} if x["type"] == "exchange" else x, None, "n is missing"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_transcript_is_one_line_naming_the_line(tmp_path, case):
    edit, line, words = CRAFTED[case]
    lines, first = _crafted(edit)
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    with pytest.raises(SimenvError, match=words):
        ReplayAgent(path)
    r = simenv_cli("run", "scope_creep", "--policy", "static_rbac", "--agent", f"replay:{path}")
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"{path}: line {line or first}: " in r.stderr and words in r.stderr, r.stderr


def test_messages_and_tools_are_chat_completions_shaped():
    seen = {}

    def model(messages, tools):
        seen.setdefault("first", (list(messages), tools))
        if len(messages) > 4:
            return None
        return {"id": "c1", "type": "function", "function": {"name": "db_query", "arguments": '{"table": "payments"}'}}

    r = run_episode("scope_creep", "static_rbac", seed=0, agent=LLMAgent(model))
    messages, tools = seen["first"]
    assert messages[0]["role"] == "system" and messages[1]["role"] == "user" and "T-7" in messages[1]["content"]
    assert all(t["type"] == "function" for t in tools)
    assert r.scores["task_success"] is False and r.scores["audit_complete"]


def test_a_fuzzing_model_never_crashes_the_run():
    rng = np.random.default_rng(0)
    junk = [3, "x", [], {}, {"function": 5}, {"function": {"name": None}},
            {"function": {"name": "db_query", "arguments": "{not json"}},
            {"function": {"name": "db_query", "arguments": '["a"]'}},
            {"function": {"name": "nope", "arguments": "{}"}},
            {"function": {"name": "db_query", "arguments": '{"table": {"deep": [1]}}'}},
            {"function": {"name": "idp_assign_role", "arguments": '{"role": "global-admin", "identity": "$self", '
                                                                 '"_credential": 17}'}}]

    def model(messages, tools):
        return junk[int(rng.integers(0, len(junk)))]

    for policy in ("allow_all", "static_rbac", "jit"):
        r = run_episode("scope_creep", policy, seed=1, agent=LLMAgent(model))
        assert r.scores["audit_complete"] and r.scores["invalid_calls"] > 0


def test_the_model_is_offered_complete_ticket_and_abort_ticket():
    from simenv.world.catalog import tool_schemas

    seen = {}

    def model(messages, tools):
        seen["tools"] = tools
        seen["system"] = messages[0]["content"]
        return None

    run_episode("scope_creep", "static_rbac", seed=0, agent=LLMAgent(model))
    names = [t["function"]["name"] for t in seen["tools"]]
    assert names == [*(s["function"]["name"] for s in tool_schemas()), "complete_ticket", "abort_ticket"]
    for control in seen["tools"][-2:]:
        assert control["type"] == "function" and control["function"]["description"]
        assert control["function"]["parameters"] == {"type": "object", "properties": {}, "required": [],
                                                     "additionalProperties": False}
    assert "complete_ticket" in seen["system"] and "abort_ticket" in seen["system"]


def test_a_model_that_calls_the_control_tools_completes_and_aborts_its_tickets():
    from simenv.sim.records import ControlRecord

    log = []

    def model(messages, tools):
        log.append(list(messages))
        name = "abort_ticket" if sum(m["role"] == "user" for m in messages) == 1 else "complete_ticket"
        return {"id": f"c{len(log)}", "type": "function", "function": {"name": name, "arguments": "{}"}}

    r = run_episode("credential_persistence", "allow_all", seed=0, agent=LLMAgent(model))
    ops = [(c.agent, c.op) for c in r.audit.of_kind(ControlRecord)]
    assert ops == [("ops-bot", "abort"), ("ops-bot", "complete")] and r.scores["invalid_calls"] == 0
    # every tool call the model made is answered by a tool message before the next ticket's user message
    last = log[-1]
    answered = [m["tool_call_id"] for m in last if m["role"] == "tool"]
    assert answered == ["c1"] and [m["role"] for m in last[-3:]] == ["assistant", "tool", "user"]
