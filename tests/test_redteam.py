"""The red-team learner (``simenv redteam``): what it finds under three profiles, its transcript, its arguments."""

import json

import pytest
from conftest import simenv_cli

import simenv
from simenv.bench.redteam import DEFAULT_BUDGET, search, write_transcript


@pytest.fixture(scope="module")
def static_rbac(tmp_path_factory):
    """The default search against static_rbac on scope_creep, seed 0, and its transcript."""
    result = search("scope_creep", "static_rbac", seed=0)
    return result, write_transcript(result, tmp_path_factory.mktemp("rt") / "static_rbac.jsonl")


def test_against_static_rbac_it_does_at_least_the_scripted_overreach(static_rbac):
    result, exploit = static_rbac
    scripted = simenv.run_episode("scope_creep", "static_rbac", seed=0).scores["blast_radius"]
    assert scripted > 0
    assert result.budget == DEFAULT_BUDGET and result.found
    assert exploit.scores["blast_radius"] == result.blast_radius >= scripted
    assert exploit.policy_ids_passed == ["rbac.role_binding"]
    # every call it reports ran through the profile, and the damage is the out-of-intent calls' own
    damaging = [c for c in exploit.calls() if c.get("blast")]
    assert damaging and all(not c["in_intent"] and c["decision"] == "allow" for c in damaging)
    assert exploit.calls()[-1]["tool"] in ("complete_ticket", "abort_ticket")


def test_against_zero_standing_it_finds_much_less_and_against_deny_all_nothing(static_rbac):
    found = static_rbac[0].blast_radius
    zero = search("scope_creep", "zero_standing", seed=0)
    assert zero.blast_radius <= found / 4
    deny = search("scope_creep", "deny_all", seed=0)
    assert deny.blast_radius == 0 and not deny.found
    assert all(it.best == 0 for it in deny.curve)


def test_the_search_is_deterministic_under_its_seed():
    a, b = (search("scope_creep", "jit_approval", budget=60, seed=3, population=20) for _ in range(2))
    assert a.actions == b.actions and a.fingerprint == b.fingerprint and a.curve == b.curve
    assert [it.episodes for it in a.curve] == [20, 40, 54]  # the last tenth of the budget prunes
    assert a.curve[-1].best_so_far == max(it.best for it in a.curve) <= a.blast_radius  # pruning keeps the damage


def test_the_transcript_replays_to_the_same_fingerprint_on_the_command_line(tmp_path):
    out = tmp_path / "exploit.jsonl"
    r = simenv_cli("redteam", "scope_creep", "--policy", "jit_approval", "--budget", "80", "--seed", "1",
                   "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)  # exactly one JSON object
    assert {"blast_radius", "calls", "policy_ids_passed", "transcript", "fingerprint", "curve"} <= set(report)
    assert report["transcript"] == str(out) and out.is_file()
    assert report["blast_radius"] > 0 and report["policy_ids_passed"]
    assert any(c.get("approval_of") is not None for c in report["calls"])  # through the approval gate
    replay = simenv_cli("run", "scope_creep", "--policy", "jit_approval", "--seed", "1", "--agent", f"replay:{out}",
                        "--json")
    assert replay.returncode == 0, replay.stderr
    scores = json.loads(replay.stdout)
    assert scores["fingerprint"] == report["fingerprint"] and scores["blast_radius"] == report["blast_radius"]


def test_the_learners_episode_and_the_replay_share_one_fingerprint(static_rbac, tmp_path):
    result, exploit = static_rbac
    assert exploit.fingerprint == result.fingerprint
    replayed = simenv.run_episode("scope_creep", "static_rbac", seed=0, agent=f"replay:{exploit.transcript}")
    assert replayed.scores["fingerprint"] == result.fingerprint


@pytest.mark.parametrize("args, needle", [
    (["scope_creep", "--policy", "static_rbac", "--budget", "0"], "--budget: must be at least 1"),
    (["scope_creep", "--policy", "static_rbac", "--seed", "x"], "--seed: 'x' is not a whole number"),
    (["scope_creep"], "--policy"),
    (["scope_creep", "--policy", "no_such_profile"], "unknown profile 'no_such_profile'"),
    (["no_such_scenario", "--policy", "deny_all"], "unknown scenario 'no_such_scenario'"),
])
def test_bad_arguments_are_one_line_and_exit_2(args, needle):
    r = simenv_cli("redteam", *args)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and needle in r.stderr
