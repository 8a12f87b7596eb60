"""What every command module shares: the :class:`Command` record and JSON-safe output."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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
