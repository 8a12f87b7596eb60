"""Commands ``list``, ``run`` and ``validate``: what ships, one episode, and file checks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simenv.cli.common import Command, jsonable
from simenv.errors import SimenvError, SpecError
from simenv.sim.records import ApprovalRecord, CallRecord, ControlRecord, CredentialRecord, EventRecord, MonitorRecord, Record
from simenv.types import REFUSED, Outcome


def _configure_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--coverage", action="store_true",
                   help="the framework ids (OWASP ASI and NHI, MAESTRO, NIST AI RMF) each scenario covers, and the uncovered")


def cmd_list(a: argparse.Namespace) -> int:
    from simenv import files
    from simenv.agents.registry import list_agents

    if a.coverage:
        from simenv.scenario.coverage import print_coverage

        return print_coverage(a.json)
    data = {"scenarios": files.list_shipped("scenarios"), "policies": files.list_shipped("policies"),
            "agents": [x["name"] for x in list_agents()]}
    if a.json:
        print(json.dumps(data))
        return 0
    for k, names in data.items():
        print(f"{k}:")
        for n in names:
            print(f"  {n}")
    return 0


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="a shipped scenario name or a scenario file")
    p.add_argument("--policy", required=True, help="a shipped profile name or a profile file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--agent", default=None,
                   help="an agent name (see simenv list) or package.module:Class; default: the scenario's plans")
    p.add_argument("--size", type=int, default=None, help="override the estate size")
    p.add_argument("--json", action="store_true", help="print only the scores, as one JSON object")
    p.add_argument("--audit", type=Path, default=None, help="write the audit log here as JSONL")


def trail(records: list[Record]) -> list[str]:
    """The readable decision trail of an audit log."""
    lines = []
    for r in records:
        if isinstance(r, (CallRecord, ApprovalRecord)):
            if isinstance(r, CallRecord):
                args = ", ".join(f"{a}={v}" for a, v in r.args.items())
                head = f"t={r.tick:<3} {r.agent:<16} {r.tool}({args})"
                cred = f" [{r.credential}]" if r.credential else ""
            else:
                head, cred = f"t={r.tick:<3} {r.agent:<16} approval of #{r.call_seq} {r.tool}", ""
            label = "" if r.in_intent else "  OUT-OF-INTENT"
            lines.append(f"{head}{cred} -> {r.decision.upper()} ({','.join(r.policy_ids)}) {r.effect}{label}")
            if (r.effect in REFUSED or r.effect is Outcome.INVALID) and r.reasons:
                lines.append(f"      why: {'; '.join(r.reasons)}" + (f"; {r.native}" if r.native else ""))
        elif isinstance(r, CredentialRecord):
            lines.append(f"t={r.tick:<3} credential {r.credential} {r.op} (reach {r.reach:.1f})")
        elif isinstance(r, ControlRecord):
            lines.append(f"t={r.tick:<3} control {r.agent} {r.op}")
        elif isinstance(r, MonitorRecord):
            lines.append(f"t={r.tick:<3} monitor {r.agent} {r.action} {r.reason}".rstrip())
        elif isinstance(r, EventRecord):
            lines.append(f"t={r.tick:<3} event {r.agent or ''} {r.event}")
    return lines


def cmd_run(a: argparse.Namespace) -> int:
    from simenv.api import run_episode

    res = run_episode(a.scenario, a.policy, seed=a.seed, agent=a.agent, size=a.size)
    if a.audit:
        a.audit.parent.mkdir(parents=True, exist_ok=True)
        res.audit.to_jsonl(a.audit)
    if a.json:
        print(json.dumps({k: jsonable(v) for k, v in res.scores.items()}))
        return 0
    print(f"# {res.scenario} under {res.policy}, seed {res.seed}, agent {res.agent}")
    print("\n".join(trail(res.audit.records)))
    print()
    width = max(map(len, res.scores))
    for k, v in res.scores.items():
        shown = "n/a" if v is None else (f"{v:.3f}" if isinstance(v, float) else v)
        print(f"  {k:<{width}}  {shown}")
    return 0


def _configure_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path)


def cmd_validate(a: argparse.Namespace) -> int:
    from simenv.scenario.validate import validate_file

    bad = 0
    for f in a.files:
        try:
            validate_file(f)
            print(f"ok  {f}")
        except SpecError as e:
            bad += 1
            print(e.render(), file=sys.stderr)
        except SimenvError as e:
            bad += 1
            print(f"{f}: {e}", file=sys.stderr)
    return 2 if bad else 0


COMMANDS = (
    Command("list", "list shipped scenarios, profiles and agents", _configure_list, cmd_list),
    Command("run", "run one episode and print its decision trail and scores", _configure_run, cmd_run, loads_profiles=True),
    Command("validate", "check scenario, profile and policy files; exit 2 if any is invalid", _configure_validate,
            cmd_validate, loads_profiles=True),
)
