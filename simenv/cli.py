"""The ``simenv`` command: a thin shell over the Python API.

Exit status: 0 success, 1 a check failed (a test mismatch, a regression), 2 bad input
(an invalid file, an unknown name). User errors never print a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simenv.errors import SimenvError, SpecError

COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int], str]] = {}
# Modules that register more sub-commands with @command (imported by main() when present).
COMMAND_MODULES = ("simenv.governance.commands", "simenv.scenario.commands", "simenv.agents.commands",
                   "simenv.bench.commands")


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] | None = None):
    """Register the decorated function as sub-command ``name``; ``configure`` adds its arguments."""

    def deco(fn: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = (configure or (lambda p: None), fn, help)
        return fn

    return deco


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# --------------------------------------------------------------------------- list
def _configure_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--coverage", action="store_true",
                   help="the framework ids (OWASP ASI and NHI, MAESTRO, NIST AI RMF) each scenario covers, and the uncovered")


@command("list", "list shipped scenarios, profiles and agents", _configure_list)
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



# --------------------------------------------------------------------------- run
def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="a shipped scenario name or a scenario file")
    p.add_argument("--policy", required=True, help="a shipped profile name or a profile file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--agent", default=None, help="an agent name (see simenv list); default: the scenario's plans")
    p.add_argument("--size", type=int, default=None, help="override the estate size")
    p.add_argument("--json", action="store_true", help="print only the scores, as one JSON object")
    p.add_argument("--audit", type=Path, default=None, help="write the audit log here as JSONL")


def trail(records: list[dict[str, Any]]) -> list[str]:
    """The readable decision trail of an audit log."""
    lines = []
    for r in records:
        k = r["kind"]
        if k in ("call", "approval"):
            args = ", ".join(f"{a}={v}" for a, v in (r.get("args") or {}).items())
            head = f"t={r['tick']:<3} {r['agent']:<16} {r['tool']}({args})" if k == "call" else \
                f"t={r['tick']:<3} {r['agent']:<16} approval of #{r['call_seq']} {r['tool']}"
            cred = f" [{r['credential']}]" if r.get("credential") else ""
            pol = ",".join(r.get("policy_ids", []))
            label = "" if r.get("in_intent") else "  OUT-OF-INTENT"
            lines.append(f"{head}{cred} -> {r['decision'].upper()} ({pol}) {r['effect']}{label}")
            if r["effect"] in ("denied", "refused", "forbidden", "invalid") and r.get("reasons"):
                lines.append(f"      why: {'; '.join(r['reasons'])}" + (f"; {r['native']}" if r.get("native") else ""))
        elif k == "credential":
            lines.append(f"t={r['tick']:<3} credential {r['credential']} {r['op']} (reach {r['reach']:.1f})")
        elif k in ("control", "monitor", "event"):
            what = r.get("op") or r.get("action") or r.get("event")
            lines.append(f"t={r['tick']:<3} {k} {r.get('agent') or ''} {what} {r.get('reason', '')}".rstrip())
    return lines


@command("run", "run one episode and print its decision trail and scores", _configure_run)
def cmd_run(a: argparse.Namespace) -> int:
    from simenv.api import run_episode

    res = run_episode(a.scenario, a.policy, seed=a.seed, agent=a.agent, size=a.size)
    if a.audit:
        a.audit.parent.mkdir(parents=True, exist_ok=True)
        res.audit.to_jsonl(a.audit)
    if a.json:
        print(json.dumps({k: _jsonable(v) for k, v in res.scores.items()}))
        return 0
    print(f"# {res.scenario} under {res.policy}, seed {res.seed}, agent {res.agent}")
    print("\n".join(trail(res.audit.records)))
    print()
    width = max(map(len, res.scores))
    for k, v in res.scores.items():
        shown = "n/a" if v is None else (f"{v:.3f}" if isinstance(v, float) else v)
        print(f"  {k:<{width}}  {shown}")
    return 0



# --------------------------------------------------------------------------- validate
def _configure_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path)


def _policy_file(path: Path) -> None:
    from simenv.governance.commands import validate_policy_file

    validate_policy_file(path)


def _cases_file(path: Path) -> None:
    from simenv.governance.commands import validate_cases_file

    validate_cases_file(path)


def _cedar_schema(path: Path) -> None:
    from simenv.governance.cedar import validate_schema_file

    validate_schema_file(path)


# file suffix (or content kind: RULES, CASES) -> validator raising SpecError
VALIDATORS: dict[str, Callable[[Path], None]] = {
    ".cedar": _policy_file, ".rego": _policy_file, ".cedarschema": _cedar_schema,
    "RULES": _policy_file, "CASES": _cases_file,
}


def validate_file(path: Path) -> None:
    """Validate one file by its kind (suffix, then content); raise SpecError if invalid."""
    from simenv import files
    from simenv.governance.profile import load_profile
    from simenv.scenario.loader import load_scenario

    if path.suffix in VALIDATORS:
        VALIDATORS[path.suffix](path)
        return
    if not path.exists():
        raise SpecError(str(path), [("", "no such file")])
    data = files.load_yaml(path)
    if isinstance(data, dict) and "authorizer" in data or "credentials" in (data or {}):
        load_profile(path)
    elif isinstance(data, dict) and "rules" in data and "RULES" in VALIDATORS:
        VALIDATORS["RULES"](path)
    elif isinstance(data, dict) and "cases" in data and "CASES" in VALIDATORS:
        VALIDATORS["CASES"](path)
    else:
        load_scenario(path)


@command("validate", "check scenario, profile and policy files; exit 2 if any is invalid", _configure_validate)
def cmd_validate(a: argparse.Namespace) -> int:
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



# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``simenv`` console script."""
    import importlib
    import importlib.util

    for mod in COMMAND_MODULES:
        try:
            present = importlib.util.find_spec(mod) is not None
        except ModuleNotFoundError:  # its package is not there either
            present = False
        if present:
            importlib.import_module(mod)
    parser = argparse.ArgumentParser(prog="simenv", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, (configure, _, help_) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_))
    a = parser.parse_args(argv)
    try:
        return COMMANDS[a.cmd][1](a)
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return 2
    except SimenvError as e:
        print(f"simenv: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    # ``python -m simenv.cli``: run the importable module's main, whose registry is the one
    # that sub-command modules fill through ``from simenv.cli import command``.
    from simenv.cli import main as _main

    sys.exit(_main())
