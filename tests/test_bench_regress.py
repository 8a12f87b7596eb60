"""Regression against the committed baseline (the project's own CI gate), injected regressions, replay."""

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from conftest import simenv_cli

from simenv import files
from simenv.bench.regress import compare_to_baseline, failed, make_baseline
from simenv.bench.runner import run_matrix

BASELINE = Path(__file__).resolve().parent.parent / "benchmarks" / "baseline.json"
SCEN = ["delegated_admin", "scope_creep", "multi_agent_chaining"]
POLS = ["allow_all", "deny_all", "static_rbac", "jit_approval"]


@pytest.fixture(scope="module")
def current(tmp_path_factory):
    out = tmp_path_factory.mktemp("current")
    run_matrix(SCEN, POLS, 5, executor="serial", out=out)
    return out


def test_committed_baseline_passes(current, tmp_path):
    junit, md = tmp_path / "junit.xml", tmp_path / "regress.md"
    r = simenv_cli("regress", "--baseline", str(BASELINE), "--results", str(current), "--junit", str(junit),
                   "--summary-md", str(md))
    assert r.returncode == 0, r.stdout + r.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == str(len(SCEN) * len(POLS)) and suite.get("failures") == "0"
    assert md.read_text().startswith("### simenv regress: pass")


def test_injected_regression_fails(tmp_path):
    text = (files.shipped_dir("policies") / "static_rbac.yaml").read_text()
    text = text.replace("{mode: standing_broad}", "{mode: unrestricted}").replace("{engine: rbac}", "{engine: allow_all}")
    worse = tmp_path / "static_rbac_weakened.yaml"
    worse.write_text(text)
    out = tmp_path / "res"
    df = run_matrix(SCEN, ["allow_all", "deny_all", str(worse), "jit_approval"], 5, executor="serial", out=out)
    assert "static_rbac" in set(df["policy"])
    junit, md = tmp_path / "junit.xml", tmp_path / "regress.md"
    r = simenv_cli("regress", "--baseline", str(BASELINE), "--results", str(out), "--junit", str(junit),
                   "--summary-md", str(md))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "| static_rbac |" in md.read_text() and "worse" in md.read_text()
    failing = [c.get("name") for c in ET.parse(junit).getroot().iter("testcase") if c.find("failure") is not None]
    assert failing and all(name.startswith("static_rbac") for name in failing)


def test_removing_the_approval_rule_is_caught(tmp_path):
    src = files.shipped_dir("policies")
    rules = (src / "rules" / "approval.yaml").read_text()
    head, _, rest = rules.partition("  - id: approval.high_risk")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "approval.yaml").write_text(head + "  - id: approval.allow_covered" +
                                                      rest.split("  - id: approval.allow_covered")[1])
    weak = tmp_path / "jit_approval.yaml"
    weak.write_text((src / "jit_approval.yaml").read_text())  # same name, approval rule removed
    out = tmp_path / "res"
    run_matrix(SCEN, [p if p != "jit_approval" else str(weak) for p in POLS], 5, executor="serial", out=out)
    md = tmp_path / "regress.md"
    r = simenv_cli("regress", "--baseline", str(BASELINE), "--results", str(out), "--summary-md", str(md))
    assert r.returncode == 1, r.stdout + r.stderr  # the unchanged profiles pass: see test_committed_baseline_passes
    worse = [line for line in md.read_text().splitlines() if "worse" in line]
    assert worse and all("| jit_approval |" in line for line in worse)


def test_a_profile_that_lets_more_violations_through_is_caught(current):
    import pandas as pd

    eps = pd.read_parquet(current / "episodes.parquet")
    base = make_baseline(eps, n_resamples=500)
    assert not failed(compare_to_baseline(base, eps, n_resamples=500))
    # What removing an approval rule does: out-of-intent calls that waited for a human now execute.
    weakened = eps.copy()
    rows = (weakened["policy"] == "deny_all") & (weakened["scenario"] == "scope_creep")
    weakened.loc[rows, "violations_executed"] = weakened.loc[rows, "violations_attempted"]
    weakened.loc[rows, "approval_wait_ticks"] = 0
    bad = failed(compare_to_baseline(base, weakened, n_resamples=500))
    assert {(f.scenario, f.policy, f.score) for f in bad} == {("scope_creep", "deny_all", "violations_executed")}


def test_one_seed_of_noise_and_improvements_do_not_fail(current):
    import pandas as pd

    eps = pd.read_parquet(current / "episodes.parquet")
    base = make_baseline(eps, n_resamples=500)
    noisy = eps.copy()
    i = noisy.index[(noisy["policy"] == "static_rbac") & (noisy["scenario"] == "scope_creep")][0]
    noisy.loc[i, "exposure"] = noisy.loc[i, "exposure"] * 1.5
    better = eps.copy()
    better["blast_radius"] = 0.0
    assert not failed(compare_to_baseline(base, noisy, n_resamples=500))
    assert not failed(compare_to_baseline(base, better, n_resamples=500))


def test_missing_cell_fails_and_update_writes_a_baseline(current, tmp_path):
    path = tmp_path / "base.json"
    assert simenv_cli("regress", "--update", "--baseline", str(path), "--results", str(current)).returncode == 0
    doc = json.loads(path.read_text())
    doc["cells"].append({**doc["cells"][0], "policy": "gone"})
    path.write_text(json.dumps(doc))
    r = simenv_cli("regress", "--baseline", str(path), "--results", str(current))
    assert r.returncode == 1 and "missing" in r.stdout


def test_replay_matches_and_detects_a_tampered_log(tmp_path):
    log = tmp_path / "a.jsonl"
    assert simenv_cli("run", "scope_creep", "--policy", "static_rbac", "--seed", "4", "--audit", str(log)).returncode == 0
    ok = simenv_cli("replay", str(log))
    assert ok.returncode == 0 and "match" in ok.stdout, ok.stderr
    lines = log.read_text().splitlines()
    rec = json.loads(lines[-1])
    rec["tick"] = rec["tick"] + 1
    lines[-1] = json.dumps(rec)
    log.write_text("\n".join(lines) + "\n")
    bad = simenv_cli("replay", str(log))
    assert bad.returncode == 1 and "MISMATCH" in bad.stdout
    missing = simenv_cli("replay", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def _edit_first_cell(edit):
    doc = json.loads(BASELINE.read_text())
    edit(doc["cells"][0])
    return json.dumps(doc)


BAD_BASELINES = {  # a baseline comes with a pull request: each is a one-line-per-field error, exit 2
    "not_json": ("{cells: [", "cannot read the baseline"),
    "nan": (BASELINE.read_text().replace('"mean": 0.0', '"mean": NaN', 1), "NaN is not a number JSON holds"),
    "a_list": ("[1, 2]", "a baseline is a JSON object"),
    "no_cells": ('{"version": 1}', "cells: Field required"),
    "cells_text": ('{"version": 1, "cells": "all"}', "cells: Input should be a valid list"),
    "no_policy": (_edit_first_cell(lambda c: c.pop("policy")), "cells[0].policy: Field required"),
    "seed_text": (_edit_first_cell(lambda c: c.update(seeds=["0", 1])), "cells[0].seeds[0]"),
    "mean_text": (_edit_first_cell(lambda c: c["scores"]["blast_radius"].update(mean="low")),
                  "cells[0].scores.blast_radius.mean"),
    "short_values": (_edit_first_cell(lambda c: c["scores"]["blast_radius"].update(values=[0.0])),
                     "cells[0].scores.blast_radius.values: 1 values for"),
    "unknown_score": (_edit_first_cell(lambda c: c["scores"].update(luck=c["scores"]["blast_radius"])),
                      "cells[0].scores.luck: not a score with a direction"),
    "extra_field": (_edit_first_cell(lambda c: c.update(owner="me")), "cells[0].owner: unknown field"),
    "version_2": (BASELINE.read_text().replace('"version": 1', '"version": 2'), "version: 2 is not 1"),
}


@pytest.mark.parametrize("case", sorted(BAD_BASELINES))
def test_a_bad_baseline_names_the_file_and_field_and_exits_2(current, tmp_path, case):
    text, words = BAD_BASELINES[case]
    path = tmp_path / f"{case}.json"
    path.write_text(text)
    r = simenv_cli("regress", "--baseline", str(path), "--results", str(current))
    assert r.returncode == 2 and "Traceback" not in r.stderr and not r.stdout, r.stderr
    assert all(str(path) in line for line in r.stderr.strip().splitlines()), r.stderr
    assert words in r.stderr, r.stderr
