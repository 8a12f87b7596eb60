"""Command ``test``: table-driven decision tests of a policy file or a profile's (see :mod:`simenv.governance.cases`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from simenv.cli.common import Command


def _configure_test(p: argparse.ArgumentParser) -> None:
    p.add_argument("policy", type=Path,
                   help="a native rules .yaml, a .cedar or a .rego file, or a profile (file or shipped name) whose "
                        "authorizer names a policy file")
    p.add_argument("cases", type=Path, help="a cases YAML file")
    p.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")


def cmd_test(a: argparse.Namespace) -> int:
    from simenv.governance.cases import profile_policy, run_cases

    authz, results = run_cases(a.policy, a.cases)
    policy = profile_policy(a.policy)
    failed = 0
    for res in results:
        if not res.passed:
            failed += 1
            print("\n".join(res.diff()))
        elif a.verbose:
            print(f"PASS  {res.case.name}")
    print("-" * 40)
    via = f", {policy}" if policy is not None else ""
    print(f"{a.policy} ({authz.name}{via}): {len(results) - failed}/{len(results)} passed")
    return 1 if failed else 0


COMMANDS = (
    Command("test", "run table-driven decision tests of a policy file (or a profile's); exit 1 on a mismatch",
            _configure_test, cmd_test, loads_profiles=True),
)
