"""Which framework ids the scenarios cover: ``simenv list --coverage``.

The report has three parts: the ids each scenario is tagged with, for each id the
scenarios that cover it, and for each catalog the ids no scenario covers. For NIST AI RMF
the uncovered part is taken from the table in :mod:`simenv.scenario.frameworks`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simenv.scenario.frameworks import CATALOGS


def coverage(scenarios: Iterable[str | Path] | None = None) -> dict[str, Any]:
    """The coverage report of ``scenarios`` (default: every shipped scenario).

    Args:
        scenarios: shipped names or scenario file paths.

    Returns:
        ``{"scenarios": {name: {catalog: [ids]}}, "covered_by": {catalog: {id: [names]}},
        "uncovered": {catalog: [ids]}, "catalogs": {catalog: title}}``; ids keep the order in
        which their catalog publishes them.

    >>> report = coverage(["delegated_admin"])
    >>> report["scenarios"]["delegated_admin"]["maestro"], "L3" in report["uncovered"]["maestro"]
    (['L3'], False)
    """
    from simenv import files
    from simenv.scenario.loader import load_scenario

    names = files.list_shipped("scenarios") if scenarios is None else list(scenarios)
    per: dict[str, dict[str, list[str]]] = {}
    for name in names:
        spec, _ = load_scenario(name)
        per[spec.name] = {key: list(getattr(spec.tags, key)) for key in CATALOGS}
    covered_by: dict[str, dict[str, list[str]]] = {}
    uncovered: dict[str, list[str]] = {}
    for key, cat in CATALOGS.items():
        seen = {i for tags in per.values() for i in tags[key]}
        order = list(cat.ids) + sorted(seen - set(cat.ids))
        covered_by[key] = {i: [n for n, tags in per.items() if i in tags[key]] for i in order if i in seen}
        uncovered[key] = [i for i in cat.ids if i not in seen]
    return {"scenarios": per, "covered_by": covered_by, "uncovered": uncovered,
            "catalogs": {key: cat.title for key, cat in CATALOGS.items()}}


def _wrap(ids: list[str], width: int = 100) -> list[str]:
    """Comma-separated ids on lines of at most ``width`` characters, never splitting an id."""
    lines: list[str] = []
    line = ""
    for i in ids:
        if line and len(line) + len(i) + 2 > width:
            lines.append(line + ",")
            line = ""
        line = f"{line}, {i}" if line else f"    {i}"
    return lines + ([line] if line else [])


def render(report: dict[str, Any]) -> str:
    """The coverage report as readable text."""
    per = report["scenarios"]
    lines = [f"Framework ids covered by {len(per)} scenario(s)", ""]
    for name, tags in per.items():
        lines.append(name)
        for key, ids in tags.items():
            lines.append(f"  {key:<8} {', '.join(ids) if ids else '-'}")
    lines += ["", "Scenarios covering each id"]
    for key, cat in CATALOGS.items():
        lines.append(f"  {cat.title}")
        for i, names in report["covered_by"][key].items():
            lines.append(f"    {i:<12} {', '.join(names)}")
    lines += ["", "Ids no scenario covers"]
    for key, cat in CATALOGS.items():
        missing = report["uncovered"][key]
        lines.append(f"  {cat.title}: {len(missing)} of {len(cat.ids)} not covered")
        if key == "nist":
            lines += _wrap(missing)
        else:
            lines += [f"    {i:<6} {cat.ids[i]}" for i in missing]
    return "\n".join(lines)


def print_coverage(as_json: bool = False, scenarios: Iterable[str | Path] | None = None) -> int:
    """Print the coverage report (text, or one JSON object); the exit status of ``simenv list --coverage``."""
    report = coverage(scenarios)
    print(json.dumps(report) if as_json else render(report))
    return 0
