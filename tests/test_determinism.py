"""The same scenario, profile, seed and agent give the same fingerprint in any process, after any history.

Fresh interpreters with different ``PYTHONHASHSEED`` values (string hashes, and so the iteration
order of sets, differ between them; object addresses differ with ASLR), and one interpreter that
runs the cases in a shuffled order with other episodes in between, must agree on every
fingerprint of every shipped scenario under five profiles and two seeds (the behaviour model), and
under every shipped profile with the scenario's scripted agents.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PAIRS, SCENARIOS

HERE = Path(__file__).resolve().parent
PROFILES = ("allow_all", "static_rbac", "zero_standing", "intent_cedar", "intent_rego")  # Cedar and Rego share
# what they build per process (an entity store per estate template, a compiled policy per text)
SEEDS = (3, 16)
CASES = [[s, p, seed, "llm_stub"] for s in SCENARIOS for p in PROFILES for seed in SEEDS] + [
    [s, p, 7, "scripted"] for s, p in PAIRS]  # every shipped profile: what ``simenv run SCENARIO --policy P`` runs


def fingerprints(hash_seed: str, *extra: str) -> dict[str, str]:
    r = subprocess.run([sys.executable, str(HERE / "fingerprints.py"), json.dumps(CASES), *extra],
                       capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONHASHSEED": hash_seed})
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def test_fingerprints_do_not_depend_on_the_process_or_its_history():
    runs = {"hash seed 0": fingerprints("0"), "hash seed 4242": fingerprints("4242"),
            "hash seed 77, shuffled, after other episodes": fingerprints("77", "--shuffle", "5", "--noise", "1")}
    first_name, first = next(iter(runs.items()))
    assert len(first) == len(CASES)
    for name, got in runs.items():
        diff = sorted(k for k in first if got.get(k) != first[k])
        assert not diff, f"{len(diff)} of {len(CASES)} fingerprints differ between {first_name!r} and {name!r}: {diff[:5]}"


def test_a_rewritten_file_is_read_again_even_with_the_same_mtime(tmp_path):
    from simenv.scenario.loader import load_scenario

    src = (HERE.parent / "scenarios" / "scope_creep.yaml").read_text()
    path = tmp_path / "s.yaml"
    path.write_text(src)
    stamp = path.stat().st_mtime_ns
    assert load_scenario(path)[0].max_ticks == 40
    path.write_text(src.replace("max_ticks: 40", "max_ticks: 41"))
    os.utime(path, ns=(stamp, stamp))
    assert load_scenario(path)[0].max_ticks == 41


def test_a_loaded_spec_is_the_callers_own():
    from simenv.governance.profile import load_profile
    from simenv.scenario.loader import load_scenario

    spec, _ = load_scenario("scope_creep")
    spec.identities.clear()
    spec.tickets[0].intent.clear() if spec.tickets else None
    again, _ = load_scenario("scope_creep")
    assert again.identities and again.tickets[0].intent
    prof, _ = load_profile("zero_standing")
    prof.monitors.clear()
    assert load_profile("zero_standing")[0].monitors


@pytest.mark.parametrize("profile", ["intent_rego", "intent_agt", "intent_cedar", "zero_standing"])
def test_episodes_in_threads_decide_as_they_do_alone(profile):
    """Compiled policies are shared per process (a Rego interpreter, the toolkit's runtime): threads take turns on them."""
    from concurrent.futures import ThreadPoolExecutor

    from simenv import run_episode

    cases = [(s, seed) for s in ("scope_creep", "delegated_admin", "key_export", "multi_agent_chaining") for seed in (0, 1)]
    alone = {c: run_episode(c[0], profile, seed=c[1]).scores["fingerprint"] for c in cases}
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda c: run_episode(c[0], profile, seed=c[1]).scores["fingerprint"], cases * 3))
    assert got == [alone[c] for c in cases * 3]
