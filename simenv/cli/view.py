"""Command ``view``: a local web viewer for a results folder or one audit log (needs the ``view`` extra)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simenv.cli.bench import count
from simenv.cli.common import Command
from simenv.errors import SimenvError


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", type=Path, nargs="?", default=Path("results"),
                   help="a results folder (simenv bench --out DIR; default: results) or an audit log "
                        "(simenv run --audit FILE)")
    p.add_argument("--port", type=count(0), default=0, help="the port on 127.0.0.1 (default 0: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")


def cmd_view(a: argparse.Namespace) -> int:
    if not a.target.exists():
        raise SimenvError(f"{a.target}: no such file or folder; pass a results folder (simenv bench --out DIR) or an "
                          f"audit log (simenv run --audit FILE)")
    try:
        from simenv.view.server import serve
    except ImportError as e:
        raise SimenvError(f"simenv view needs the view extra ({e.name} is missing): pip install 'simenv[view]'") from None

    def announce(url: str) -> None:
        print(f"simenv view: {a.target} at {url} (Ctrl-C to stop)", flush=True)

    try:
        serve(a.target, port=a.port, browser=not a.no_browser, announce=announce)
    except KeyboardInterrupt:
        print("simenv view: stopped", file=sys.stderr)
    return 0


COMMANDS = (
    Command("view", "a local web viewer of a sweep's results or one audit log: rankings, trails, credentials, diffs",
            _configure, cmd_view),
)
