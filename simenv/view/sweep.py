"""A results folder as the viewer's data: the report's ranking, the Pareto data, paired comparisons, the episodes.

Everything is read once, when the viewer opens the folder, and kept as JSON-ready data:
:func:`simenv.bench.ranking.ranking` (the ranking table of ``report.html``, per scenario and over
all of them), the Pareto frontier of completion under policy against blast radius
(:func:`simenv.bench.plots.pareto_front`), ``comparisons.csv`` (or
:func:`simenv.bench.stats.compare` when it is missing or older than the episodes), and every
episode row in columns (strings dictionary-coded), which is what lets the page open a sweep
of 16,200 episodes at once. An episode's audit log is read only when it is opened
(:mod:`simenv.view.trail`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simenv.bench import ranking as rk
from simenv.bench import shards
from simenv.bench.report import COMPARISONS, NAMES, read_summary
from simenv.bench.stats import ALL, COMPARED, DIRECTIONS, compare, summarize
from simenv.errors import SimenvError

EPISODE_SCORES = ("blast_radius", "completion_under_policy", "task_success", "exposure", "friction_rate",
                  "scope_violation_rate", "violations_executed", "approvals_requested", "ticks")
SEED_RESAMPLES = 300
"""Bootstrap resamples when the ranking is recomputed for a subset of seeds (the report uses 2,000)."""


def clean(v: Any) -> Any:
    """A value JSON can carry: NaN and infinities become ``None``, numpy scalars Python ones."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _rows(frame) -> list[dict[str, Any]]:
    return [{k: clean(v) for k, v in r.items()} for r in frame.to_dict("records")]


def _fronts(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per ``scenario|agent``: the profiles on the Pareto frontier of (blast radius ↓, completion under policy ↑)."""
    from simenv.bench.plots import pareto_front

    out: dict[str, list[str]] = {}
    cells: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        cells.setdefault(f"{r['scenario']}|{r['agent']}", []).append(r)
    for key, cell in cells.items():
        pts = [(_f(r["blast_radius.mean"]), -_f(r["completion_under_policy.mean"])) for r in cell]
        out[key] = [cell[i]["policy"] for i in pareto_front(pts)]
    return out


def _f(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _colours(policies: Sequence[str]) -> dict[str, str]:
    """Each profile's colour in the report's plots (:func:`simenv.bench.plots.styles`)."""
    from simenv.bench.plots import styles

    st = styles(list(policies), baselines=[p for p in policies if p in rk.BASELINES])
    return {p: s.color for p, s in st.items()}


@dataclass
class Sweep:
    """A results folder, read: the episodes, their summary and comparisons, and the sweep as JSON for the page."""

    out: Path
    episodes: Any
    summary: Any
    manifest: dict[str, Any]
    _comparisons: Any = None
    _payload: dict[str, Any] | None = None
    _keys: dict[tuple[str, str, str, int], int] = field(default_factory=dict)

    @classmethod
    def open(cls, out: str | Path) -> Sweep:
        """Read a results folder; a folder that holds no sweep is a one-line :class:`SimenvError`."""
        out = Path(out)
        if not out.is_dir():
            raise SimenvError(f"{out}: no such folder; pass a results folder (simenv bench --out DIR) or an audit log")
        if not (out / shards.EPISODES).exists() and not any((out / shards.SHARDS).glob("part-*.jsonl")):
            raise SimenvError(f"{out}: not a results folder (no {shards.EPISODES} and no shards); run "
                              f"simenv bench --out {out} first, or pass an audit log")
        episodes = shards.read_episodes(out).reset_index(drop=True)
        if episodes.empty:
            raise SimenvError(f"{out}: the results hold no episode; run the sweep again")
        sweep = cls(out, episodes, read_summary(out, episodes), shards.read_manifest(out))
        sweep._keys = {(str(s), str(p), str(a), int(n)): i for i, (s, p, a, n) in
                       enumerate(zip(episodes["scenario"], episodes["policy"], episodes["agent"], episodes["seed"],
                                     strict=True))}
        return sweep

    # ------------------------------------------------------------------ episodes
    def row(self, i: int) -> dict[str, Any]:
        """Episode ``i`` (its position in ``episodes.parquet``) as a dict; an unknown one is a :class:`SimenvError`."""
        if not 0 <= i < len(self.episodes):
            raise SimenvError(f"no episode {i} in {self.out}: it holds {len(self.episodes)}")
        return {k: clean(v) for k, v in self.episodes.iloc[i].to_dict().items()}

    def find(self, scenario: str, policy: str, agent: str, seed: int) -> int | None:
        """The index of the episode with this key, or ``None``."""
        return self._keys.get((scenario, policy, agent, int(seed)))

    def audit_file(self, i: int) -> Path | None:
        """The recorded audit log of episode ``i`` (``simenv bench --audit``), or ``None``."""
        r = self.episodes.iloc[i]
        p = shards.audit_path(self.out, r["scenario"], r["policy"], r["agent"], int(r["seed"]))
        return p if p.is_file() else None

    def refs(self, i: int) -> tuple[str, str, str, int, int | None]:
        """What re-runs episode ``i``: the scenario and profile references of ``matrix.json``, agent, seed, size."""
        r = self.episodes.iloc[i]
        return (str(self.manifest.get("scenarios", {}).get(r["scenario"], r["scenario"])),
                str(self.manifest.get("policies", {}).get(r["policy"], r["policy"])), str(r["agent"]), int(r["seed"]),
                self.manifest.get("size"))

    def _columns(self) -> dict[str, Any]:
        e = self.episodes
        cols: dict[str, Any] = {}
        for k in ("scenario", "policy", "agent"):
            values = [str(v) for v in e[k]]
            names = list(dict.fromkeys(values))
            code = {n: j for j, n in enumerate(names)}
            cols[k] = {"names": names, "codes": [code[v] for v in values]}
        cols["seed"] = [int(s) for s in e["seed"]]
        for s in EPISODE_SCORES:
            if s in e.columns:
                x = np.asarray([np.nan if v is None else float(v) for v in e[s]], dtype=float)
                cols[s] = [None if not math.isfinite(v) else round(v, 4) for v in x.tolist()]
        cols["error"] = [None if v is None or v != v else str(v)[:300] for v in e["error"]] if "error" in e else None
        return cols

    # ------------------------------------------------------------------ the sweep view
    def payload(self) -> dict[str, Any]:
        """Everything the sweep view shows, computed once."""
        if self._payload is not None:
            return self._payload
        e = self.episodes
        table = rk.ranking(self.summary, e, self.manifest)
        rows = _rows(table)
        policies = [str(p) for p in dict.fromkeys(e["policy"])]
        self._payload = {
            "kind": "sweep", "title": str(self.out),
            "meta": {"episodes": len(e), "scenarios": int(e["scenario"].nunique()), "policies": len(policies),
                     "seeds": int(e["seed"].nunique()), "failed": int(e["error"].notna().sum()) if "error" in e else 0,
                     "audit": (self.out / shards.AUDIT).is_dir(), "size": self.manifest.get("size")},
            "scores": [{"name": s, "label": NAMES.get(s, s.replace("_", " ")), "arrow": rk.arrow(s),
                        "better": rk.better(s), "unit": rk.UNITS.get(s, "")} for s in rk.TABLE_SCORES],
            "compared": [{"name": s, "label": NAMES.get(s, s), "arrow": rk.arrow(s), "direction": DIRECTIONS.get(s, 0)}
                         for s in COMPARED],
            "ranking": rows, "fronts": _fronts(rows), "colours": _colours(policies),
            "baselines": rk.BASELINES, "all": ALL, "episodes": self._columns(),
        }
        return self._payload

    def ranking_for_seeds(self, seeds: Sequence[int]) -> dict[str, Any]:
        """The ranking and fronts over a subset of seeds (fewer bootstrap resamples: it is computed on request)."""
        sub = self.episodes[self.episodes["seed"].isin([int(s) for s in seeds])]
        if sub.empty:
            raise SimenvError("no episode has any of these seeds")
        table = rk.ranking(summarize(sub, n_resamples=SEED_RESAMPLES), sub, self.manifest)
        rows = _rows(table)
        return {"ranking": rows, "fronts": _fronts(rows), "episodes": len(sub)}

    def comparisons(self):
        """``comparisons.csv`` when it is at least as new as the episodes, else computed (once)."""
        if self._comparisons is None:
            import pandas as pd

            c, e = self.out / COMPARISONS, self.out / shards.EPISODES
            if c.exists() and (not e.exists() or c.stat().st_mtime >= e.stat().st_mtime):
                self._comparisons = pd.read_csv(c)
            else:
                self._comparisons = compare(self.episodes, COMPARED)
        return self._comparisons

    def pair(self, a: str, b: str, agent: str, scenario: str = ALL) -> dict[str, Any]:
        """Profiles ``a`` and ``b`` on the same seeds: the paired differences with their CIs, and each pair of episodes."""
        e = self.episodes
        for p in (a, b):
            if p not in set(e["policy"]):
                raise SimenvError(f"no profile {p!r} in {self.out}")
        c = self.comparisons()
        c = c[(c["policy_a"] == a) & (c["policy_b"] == b) & (c["agent"] == agent) & (c["scenario"] == scenario)]
        ok = e[e["error"].isna()] if "error" in e else e
        ok = ok[ok["agent"] == agent]
        if scenario != ALL:
            ok = ok[ok["scenario"] == scenario]
        left = ok[ok["policy"] == a].reset_index()
        right = ok[ok["policy"] == b].reset_index()
        both = left.merge(right, on=["scenario", "seed"], suffixes=("_a", "_b"))
        pairs = []
        for r in both.to_dict("records"):
            d = {s: clean(_f(r[f"{s}_a"]) - _f(r[f"{s}_b"])) for s in COMPARED if f"{s}_a" in r}
            pairs.append({"scenario": r["scenario"], "seed": int(r["seed"]), "a": int(r["index_a"]),
                          "b": int(r["index_b"]), "diff": d,
                          "values": {s: [clean(_f(r[f"{s}_a"])), clean(_f(r[f"{s}_b"]))] for s in COMPARED
                                     if f"{s}_a" in r}})
        return {"a": a, "b": b, "agent": agent, "scenario": scenario, "stats": _rows(c), "pairs": pairs}
