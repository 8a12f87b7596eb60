"""Load a policy in a child process, where the engine may crash, and bring its verdict back as data.

cedarpy and regopy are native code: a policy file the prechecks of
:mod:`simenv.governance.policy_text` do not know can still kill the process that compiles it.
``simenv validate`` and ``simenv test`` therefore compile each Cedar or Rego policy (a profile's
too) in a fresh interpreter first. The child runs an ordinary loader, ``"package.module:function"``
applied to the file's path, and prints one JSON line: nothing wrong, or the ``SpecError`` /
``SimenvError`` the loader raised. The parent raises that same error, so the messages are the
ones an in-process load gives; a child killed by a signal, or still compiling after
:data:`TIMEOUT` seconds, becomes a one-line ``file: field`` error instead of a crash.

The child is ``python -c`` running :func:`child_main` with the loader and the path.
"""

from __future__ import annotations

import importlib
import json
import signal
import subprocess
import sys
from pathlib import Path

from simenv.errors import SimenvError, SpecError

TIMEOUT = 60.0
"""Seconds a child may take; the largest policy the prechecks admit compiles in a few."""
_CHILD = "import sys; from simenv.governance.isolate import child_main; sys.exit(child_main(sys.argv[1:]))"


def check_in_child(loader: str, path: Path, report: Path | None = None, field: str = "", what: str = "") -> None:
    """Run ``loader(path)`` in a fresh interpreter; raise here what it raised there.

    Args:
        loader: ``"package.module:function"``, called with the path.
        path: the file to load.
        report: the file a crash is reported against (default ``path``), e.g. the profile that names the policy.
        field: the field a crash is reported against (e.g. ``authorizer.policy``).
        what: how to name the engine and the file in a crash message (default: the file's name).

    Raises:
        SpecError: what the loader raised, or a crash or a timeout reported against ``report`` and ``field``.
        SimenvError: what the loader raised, or a child that could not start.
    """
    target = str(report or path)
    what = what or f"the policy engine, compiling {path.name}"
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD, loader, str(path)],
                              capture_output=True, text=True, errors="replace", timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SpecError(target, [(field, f"{what}, took longer than {TIMEOUT:.0f} s: simplify the policy")]) from None
    except OSError as e:
        raise SimenvError(f"{target}: cannot start a child process to check the policy: {e.strerror or e}") from None
    if proc.returncode < 0:
        try:
            sig = signal.Signals(-proc.returncode).name
        except ValueError:
            sig = f"signal {-proc.returncode}"
        raise SpecError(target, [(field, f"{what}, crashed ({sig}): simplify the policy (less nesting, a smaller file) "
                                         "and, if it is valid, report it to simenv")])
    lines = proc.stdout.strip().splitlines()
    try:
        verdict = json.loads(lines[-1]) if lines else None
    except ValueError:
        verdict = None
    if not isinstance(verdict, dict):
        raise SpecError(target, [(field, f"{what}, ended with exit status {proc.returncode} and no verdict: "
                                         "check the policy with a fresh 'simenv validate' and report it if it repeats")])
    if "problems" in verdict:
        raise SpecError(str(verdict["file"]), [(str(w), str(m)) for w, m in verdict["problems"]])
    if "error" in verdict:
        raise SimenvError(str(verdict["error"]))


def child_main(argv: list[str]) -> int:
    """The child: ``loader(path)``, then one JSON line on stdout saying what it raised."""
    loader, path = argv
    mod, _, func = loader.partition(":")
    try:
        getattr(importlib.import_module(mod), func)(Path(path))
        verdict: dict = {"ok": True}
    except SpecError as e:
        verdict = {"file": e.file, "problems": e.problems}
    except SimenvError as e:
        verdict = {"error": str(e)}
    sys.stdout.write("\n" + json.dumps(verdict) + "\n")
    return 0

