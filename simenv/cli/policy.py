"""Command ``test``: table-driven decision tests of a policy file (see :mod:`simenv.governance.cases`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from simenv.cli.common import Command


def _configure_test(p: argparse.ArgumentParser) -> None:
    p.add_argument("policy", type=Path, help="a native rules .yaml, a .cedar or a .rego file")
    p.add_argument("cases", type=Path, help="a cases YAML file")
    p.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")


def cmd_test(a: argparse.Namespace) -> int:
    from simenv.governance.cases import run_cases

    authz, results = run_cases(a.policy, a.cases)
    failed = 0
    for res in results:
        if not res.passed:
            failed += 1
            print("\n".join(res.diff()))
        elif a.verbose:
            print(f"PASS  {res.case.name}")
    print("-" * 40)
    print(f"{a.policy} ({authz.name}): {len(results) - failed}/{len(results)} passed")
    return 1 if failed else 0


COMMANDS = (
    Command("test", "run table-driven decision tests of a policy file; exit 1 on a mismatch", _configure_test, cmd_test),
)
