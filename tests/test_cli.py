"""The command line: list, run (trail, --json, --audit), determinism across processes."""

import json
import subprocess
import sys

import pytest
from conftest import POLICIES, SCENARIOS, simenv_cli

from simenv.metrics import SCORE_NAMES
from simenv.sim.audit import Audit


def test_list_json():
    r = simenv_cli("list", "--json")
    assert r.returncode == 0
    data = json.loads(r.stdout)
    assert data["scenarios"] == SCENARIOS and data["policies"] == POLICIES
    assert {"scripted", "null", "oracle"} <= set(data["agents"])


SAMPLE = [(s, POLICIES[i % len(POLICIES)]) for i, s in enumerate(SCENARIOS)]
"""Each scenario once, and each profile once or twice: the command's output in two processes (the fingerprints of
every pair, in processes with other hash seeds and histories, are compared by test_determinism.py)."""


@pytest.mark.parametrize("pair", SAMPLE)
def test_run_json_is_one_object_with_the_same_fingerprint_in_two_processes(pair):
    s, p = pair
    a = simenv_cli("run", s, "--policy", p, "--seed", "7", "--json", env={"PYTHONHASHSEED": "1"})
    b = simenv_cli("run", s, "--policy", p, "--seed", "7", "--json", env={"PYTHONHASHSEED": "2"})
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    sa, sb = json.loads(a.stdout), json.loads(b.stdout)
    assert set(SCORE_NAMES) <= set(sa)
    assert sa["fingerprint"] == sb["fingerprint"]
    assert sa == sb


def test_run_prints_trail_and_scores_and_writes_audit(tmp_path):
    out = tmp_path / "sub" / "a.jsonl"
    r = simenv_cli("run", "scope_creep", "--policy", "static_rbac", "--seed", "1", "--audit", str(out))
    assert r.returncode == 0, r.stderr
    assert "idp_assign_role(role=db-admin, identity=provisioner)" in r.stdout
    assert "OUT-OF-INTENT" in r.stdout and "rbac.role_binding" in r.stdout
    assert "blast_radius" in r.stdout and "fingerprint" in r.stdout
    audit = Audit.from_jsonl(out)
    assert audit.fingerprint() in r.stdout


def test_run_with_a_file_path(tmp_path):
    from simenv import files

    src = files.shipped_dir("scenarios") / "delegated_admin.yaml"
    dst = tmp_path / "mine.yaml"
    dst.write_text(src.read_text())
    pol = tmp_path / "pol.yaml"
    pol.write_text((files.shipped_dir("policies") / "static_rbac.yaml").read_text())
    r = simenv_cli("run", str(dst), "--policy", str(pol), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["task_success"] is True


def test_tools_lists_every_tool_with_what_it_changes():
    from simenv.world.catalog import CATALOG

    r = simenv_cli("tools")
    assert r.returncode == 0, r.stderr
    for name, spec in CATALOG.items():
        assert f"{name}  [{spec.system}/{spec.risk}]" in r.stdout and spec.changes in r.stdout
    assert "escalates: grant" in r.stdout and "irreversible" in r.stdout


def test_tools_json_is_one_array_of_one_object_per_tool():
    from simenv.world import reference

    r = simenv_cli("tools", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == reference.tool_docs()
    one = simenv_cli("tools", "vault_read_secret", "--json")
    assert json.loads(one.stdout)["escalates"] == "yield"


def test_tools_name_shows_one_tool_and_an_unknown_name_is_one_line_exit_2():
    r = simenv_cli("tools", "cloud_assume_role")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("cloud_assume_role  [cloud/credential_issue] reversible, escalates: assume (")
    assert "role: a cloud role" in r.stdout and "idp_add_member" not in r.stdout
    bad = simenv_cli("tools", "cloud_asume_role")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == ["simenv tools: unknown tool 'cloud_asume_role'; did you mean 'cloud_assume_role'?"]
    none = simenv_cli("tools", "qqqq")
    assert none.returncode == 2 and len(none.stderr.splitlines()) == 1 and "simenv tools" in none.stderr


def test_tools_markdown_is_docs_tools_md():
    from pathlib import Path

    r = simenv_cli("tools", "--markdown")
    assert r.returncode == 0
    assert r.stdout == (Path(__file__).resolve().parents[1] / "docs" / "tools.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("policy", ["intent_rego", "intent_agt"])
def test_the_command_frees_rego_cpp_before_it_freezes_the_heap_and_exits(policy):
    """The console script skips the interpreter's last collections (``ready_to_exit``); rego-cpp's handles are freed
    first, so an episode under a Rego policy ends with a clean stderr (freed late, their finalizers raise)."""
    r = simenv_cli("run", "scope_creep", "--policy", policy, "--json")
    assert r.returncode == 0, r.stderr
    assert "Exception ignored" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert "blast_radius" in json.loads(r.stdout)


def test_run_freezes_the_heap_only_on_the_way_out_and_keeps_the_exit_status():
    code = ("import gc, sys\nfrom simenv import cli\nsys.argv = ['simenv', 'list']\nbefore = gc.get_freeze_count()\n"
            "try:\n    cli.run()\nexcept SystemExit as e:\n"
            "    print(before, gc.get_freeze_count() > 0, e.code, file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stderr.split() == ["0", "True", "0"], r.stderr
    bad = simenv_cli("run", "no_such_scenario")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
