"""The ``simenv`` command line (the top layer: nothing below imports it). See :mod:`simenv.cli.main`."""

from __future__ import annotations

import gc
import sys
from typing import NoReturn

from simenv.cli.main import main

__all__ = ["main", "run"]


def run() -> NoReturn:
    """The ``simenv`` console script and ``python -m simenv``: :func:`main`, then :func:`ready_to_exit`."""
    code = main()
    ready_to_exit()
    sys.exit(code)


def ready_to_exit() -> None:
    """Let the process exit without the interpreter's last garbage collections (only when it is about to exit).

    While CPython tears its modules down at exit it runs several full collections, and each walks every object the
    process tracks: after a sweep (pandas, pyarrow, numpy, simenv and the rows) that was 0.3-0.4 s of every
    ``simenv bench``, longer than loading the scenarios. :func:`gc.freeze` moves every object into the permanent
    generation, which those collections skip; the modules' objects are still freed one by one as the modules are
    cleared. rego-cpp's interpreters and bundles are released first, while regopy's module is whole: freed later,
    their finalizers would find its functions already gone.
    """
    rego = sys.modules.get("simenv.governance.rego")
    if rego is not None:
        rego.release()
    gc.freeze()
