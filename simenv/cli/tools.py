"""Command ``tools``: the tool catalog for scenario authors (see :mod:`simenv.world.reference`)."""

from __future__ import annotations

import argparse
import json
import sys

from simenv.cli.common import Command


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", default=None, help="one tool (default: every tool)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON array, an object per tool (with NAME: its object)")
    fmt.add_argument("--markdown", action="store_true", help="the reference table of docs/tools.md")


def cmd_tools(a: argparse.Namespace) -> int:
    from simenv.errors import SimenvError
    from simenv.world import reference
    from simenv.world.actions import TOOLS

    specs = TOOLS
    if a.name is not None:
        try:
            specs = (reference.lookup(a.name),)
        except SimenvError as e:
            print(f"simenv tools: {e}", file=sys.stderr)
            return 2
    if a.json:
        docs = reference.tool_docs(specs)
        print(json.dumps(docs[0] if a.name is not None else docs, indent=2))
    elif a.markdown:
        sys.stdout.write(reference.markdown(specs))
    else:
        print("\n\n".join(reference.text(s, detail=a.name is not None) for s in specs))
    return 0


COMMANDS = (
    Command("tools", "list the tools: system, risk, reversibility, escalation, arguments and what each changes",
            _configure, cmd_tools),
)
