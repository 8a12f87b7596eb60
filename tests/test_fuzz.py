"""The fuzz corpus: mutated copies of the shipped files (a seeded slice each run), and every case that once failed.

Each case must be rejected by ``simenv validate`` (exit 2, one ``FILE: FIELD: message`` line per
problem, no traceback) or be valid and then run cleanly; none may hang past 10 s or grow memory
past 200 MB (see :mod:`simenv.cli.fuzz`). The regression files live in ``tests/data/fuzz/<target>/``,
each named after what it exercises; :data:`EXPECT` says what each must give.

``pytest -m fuzz_full tests/test_fuzz.py`` (or ``simenv fuzz --all``) runs the whole corpus.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simenv.cli import fuzz
from simenv.testing import mutate

HERE = Path(__file__).parent
REGRESSIONS = HERE / "data" / "fuzz"
HARNESS = HERE / "data" / "fuzz_harness"

EXPECT = {
    # file: (status, what the first error line names: a field path or a line)
    "scenario/sensitivity_inf.yaml": ("rejected", "resources[0].sensitivity: inf is not a finite number"),
    "scenario/sensitivity_1e300.yaml": ("rejected", "resources[0].sensitivity: Input should be less than or equal to"),
    "scenario/attrs_version_text.yaml": ("rejected", "resources[0].attrs.version: a count"),
    "scenario/attrs_exports_text.yaml": ("rejected", "resources[0].attrs.exports: a count"),
    "scenario/attrs_exposes_set.yaml": ("rejected", "resources[0].attrs.exposes: set by the simulation"),
    "scenario/rollback_since_text.yaml": ("rejected", "events[0].params.since: expected an int"),
    "scenario/event_param_nan.yaml": ("rejected", "events[0].params.since: nan is not a finite number"),
    "scenario/unhashable_key.yaml": ("rejected", "YAML: a list used as a key"),
    "scenario/nesting_600.yaml": ("rejected", "YAML: nested more than 100 levels deep"),
    "scenario/number_only.yaml": ("rejected", "<root>: expected a mapping at the top level, got an int"),
    "scenario/integer_5000_digits.yaml": ("rejected", "YAML: an integer of 5001 digits is too large"),
    "scenario/lone_surrogate_justification.yaml": ("rejected", "YAML: a lone surrogate ('\\ud800') is not Unicode text"),
    "scenario/yaml_tag_set.yaml": ("rejected", "YAML: the YAML tag !!set is not supported"),
    "scenario/ticket_parent_cycle.yaml": ("rejected", "tickets[0].parent: ticket 'T-20' is its own ancestor"),
    "scenario/alias_reuse.yaml": ("ran", None),
    "scenario/date_text.yaml": ("ran", None),
    "profile/allow_all_with_options.yaml": ("rejected", "authorizer.options.a: unknown option"),
    "profile/approvals_names_empty.yaml": ("rejected", "approvals.names: Value should have at least 1 item"),
    "profile/approvals_latency_1e300.yaml": ("rejected", "approvals.latency: Input should be less than or equal to"),
    "profile/approvals_latency_inf.yaml": ("rejected", "approvals.latency: inf is not a finite number"),
    "profile/approvals_review_minutes_inf.yaml": ("rejected", "approvals.review_minutes: inf is not a finite number"),
    "profile/ttl_2_63.yaml": ("rejected", "credentials.ttl: Input should be less than or equal to"),
    "profile/monitor_threshold_inf.yaml": ("rejected", "monitors[0].threshold: inf is not a finite number"),
    "profile/policy_dev_zero.yaml": ("rejected", "authorizer.policy: "),
    "profile/policy_folder.yaml": ("rejected", "authorizer.policy: "),
    "profile/policy_name_too_long.yaml": ("rejected", "authorizer.policy: "),
    "profile/policy_invalid_rules.yaml": ("rejected", "authorizer.policy: "),
    "profile/number_only.yaml": ("rejected", "<root>: expected a mapping at the top level, got a float"),
    "profile/unhashable_key.yaml": ("rejected", "YAML: a dict used as a key"),
    "rules/billion_laughs.yaml": ("rejected", "YAML: the document holds more than 200000 nodes"),
    "rules/recursive_alias.yaml": ("rejected", "YAML: alias *r refers to a node that contains it"),
    "rules/key_with_newline.yaml": ("rejected", "rules[0].when.context.\\napproval\\u202e: unknown field"),
    "rules/many_problems.yaml": ("rejected", "rules[0].when.context.nothing0: unknown field"),
    "rules/operand_inf.yaml": ("rejected", "rules[0].when.resource.sensitivity.gt: inf is not a finite number"),
    "rules/huge_operand.yaml": ("rejected", "rules[0].when.principal.name: in: expected a list of str values"),
    "cedar/long_action_name.cedar": ("rejected", "does not match the request model"),
    "cedar/deep_nesting_800.cedar": ("rejected", "past the limit of 64"),  # these four once crashed the engine
    "rego/no_package.rego": ("rejected", "package"),
    "rego/deep_nesting_20000.rego": ("rejected", "the limit is 32,768"),
    "rego/deep_nesting_1500.rego": ("rejected", "past the limit of 64"),
}


def _rel(path: str) -> str:
    return Path(path).relative_to(REGRESSIONS).as_posix()


@pytest.fixture(scope="module")
def runs():
    """The CI slice and every regression file, run once in one pool of two workers."""
    files = sorted(str(p) for p in REGRESSIONS.glob("*/*"))
    jobs = [fuzz.Job(0, i) for i in range(fuzz.SLICE)] + [fuzz.Job(path=f) for f in files]
    outcomes = fuzz.run(jobs, workers=2)
    by_file = {_rel(o.job.path): o for o in outcomes if o.job.path is not None}
    return [o for o in outcomes if o.job.path is None], by_file


def _engine_crash(o: fuzz.Outcome) -> bool:
    return o.status in ("crash", "memory", "hang") and o.target in ("cedar", "rego")


def test_every_regression_file_has_an_expectation():
    on_disk = {_rel(str(p)) for p in REGRESSIONS.glob("*/*")}
    assert on_disk == set(EXPECT), f"add to EXPECT: {sorted(on_disk - set(EXPECT))}; gone: {sorted(set(EXPECT) - on_disk)}"
    assert all(Path(f).parent.name in mutate.TARGETS for f in on_disk)
    big = [f for f in on_disk if (REGRESSIONS / f).stat().st_size > 64_000]
    assert not big, f"regression files are kept small: {big}"


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_regression_file(runs, name):
    _, by_file = runs
    o = by_file[name]
    status, line = EXPECT[name]
    assert not o.failed, f"{name}: {o.status} in {o.phase}: {o.detail[-800:]}"
    if status is not None:
        assert o.status == status, f"{name}: {o.status}, expected {status}: {o.messages[:2]}"
    if line is not None:
        first = o.messages[0]  # the harness checked that every line names the file (fuzz.message_problem)
        assert line in first, f"{name}: {first[:300]!r}"


def test_slice_has_no_failure_but_the_engines(runs):
    corpus, _ = runs
    assert len(corpus) == fuzz.SLICE
    bad = [f"{o.name} {o.status} in {o.phase}: {o.detail.strip().splitlines()[-1:] if o.detail.strip() else ''}"
           for o in corpus if o.failed and not _engine_crash(o)]
    assert not bad, "\n".join(bad)


def test_slice_has_no_engine_crash(runs):
    corpus, _ = runs
    crashed = [f"{o.name} {o.status} in {o.phase}: {o.detail}" for o in corpus if _engine_crash(o)]
    assert not crashed, "\n".join(crashed)


def test_slice_covers_every_target_and_mutation_and_both_outcomes(runs):
    corpus, _ = runs
    kinds = {(o.target, o.kind) for o in corpus if o.target}
    assert kinds >= set(mutate.plan()), sorted(set(mutate.plan()) - kinds)
    statuses = {o.status for o in corpus}
    assert {"rejected", "ran"} <= statuses
    ran = {o.target for o in corpus if o.status == "ran"}
    assert ran >= {"scenario", "profile", "rules"}, ran
    assert all(o.seconds <= fuzz.TIMEOUT for o in corpus if not _engine_crash(o))


def test_corpus_is_deterministic_in_any_process():
    """Case i of a seed is a pure function of (seed, i): the same bytes in this process and in fresh ones."""
    digest = hashlib.sha256(b"".join(c.data for c in mutate.corpus(0, 40, start=60))).hexdigest()
    assert mutate.case(0, 70) == mutate.corpus(0, 20, start=60)[10]
    code = ("import hashlib; from simenv.testing import mutate; "
            "print(hashlib.sha256(b''.join(c.data for c in mutate.corpus(0, 40, start=60))).hexdigest())")
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        assert out.stdout.strip() == digest
    assert mutate.case(1, 70).data != mutate.case(0, 70).data


def test_in_process_matches_the_simenv_command(runs, tmp_path):
    """The harness runs cases through cli.main in-process; the real command gives the same exit codes and lines."""
    from conftest import simenv_cli

    _, by_file = runs
    for name in ("rules/billion_laughs.yaml", "scenario/sensitivity_inf.yaml", "scenario/alias_reuse.yaml",
                 "profile/approvals_latency_inf.yaml"):
        case = fuzz.from_file(REGRESSIONS / name)
        root = tmp_path / Path(name).stem
        root.mkdir()
        path, runs_argv = fuzz.materialize(case, root)
        got = simenv_cli("validate", str(path))
        o = by_file[name]
        assert got.returncode == o.validate_rc, (name, got.stderr)
        assert "Traceback" not in got.stderr
        if got.returncode == 2:
            assert got.stderr.splitlines()[0].split(": ", 1)[1] == o.messages[0].split(": ", 1)[1]
        else:
            for argv in runs_argv:
                assert simenv_cli(*argv).returncode == 0


def test_harness_survives_and_attributes_crash_hang_and_memory(monkeypatch):
    """Real misbehaving plug-ins (tests/fuzz_plugins.py): each is reported against its own case, and the next case runs."""
    monkeypatch.setenv("SIMENV_ALLOW_PLUGINS", "1")  # the workers inherit it: these plug-ins are trusted test code
    ok = str(REGRESSIONS / "scenario" / "number_only.yaml")
    bad = {k: str(HARNESS / "profile" / f"{k}.yaml") for k in ("segfault", "hang", "hog")}
    jobs = [fuzz.Job(path=bad["segfault"]), fuzz.Job(path=ok), fuzz.Job(path=bad["hang"]), fuzz.Job(path=ok),
            fuzz.Job(path=bad["hog"]), fuzz.Job(path=ok)]
    out = fuzz.run(jobs, workers=1, timeout=3.0)
    assert [o.status for o in out] == ["crash", "rejected", "hang", "rejected", "memory", "rejected"], \
        [(o.name, o.status, o.detail[-200:]) for o in out]
    assert out[0].name.endswith("segfault") and "exit status -11" in out[0].detail and out[0].phase == "validate"
    assert out[2].name.endswith("hang") and out[2].phase == "validate"
    assert out[4].peak_mb is not None and out[4].peak_mb > 350


@pytest.mark.fuzz_full
def test_full_corpus():
    outcomes = fuzz.run([fuzz.Job(0, i) for i in range(fuzz.FULL)], workers=2)
    bad = [f"{o.name} {o.status} in {o.phase}: {o.detail.strip().splitlines()[-1:] if o.detail.strip() else ''}"
           for o in outcomes if o.failed and not _engine_crash(o)]
    summary = fuzz.summary(outcomes)
    print(summary["status"], summary["worst_seconds"], summary["worst_mb"])
    assert not bad, "\n".join(bad)
