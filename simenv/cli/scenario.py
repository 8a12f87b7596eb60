"""Commands ``schema`` and ``check``: the JSON Schemas of user files, and scenario validity checks."""

from __future__ import annotations

import argparse
import sys

from simenv.cli.common import Command


def _configure_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=("scenario", "profile"), help="which file format")


def cmd_schema(a: argparse.Namespace) -> int:
    from simenv.scenario.json_schema import SCHEMAS, dumps

    sys.stdout.write(dumps(SCHEMAS[a.kind]()))
    return 0


def _configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenarios", nargs="*", help="shipped names or scenario files (default: every shipped scenario)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    p.add_argument("--size", type=int, default=None, help="estate size of the seeded checks (default: the scenario's)")


def cmd_check(a: argparse.Namespace) -> int:
    from simenv import files
    from simenv.testing import ScenarioCheckError, check_scenario

    failed: list[str] = []
    for name in a.scenarios or files.list_shipped("scenarios"):
        try:
            check_scenario(name, seeds=tuple(range(max(a.seeds, 1))), size=a.size)
            print(f"ok    {name}")
        except ScenarioCheckError as e:
            failed.append(e.check)
            print(f"FAIL  {name}: {e}")
    if "loads" in failed:
        return 2
    return 1 if failed else 0


COMMANDS = (
    Command("schema", "print the JSON Schema of scenario or profile files", _configure_schema, cmd_schema),
    Command("check", "run simenv.testing.check_scenario; exit 1 if a check fails, 2 if a file is invalid",
            _configure_check, cmd_check),
)
