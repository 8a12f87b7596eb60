"""Commands ``bench``, ``report``, ``regress`` and ``replay``: sweeps, their reports, CI gates, and re-runs."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from simenv.cli.common import Command

TABLE_SCORES = ("task_success", "blast_radius", "exposure", "scope_violation_rate", "friction_rate")


def count(least: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``least`` (a bad value is argparse's one-line error, exit 2)."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if n < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, not {n}")
        return n

    return parse


def _configure_bench(p: argparse.ArgumentParser) -> None:
    from simenv.agents.registry import DEFAULT

    p.add_argument("--scenarios", default="all", help="A,B or all (names or scenario files; all may be combined: all,x.yaml)")
    p.add_argument("--policies", default="all", help="X,Y or all (names or profile files; all may be combined)")
    p.add_argument("--seeds", type=count(1), default=20, help="seeds 0..N-1 per scenario × profile (default 20)")
    p.add_argument("--agent", default=DEFAULT,
                   help=f"an agent name for every agent (default: {DEFAULT}, the plans written in the scenarios; "
                        "llm_stub is the seeded behaviour model of a tool-calling model agent)")
    p.add_argument("--size", type=count(0), default=None, help="override every scenario's estate size")
    p.add_argument("--out", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--executor", default="local", help="local (fork where safe, else loky), fork, loky, serial or dask://HOST:PORT")
    p.add_argument("--jobs", type=count(1), default=None, help="parallel workers (default: every CPU)")
    p.add_argument("--chunk-size", type=count(1), default=None, help="episodes per chunk")
    p.add_argument("--resume", action="store_true", help="finish the same sweep: run only the episodes the folder lacks")
    p.add_argument("--force", action="store_true", help="replace the results a folder already holds")
    p.add_argument("--no-report", action="store_true", help="skip plots and report.html")
    p.add_argument("--audit", action="store_true",
                   help="also keep every episode's audit log (OUT/audit/SCENARIO/PROFILE/AGENT/SEED.jsonl) for simenv view")


def summary_table(summary) -> str:
    """A fixed-width table: one line per scenario × profile × agent with the key scores' means."""
    cells = summary[summary["score"].isin(("error_rate", *TABLE_SCORES))]
    lines = []
    head = ["scenario", "profile", "agent", "n", "errors", *TABLE_SCORES]
    for (scenario, policy, agent), g in cells.groupby(["scenario", "policy", "agent"], sort=False):
        by = {r["score"]: r for _, r in g.iterrows()}
        err = by.get("error_rate")
        n = int(err["n"]) if err is not None else 0
        errors = int(round(float(err["mean"]) * n)) if err is not None and n else 0
        vals = ["n/a" if s not in by or by[s]["mean"] != by[s]["mean"] else f"{float(by[s]['mean']):.3f}"
                for s in TABLE_SCORES]
        lines.append([str(scenario), str(policy), str(agent), str(n), str(errors), *vals])
    widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head), *(fmt.format(*row) for row in lines)])


def resume_command(argv: list[str]) -> str:
    """The command line that resumes the sweep ``argv`` describes."""
    args = [x for x in argv if x not in ("--force", "--resume")]
    return " ".join(shlex.quote(x) for x in ["simenv", *args, "--resume"])


def cmd_bench(a: argparse.Namespace) -> int:
    import pandas as pd

    from simenv.bench.executors import POOLS, default_jobs, open_executor
    from simenv.bench.report import build_report
    from simenv.bench.runner import SweepFailed, SweepInterrupted, run_matrix
    from simenv.bench.shards import SUMMARY

    failed = None
    try:
        df = run_matrix(a.scenarios, a.policies, a.seeds, a.agent, a.size, executor=a.executor, jobs=a.jobs,
                        out=a.out, resume=a.resume, force=a.force, chunk_size=a.chunk_size, audit=a.audit)
    except SweepInterrupted as e:
        print(f"simenv bench: {e}; resume with: {resume_command(sys.argv[1:])}", file=sys.stderr)
        return 130
    except SweepFailed as e:
        df, failed = e.frame, e
    summary = pd.read_csv(a.out / SUMMARY)
    print(summary_table(summary))
    written = ["episodes.parquet", "summary.csv", *(["audit/"] if a.audit else [])]
    if not a.no_report:
        if a.executor in POOLS and (a.jobs or default_jobs()) > 1:  # workers for comparisons and figures
            import simenv.bench.plots  # noqa: F401 - matplotlib, before the workers fork (they draw the figures)

            with open_executor(a.executor, a.jobs) as (ex, _):
                build_report(a.out, episodes=df, summary=summary, executor=ex)
        else:
            build_report(a.out, episodes=df, summary=summary)
        written += ["comparisons.csv", "report.html", "plots/"]
    n_err = 0 if failed is None else len(failed.failed)
    print(f"\n{len(df)} episodes ({n_err} failed) → {a.out}/: {', '.join(written)}")
    if failed is not None:
        for r in failed.failed.head(3).itertuples():
            print(f"simenv bench: failed: {r.scenario} / {r.policy} / seed {r.seed}: {r.error}", file=sys.stderr)
        print(f"simenv bench: {len(failed.failed)} episode(s) failed; every error is in {a.out}/episodes.parquet",
              file=sys.stderr)
        return 1
    return 0


def _configure_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, nargs="?", default=Path("results"), help="a results folder")


def cmd_report(a: argparse.Namespace) -> int:
    from simenv.bench.report import build_report

    print(build_report(a.dir))
    return 0


def _configure_regress(p: argparse.ArgumentParser) -> None:
    p.add_argument("--baseline", type=Path, required=True, help="the baseline JSON file")
    p.add_argument("--results", type=Path, default=Path("results"), help="a results folder")
    p.add_argument("--junit", type=Path, default=None, help="write JUnit XML here")
    p.add_argument("--summary-md", type=Path, default=None, help="write a markdown table here")
    p.add_argument("--update", action="store_true", help="write the baseline from the results and exit 0")


def cmd_regress(a: argparse.Namespace) -> int:
    from simenv.bench import regress
    from simenv.bench.shards import atomic_write, read_episodes

    episodes = read_episodes(a.results)
    if a.update:
        doc = regress.write_baseline(a.baseline, episodes)
        print(f"wrote {a.baseline}: {len(doc['cells'])} cells")
        return 0
    baseline = regress.load_baseline(a.baseline)
    findings = regress.compare_to_baseline(baseline, episodes)
    notes = regress.mismatches(baseline, episodes)
    for n in notes:
        print(f"simenv regress: not like for like: {n}", file=sys.stderr)
    md = regress.markdown(findings, notes)
    print(md)
    if a.summary_md:
        atomic_write(a.summary_md, md.encode())
    if a.junit:
        atomic_write(a.junit, regress.junit(findings))
    return 1 if regress.failed(findings) else 0


def _configure_replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("audit", type=Path, help="an audit log (JSONL) written by simenv run --audit")
    p.add_argument("--scenario", default=None, help="the scenario file, if not a shipped name")
    p.add_argument("--policy", default=None, help="the profile file, if not a shipped name")


def cmd_replay(a: argparse.Namespace) -> int:
    from simenv.bench.replay import replay
    from simenv.errors import SimenvError

    if not a.audit.exists():
        raise SimenvError(f"{a.audit}: no such file")
    r = replay(a.audit, a.scenario, a.policy)
    print(f"recorded  {r.recorded}\nreplayed  {r.replayed}")
    if r.ok:
        print("match")
        return 0
    print(f"MISMATCH: first differing record seq {r.first_difference}"
          + (" (the recorded log has no end record: it was cut short, or its run was killed)" if r.cut_short else ""))
    return 1


COMMANDS = (
    Command("bench", "run a scenario × profile × seed matrix; write episodes.parquet, summary.csv, report.html",
            _configure_bench, cmd_bench, loads_profiles=True),
    Command("report", "rebuild the plots and report.html of a results folder", _configure_report, cmd_report),
    Command("regress", "compare results with a baseline; exit 1 if a score got worse beyond its bootstrap CI",
            _configure_regress, cmd_regress),
    Command("replay", "re-run a recorded episode; exit 0 iff its fingerprint matches", _configure_replay, cmd_replay,
            loads_profiles=True),
)
