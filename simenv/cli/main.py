"""The ``simenv`` command: a thin shell over the Python API, one module per command group.

Exit status: 0 success, 1 a check failed (a test mismatch, a regression), 2 bad input
(an invalid file, an unknown name). User errors never print a traceback.
"""

from __future__ import annotations

import argparse

from simenv.cli import agents, bench, episodes, estates, fuzz, policy, redteam, scenario, tools, view
from simenv.cli.common import Command, build_parsers, invoke

GROUPS = (episodes, policy, scenario, estates, tools, agents, bench, redteam, view, fuzz)
"""Every command group, in the order ``simenv --help`` lists them."""


def commands() -> dict[str, Command]:
    """Every sub-command, by name."""
    return {c.name: c for group in GROUPS for c in group.COMMANDS}


def parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The argument parser of ``simenv``, and each command's own by name."""
    p, own = build_parsers(commands().values(), "simenv", (__doc__ or "").splitlines()[0])
    for c in commands().values():
        if c.loads_profiles:
            own[c.name].add_argument("--allow-plugins", action="store_true",
                                     help="let profile files load outside classes ('package.module:Class'), which runs "
                                          "their code: only for files you trust")
    return p, own


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``simenv`` console script and of ``python -m simenv``."""
    p, own = parsers()
    a, extra = p.parse_known_args(argv)
    if extra:  # reported with the command's own usage line, not the top level's
        own[a.cmd].error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(a, "allow_plugins", False):
        from simenv.governance.plugins import allow_plugins

        allow_plugins()
    return invoke(commands()[a.cmd], a)
