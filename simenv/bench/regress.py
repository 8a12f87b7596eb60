"""Regression against a committed baseline.

A baseline file (JSON) holds, for every scenario × profile × agent cell and every score
with a direction (:data:`simenv.bench.stats.DIRECTIONS`), the mean with its bootstrap 95%
CI and the per-seed values. A score *regresses* when it got worse beyond noise:

1. its current mean lies beyond the baseline's CI on the worse side, and
2. where the baseline and the results share at least two seeds, the CI of the paired
   same-seed difference lies entirely on the worse side of zero.

Higher is worse for blast radius, exposure, residual exposure, scope-violation rate,
friction, false denials, violations executed, approval wait and error rate; lower is worse
for task success. A cell of the baseline missing from the results also fails. So a
profile whose approval rule is removed fails through the violations it then lets through
(violations executed, scope-violation rate, blast radius), while its shorter approval wait
counts as an improvement, which never fails.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simenv.bench.shards import atomic_write
from simenv.bench.stats import DIRECTIONS, RESAMPLES, SEED, as_float, bootstrap, with_error_rate

VERSION = 1
TOL = 1e-9


def _mean(*strata: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.concatenate(strata, axis=axis).mean(axis=axis)


def _num(v: float) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else round(float(v), 9)


def make_baseline(episodes, *, n_resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    """A baseline document from an episodes frame."""
    df = with_error_rate(episodes)
    cells = []
    for (scenario, policy, agent), g in df.groupby(["scenario", "policy", "agent"], sort=False):
        g = g.sort_values("seed")
        scores = {}
        for score in DIRECTIONS:
            if score not in g.columns:
                continue
            x = as_float(g[score])
            m, lo, hi = bootstrap([x[~np.isnan(x)]], _mean, n_resamples=n_resamples, seed=seed)
            scores[score] = {"mean": _num(float(m)), "lo": _num(float(lo)), "hi": _num(float(hi)),
                             "values": [_num(float(v)) for v in x]}
        cells.append({"scenario": scenario, "policy": policy, "agent": agent,
                      "seeds": [int(s) for s in g["seed"]], "scores": scores})
    return {"version": VERSION, "resamples": n_resamples, "directions": DIRECTIONS, "cells": cells}


def load_baseline(path: str | Path) -> dict[str, Any]:
    """A baseline file, checked: a :class:`~simenv.errors.SpecError` naming each wrong field, else the document.

    The file comes with a pull request like any other, so nothing in it is trusted: every cell names its
    scenario, profile and agent, its seeds, and for scores of :data:`~simenv.bench.stats.DIRECTIONS` a mean,
    CI and one value per seed (numbers or null).
    """
    from pydantic import BaseModel, ConfigDict, ValidationError

    from simenv import files
    from simenv.errors import SimenvError, SpecError

    class _Score(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        mean: float | None
        lo: float | None
        hi: float | None
        values: list[float | None]

    class _Cell(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        scenario: str
        policy: str
        agent: str
        seeds: list[int]
        scores: dict[str, _Score]

    class _Baseline(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        version: int
        resamples: int | None = None  # what it was made with (informational)
        directions: dict[str, int] | None = None
        cells: list[_Cell]

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SimenvError(f"{path}: cannot read the baseline ({' '.join(str(e).split())[:160]}); write one with "
                          "simenv regress --update") from None
    if not isinstance(doc, dict):
        raise SimenvError(f"{path}: a baseline is a JSON object with its cells, not a {type(doc).__name__}; write one "
                          "with simenv regress --update")
    try:
        _Baseline.model_validate(doc)
    except ValidationError as e:
        raise SpecError(str(path), [(files.field_path(err["loc"]), "unknown field" if err["type"] == "extra_forbidden"
                                     else err["msg"]) for err in e.errors()]) from None
    problems = [] if doc["version"] == VERSION else [("version", f"{doc['version']} is not {VERSION}: write the "
                                                                 "baseline again with simenv regress --update")]
    for i, cell in enumerate(doc["cells"]):
        for score, base in cell["scores"].items():
            if score not in DIRECTIONS:
                problems.append((f"cells[{i}].scores.{score}", f"not a score with a direction "
                                                               f"({', '.join(sorted(DIRECTIONS))})"))
            elif len(base["values"]) != len(cell["seeds"]):
                problems.append((f"cells[{i}].scores.{score}.values",
                                 f"{len(base['values'])} values for {len(cell['seeds'])} seeds"))
    if problems:
        raise SpecError(str(path), problems)
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON holds")


def write_baseline(path: str | Path, episodes) -> dict[str, Any]:
    doc = make_baseline(episodes)
    atomic_write(Path(path), (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode())
    return doc


@dataclass(frozen=True, slots=True)
class Finding:
    """One score of one cell: its baseline, its current value, and the verdict."""

    scenario: str
    policy: str
    agent: str
    score: str
    status: str  # "worse", "better", "same", "missing", "new"
    base: str = ""
    current: str = ""
    why: str = ""


def _show(m: float | None, lo: float | None = None, hi: float | None = None) -> str:
    if m is None or (isinstance(m, float) and math.isnan(m)):
        return "n/a"
    return f"{m:.4g}" if lo is None else f"{m:.4g} [{lo:.4g}, {hi:.4g}]"


def _judge(cell: dict[str, Any], score: str, base: dict[str, Any], g, *, n_resamples: int, seed: int) -> Finding:
    sign = DIRECTIONS[score]
    ident = (cell["scenario"], cell["policy"], cell["agent"], score)
    x = as_float(g[score]) if score in g.columns else np.full(len(g), np.nan)
    cur = x[~np.isnan(x)]
    bm, blo, bhi = base["mean"], base["lo"], base["hi"]
    if not len(cur) or bm is None:
        note = "" if (not len(cur)) == (bm is None) else "undefined on one side"
        return Finding(*ident, "same", _show(bm, blo, bhi), _show(float(cur.mean())) if len(cur) else "n/a", note)
    bm_, blo_, bhi_ = bootstrap([cur], _mean, n_resamples=n_resamples, seed=seed)
    m, lo, hi = float(bm_), float(blo_), float(bhi_)
    shown = _show(m, lo, hi)
    tol = TOL * max(1.0, abs(bm))
    beyond = sign * (m - (bhi if sign > 0 else blo)) > tol
    better = sign * ((blo if sign > 0 else bhi) - m) > tol
    base_vals = dict(zip(cell["seeds"], base["values"], strict=True))
    pairs = [(v, base_vals[s]) for s, v in zip(g["seed"], x, strict=True)
             if s in base_vals and base_vals[s] is not None and not np.isnan(v)]
    if beyond and len(pairs) >= 2:
        d = np.array([sign * (a - b) for a, b in pairs])
        _, dlo, _ = bootstrap([d], _mean, n_resamples=n_resamples, seed=seed)
        if float(dlo) <= tol:
            return Finding(*ident, "same", _show(bm, blo, bhi), shown, "paired same-seed difference within noise")
    if beyond:
        return Finding(*ident, "worse", _show(bm, blo, bhi), shown, f"mean {m:.4g} beyond the baseline CI")
    return Finding(*ident, "better" if better else "same", _show(bm, blo, bhi), shown)


def compare_to_baseline(baseline: dict[str, Any], episodes, *, n_resamples: int = RESAMPLES,
                        seed: int = SEED) -> list[Finding]:
    """Every finding: one per baseline cell × score, plus ``missing`` and ``new`` cells."""
    df = with_error_rate(episodes)
    groups = {k: g.sort_values("seed") for k, g in df.groupby(["scenario", "policy", "agent"], sort=False)}
    out: list[Finding] = []
    seen = set()
    for cell in baseline["cells"]:
        key = (cell["scenario"], cell["policy"], cell["agent"])
        seen.add(key)
        if key not in groups:
            out.append(Finding(key[0], key[1], key[2], "*", "missing", why="no results for this cell"))
            continue
        for score, base in cell["scores"].items():
            out.append(_judge(cell, score, base, groups[key], n_resamples=n_resamples, seed=seed))
    out.extend(Finding(k[0], k[1], k[2], "*", "new", why="not in the baseline") for k in groups if k not in seen)
    return out


def mismatches(baseline: dict[str, Any], episodes) -> list[str]:
    """Plain sentences for how the results differ from the baseline in agent, seeds or matrix (empty if they match).

    A regression check only means something between like and like; these say what to rerun.
    """
    cells = baseline.get("cells", [])
    out: list[str] = []
    b_agents = sorted({c["agent"] for c in cells})
    r_agents = sorted(set(map(str, episodes["agent"]))) if len(episodes) else []
    if b_agents and r_agents and b_agents != r_agents:
        out.append(f"the baseline was made with agent {', '.join(b_agents)}, the results with {', '.join(r_agents)}: "
                   f"rerun the sweep with --agent {b_agents[0]}, or update the baseline")
    b_seeds = sorted({s for c in cells for s in c["seeds"]})
    r_seeds = sorted({int(s) for s in episodes["seed"]}) if len(episodes) else []
    if b_seeds and r_seeds and b_seeds != r_seeds:
        out.append(f"the baseline has seeds {_span(b_seeds)}, the results {_span(r_seeds)}: rerun with --seeds "
                   f"{len(b_seeds)}, or update the baseline")
    for what, col in (("scenarios", "scenario"), ("profiles", "policy")):
        b = {c[col] for c in cells}
        r = set(map(str, episodes[col])) if len(episodes) else set()
        if b - r:
            out.append(f"the results lack the baseline's {what} {', '.join(sorted(b - r))}")
        if r - b:
            out.append(f"the results hold {what} the baseline has not seen: {', '.join(sorted(r - b))}")
    return out


def _span(seeds: list[int]) -> str:
    return f"{seeds[0]}..{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else str(seeds)


def failed(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.status in ("worse", "missing")]


def markdown(findings: list[Finding], notes: list[str] | None = None) -> str:
    """A markdown table for a CI job page: failures and improvements, then a count of the rest.

    ``notes`` (from :func:`mismatches`) are listed first: they say why cells are missing or new.
    """
    bad = failed(findings)
    shown = [f for f in findings if f.status != "same"]
    head = f"### simenv regress: {'FAIL' if bad else 'pass'} ({len(bad)} regression(s), " \
           f"{sum(f.status == 'better' for f in findings)} improvement(s), " \
           f"{sum(f.status == 'same' for f in findings)} unchanged)\n\n"
    if notes:
        head += "".join(f"- **Not like for like:** {n}\n" for n in notes) + "\n"
    if not shown:
        return head + "No score changed beyond its bootstrap interval.\n"
    rows = ["| scenario | profile | agent | score | status | baseline mean [95% CI] | current mean [95% CI] | note |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    order = {"missing": 0, "worse": 1, "new": 2, "better": 3}
    for f in sorted(shown, key=lambda f: order.get(f.status, 9)):
        rows.append(f"| {f.scenario} | {f.policy} | {f.agent} | {f.score} | {f.status} | {f.base} | {f.current} | {f.why} |")
    return head + "\n".join(rows) + "\n"


def junit(findings: list[Finding]) -> bytes:
    """JUnit XML: one test case per cell, failing with the scores that regressed."""
    cells: dict[tuple[str, str, str], list[Finding]] = {}
    for f in findings:
        cells.setdefault((f.scenario, f.policy, f.agent), []).append(f)
    bad_cells = sum(1 for fs in cells.values() if failed(fs))
    suite = ET.Element("testsuite", name="simenv.regress", tests=str(len(cells)), failures=str(bad_cells), errors="0")
    for (scenario, policy, agent), fs in cells.items():
        case = ET.SubElement(suite, "testcase", classname=f"simenv.regress.{scenario}", name=f"{policy}[{agent}]")
        bad = failed(fs)
        if bad:
            msg = "; ".join(f"{f.score} {f.status}: {f.base} -> {f.current}" if f.score != "*" else f.why for f in bad)
            ET.SubElement(case, "failure", message=msg[:500], type="regression").text = msg
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)
