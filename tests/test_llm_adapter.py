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
