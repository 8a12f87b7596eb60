"""The ``simenv`` command: a thin shell over the Python API, one module per command group.

Exit status: 0 success, 1 a check failed (a test mismatch, a regression), 2 bad input
(an invalid file, an unknown name). User errors never print a traceback.
"""

from __future__ import annotations

import argparse
import sys

from simenv.cli import agents, bench, episodes, policy, scenario, tools
from simenv.cli.common import Command
from simenv.errors import SimenvError, SpecError

GROUPS = (episodes, policy, scenario, tools, agents, bench)
"""Every command group, in the order ``simenv --help`` lists them."""


def commands() -> dict[str, Command]:
    """Every sub-command, by name."""
    return {c.name: c for group in GROUPS for c in group.COMMANDS}


def parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The argument parser of ``simenv``, and each command's own by name."""
    p = argparse.ArgumentParser(prog="simenv", description=(__doc__ or "").splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    own = {c.name: sub.add_parser(c.name, help=c.help, description=c.help) for c in commands().values()}
    for c in commands().values():
        c.configure(own[c.name])
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
    try:
        return commands()[a.cmd].run(a)
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return 2
    except SimenvError as e:
        print(f"simenv: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("simenv: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
