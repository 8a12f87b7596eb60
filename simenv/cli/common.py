"""What every command module shares: the :class:`Command` record, parsing, exit statuses, JSON-safe output."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from simenv.errors import SimenvError, SpecError


@dataclass(frozen=True, slots=True)
class Command:
    """One sub-command: its name, its one-line help, how to add its arguments, what it runs (returns the exit status)."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    loads_profiles: bool = False
    """The command reads profile files, so it takes ``--allow-plugins``."""


def jsonable(v: Any) -> Any:
    """``v`` with non-finite floats as ``None`` (JSON has no NaN)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def build_parsers(commands: Iterable[Command], prog: str, description: str
                  ) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """A parser with one sub-command per command, and each command's own parser by name."""
    cmds = list(commands)
    p = argparse.ArgumentParser(prog=prog, description=description)
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    own = {c.name: sub.add_parser(c.name, help=c.help, description=c.help) for c in cmds}
    for c in cmds:
        c.configure(own[c.name])
    return p, own


def invoke(command: Command, args: argparse.Namespace) -> int:
    """Run a command; bad input (a :class:`SpecError` or another :class:`SimenvError`) is one message and exit 2.

    User errors never print a traceback: a ``SpecError`` prints one ``file: field: message`` line
    per problem, any other ``SimenvError`` one ``simenv: message`` line.
    """
    try:
        return command.run(args)
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
