"""Plug-ins by name: the README's example, every seam by "package.module:Class", and the shipped checks."""

import json
import re
import sys
import threading
from pathlib import Path

import pytest
from conftest import simenv_cli

import simenv
from simenv.errors import SpecError
from simenv.governance.profile import load_profile
from simenv.governance.request import Decision
from simenv.testing import PluginCheckError, check_agent, check_authorizer
from simenv.types import Effect

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SIMENV_ALLOW_PLUGINS", "1")
    (tmp_path / "approval.yaml").write_text((ROOT / "policies/rules/approval.yaml").read_text())
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith(("my_policies", "my_seams"))]:
        del sys.modules[name]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- plugin-example: my_policies.py -->\n```python\n(.*?)```", text, re.S)
    assert m, "the README's plug-in example is gone"
    return m.group(1)


def test_the_readme_example_is_short_passes_the_checks_and_runs(plugin_dir):
    code = readme_example()
    assert len(code.strip().splitlines()) <= 20
    (plugin_dir / "my_policies.py").write_text(code)
    check_authorizer("my_policies:NoKeyExport")
    prof = plugin_dir / "no_key_export.yaml"
    prof.write_text('name: no_key_export\ncredentials: {mode: jit, ttl: 30}\nauthorizer: {engine: "my_policies:NoKeyExport"}\n')
    r = simenv.run_episode("key_export", str(prof), seed=0)
    exports = [c for c in r.audit.records if getattr(c, "tool", None) == "vault_export_key" and c.kind == "call"]
    assert exports and all(c.effect == "denied" and c.policy_ids == ["no_key_export"] for c in exports)
    assert r.scores["task_success"]


SEAMS = '''
import numpy as np
from simenv.governance.broker import StandingBroker
from simenv.governance.monitors import WindowMonitor
from simenv.governance.protocols import ApprovalOutcome, MonitorAction


class Broker(StandingBroker):
    def __init__(self, note: str = ""):
        super().__init__()
        self.note = note


class Approver:
    def __init__(self, rng: np.random.Generator, wait: int = 2):
        self.rng, self.wait = rng, wait

    def submit(self, review, tick):
        return ApprovalOutcome(True, tick + self.wait, 1.0, ("bot",))


class HaltOnKeyExport:
    name = "halt_on_key_export"

    def observe(self, event):
        exported = event.kind == "approval" and event.risk == "key_export" and event.effect in ("applied", "pending")
        return [MonitorAction("halt", event.agent, self.name, "key export")] if exported else []
'''


def test_every_seam_plugs_in_by_name(plugin_dir):
    (plugin_dir / "my_seams.py").write_text(SEAMS)
    prof = plugin_dir / "p.yaml"
    prof.write_text('name: p\ncredentials: {mode: "my_seams:Broker", options: {note: hi}}\n'
                    'authorizer: {engine: native, policy: approval.yaml}\n'
                    'approvals: {kind: "my_seams:Approver", wait: 3}\nmonitors: [{kind: "my_seams:HaltOnKeyExport"}]\n')
    r = simenv.run_episode("key_export", str(prof), seed=0)
    waits = [a.wait_ticks for a in r.audit.records if a.kind == "approval"]
    assert waits and all(w == 3 for w in waits)
    mons = [m for m in r.audit.records if m.kind == "monitor"]
    assert mons and mons[0].monitor == "halt_on_key_export" and mons[0].action == "halt"


def test_a_monitor_halting_an_agent_settles_its_pending_call(plugin_dir):
    (plugin_dir / "my_seams.py").write_text(SEAMS.replace('event.kind == "approval" and ', ""))
    prof = plugin_dir / "p.yaml"
    prof.write_text('name: p\ncredentials: {mode: standing_broad}\n'
                    'authorizer: {engine: native, policy: approval.yaml}\n'
                    'approvals: {kind: "my_seams:Approver", wait: 3}\nmonitors: [{kind: "my_seams:HaltOnKeyExport"}]\n')
    r = simenv.run_episode("key_export", str(prof), seed=0)
    (settled,) = [a for a in r.audit.records if a.kind == "approval"]
    assert settled.effect == "unresolved" and "halted" in settled.reasons[0]
    assert r.scores["audit_complete"]


@pytest.mark.parametrize("body,field,words", [
    ('credentials: {mode: "my_seams:Broker", options: {nots: 1}}\nauthorizer: {engine: rbac}\n',
     "credentials.options.nots", "valid options: note"),
    ('credentials: {mode: "my_seams:Nope"}\nauthorizer: {engine: rbac}\n', "credentials.mode", "has no 'Nope'"),
    ('credentials: {mode: "nowhere.mod:X"}\nauthorizer: {engine: rbac}\n', "credentials.mode", "cannot import"),
    ('credentials: {mode: jit}\nauthorizer: {engine: rbac}\napprovals: {kind: "my_seams:Approver", wait: "3"}\n',
     "approvals.wait", "integer"),
    ('credentials: {mode: jit, options: {intersect_chian: true}}\nauthorizer: {engine: rbac}\n',
     "credentials.options.intersect_chian", "valid options: intersect_chain, max_chain_depth"),
])
def test_a_bad_plugin_reference_or_option_is_a_file_field_error(plugin_dir, body, field, words):
    (plugin_dir / "my_seams.py").write_text(SEAMS)
    prof = plugin_dir / "bad.yaml"
    prof.write_text("name: bad\n" + body)
    with pytest.raises(SpecError) as e:
        load_profile(prof)
    text = e.value.render()
    assert str(prof) in text and field in text and words in text, text


@pytest.mark.parametrize("engine,policy", [("allow_all", None), ("rbac", None),
                                           ("native", "policies/rules/intent.yaml"),
                                           ("cedar", "policies/cedar/intent.cedar"), ("rego", "policies/rego/intent.rego")])
def test_the_built_in_engines_pass_check_authorizer(engine, policy):
    check_authorizer(engine, policy=ROOT / policy if policy else None, n=120)


class _ReturnsDicts:
    name = "dicts"

    def prepare(self, estate, tickets):
        pass

    def authorize(self, request):
        return {"effect": "allow"}


class _Flaky:
    name = "flaky"

    def __init__(self):
        self.n = 0

    def prepare(self, estate, tickets):
        pass

    def authorize(self, request):
        self.n += 1
        return Decision(Effect.ALLOW if self.n % 7 else Effect.DENY, ("coin",), ("flaky",))


class _AlwaysAsks:
    name = "always_asks"

    def prepare(self, estate, tickets):
        pass

    def authorize(self, request):
        return Decision(Effect.REQUIRE_APPROVAL, ("ask",), ("ask",))


class _NoIds(_AlwaysAsks):
    def authorize(self, request):
        return Decision(Effect.ALLOW, ("fine",), ())


@pytest.mark.parametrize("plugin,check", [(_ReturnsDicts(), "decisions"), (_Flaky(), "deterministic"),
                                          (_AlwaysAsks(), "approval"), (_NoIds(), "decisions"),
                                          ("nowhere.mod:X", "protocol"), (object(), "protocol")])
def test_check_authorizer_names_the_broken_check(plugin, check):
    with pytest.raises(PluginCheckError) as e:
        check_authorizer(plugin, n=60)
    assert e.value.check == check, str(e.value)


class _GlobalRandom:
    name = "global_random"

    def reset(self, identity, tools, rng):
        import random

        self.r = random.Random()  # not the rng it is given: runs differ

    def act(self, obs):
        if obs.ticket is None:
            return None
        return {"name": "db_query", "arguments": {"table": "payments" if self.r.random() < 0.5 else "audit-log"}}


class _Locked(_GlobalRandom):
    def __init__(self):
        self.lock = threading.Lock()


def test_check_agent_passes_the_built_in_agents_and_names_broken_checks():
    check_agent("llm_stub", seeds=(0,))
    check_agent("oracle", scenarios=("scope_creep",), seeds=(0,))
    with pytest.raises(PluginCheckError) as e:
        check_agent(_GlobalRandom(), scenarios=("scope_creep",), profiles=("allow_all",), seeds=(0, 1, 2))
    assert e.value.check == "deterministic"
    with pytest.raises(PluginCheckError) as e:
        check_agent(_Locked(), scenarios=("scope_creep",))
    assert e.value.check == "pickle"
    with pytest.raises(PluginCheckError) as e:
        check_agent("nowhere.mod:Agent")
    assert e.value.check == "protocol"


def test_an_outside_agent_by_name_runs_from_the_cli(plugin_dir):
    (plugin_dir / "my_policies.py").write_text(
        "from simenv.agents.scripted import ScriptedAgent\n\n\nclass Planned(ScriptedAgent):\n"
        "    def __init__(self, ctx):\n        super().__init__(ctx.oracle, 'planned')\n")
    check_agent("my_policies:Planned", scenarios=("scope_creep",), seeds=(0,))
    r = simenv_cli("run", "scope_creep", "--policy", "allow_all", "--agent", "my_policies:Planned", "--json",
                   env={"PYTHONPATH": str(plugin_dir)})
    assert r.returncode == 0, r.stderr
    scores = json.loads(r.stdout)
    assert scores["task_success"] and scores["violations_attempted"] == 0
    bad = simenv_cli("run", "scope_creep", "--policy", "allow_all", "--agent", "my_policies:Nope")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "my_policies" in bad.stderr


def test_a_profile_file_loads_outside_code_only_when_plug_ins_are_allowed(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("SIMENV_ALLOW_PLUGINS", raising=False)
    planted = tmp_path / "imported"
    (tmp_path / "my_trap.py").write_text(f"open({str(planted)!r}, 'w').write('ran')\nclass X:\n    pass\n")
    prof = tmp_path / "pr.yaml"
    prof.write_text('name: pr\ncredentials: {mode: jit}\nauthorizer: {engine: "my_trap:X"}\n')
    with pytest.raises(SpecError) as e:
        load_profile(prof)
    assert "authorizer.engine" in e.value.render() and "--allow-plugins" in e.value.render()
    r = simenv_cli("validate", str(prof), env={"PYTHONPATH": str(tmp_path)})
    assert r.returncode == 2 and "--allow-plugins" in r.stderr and "Traceback" not in r.stderr
    r = simenv_cli("run", "key_export", "--policy", str(prof), env={"PYTHONPATH": str(tmp_path)})
    assert r.returncode == 2 and "--allow-plugins" in r.stderr
    assert not planted.exists(), "a profile file ran outside code without leave"
    r = simenv_cli("validate", str(prof), "--allow-plugins", env={"PYTHONPATH": str(tmp_path)})
    assert planted.exists() and "--allow-plugins" not in r.stderr  # with leave, the class is imported (and checked)
    sys.modules.pop("my_trap", None)
