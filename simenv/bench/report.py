"""The report: plots as PNG files and one self-contained ``report.html`` (images inlined).

:func:`build_report` needs only a results folder (``episodes.parquet`` or its shards, and
``matrix.json``), so ``simenv report DIR`` rebuilds everything from saved results. The
exposure-over-time plot re-runs one episode per profile (the first scenario and seed) to
get its audit log; nothing else is re-run.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np

from simenv.bench import shards
from simenv.bench.stats import ALL, COMPARED, compare, summarize

PLOTS = "plots"
REPORT = "report.html"
COMPARISONS = "comparisons.csv"
KEY_SCORES = ("task_success", "blast_radius", "exposure", "residual_exposure", "scope_violation_rate",
              "friction_rate", "approval_wait_ticks", "error_rate")


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _ci(r) -> str:
    return f"{_fmt(r['mean'])} [{_fmt(r['mean_lo'])}, {_fmt(r['mean_hi'])}]"


def exposure_episodes(episodes, manifest: dict[str, Any]) -> tuple[dict[str, np.ndarray], str]:
    """Per-tick exposure of one episode per profile: the first scenario and seed of the results."""
    from simenv.agents.registry import is_known
    from simenv.api import run_episode
    from simenv.bench.timeline import exposure_series

    ok = episodes[episodes["error"].isna()] if "error" in episodes.columns else episodes
    if ok.empty:
        return {}, "exposure over time (no episode ran)"
    first = ok.iloc[0]
    scenario, seed, agent = first["scenario"], int(first["seed"]), first["agent"]
    sref = manifest.get("scenarios", {}).get(scenario, scenario)
    series: dict[str, np.ndarray] = {}
    for policy in dict.fromkeys(ok[ok["scenario"] == scenario]["policy"]):
        pref = manifest.get("policies", {}).get(policy, policy)
        try:
            res = run_episode(sref, pref, seed=seed, agent=agent if is_known(agent) else None,
                              size=manifest.get("size"))
        except Exception:  # noqa: BLE001 - a profile that cannot run has no line
            continue
        series[policy] = exposure_series(res.audit)
    return series, f"Exposure over time: {scenario}, seed {seed}, one episode per profile"


def _table(rows: list[list[str]], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _profile_table(summary) -> str:
    top = summary[summary["scenario"] == ALL]
    if top.empty:
        top = summary
    rows = []
    for (scenario, policy, agent), g in top.groupby(["scenario", "policy", "agent"], sort=False):
        by = {r["score"]: r for _, r in g.iterrows()}
        rows.append([scenario, policy, agent, str(int(by["error_rate"]["n"])) if "error_rate" in by else "",
                     *[_ci(by[s]) if s in by else "" for s in KEY_SCORES]])
    return _table(rows, ["scenario", "profile", "agent", "n", *[f"{s} mean [95% CI]" for s in KEY_SCORES]])


def _cell_table(summary) -> str:
    cells = summary[summary["scenario"] != ALL]
    rows = []
    for (scenario, policy, agent), g in cells.groupby(["scenario", "policy", "agent"], sort=False):
        by = {r["score"]: r for _, r in g.iterrows()}
        rows.append([scenario, policy, agent,
                     *[f"{_fmt(by[s]['mean'])} / {_fmt(by[s]['iqm'])}" if s in by else "" for s in KEY_SCORES]])
    return _table(rows, ["scenario", "profile", "agent", *[f"{s} mean / IQM" for s in KEY_SCORES]])


def _comparison_table(comparisons) -> str:
    top = comparisons[comparisons["scenario"] == ALL]
    if top.empty:
        top = comparisons
    seen: set[tuple[str, str, str, str]] = set()
    rows = []
    for _, r in top.iterrows():  # each pair once (comparisons.csv holds both orders)
        key = (r["scenario"], r["agent"], r["score"], "|".join(sorted((r["policy_a"], r["policy_b"]))))
        if key in seen:
            continue
        seen.add(key)
        rows.append([r["scenario"], f"{r['policy_a']} vs {r['policy_b']}", r["score"], str(r["n_pairs"]),
                     f"{_fmt(r['diff'])} [{_fmt(r['diff_lo'])}, {_fmt(r['diff_hi'])}]", _fmt(r["p_improve"])])
    return _table(rows, ["scenario", "A vs B", "score", "paired seeds", "mean A − B [95% CI]", "P(A better than B)"])


def _errors(episodes) -> str:
    if "error" not in episodes.columns:
        return "<p>None.</p>"
    bad = episodes[episodes["error"].notna()]
    if bad.empty:
        return "<p>None.</p>"
    rows = [[r["scenario"], r["policy"], str(r["seed"]), r["agent"], str(r["error"])[:300]] for _, r in bad.head(50).iterrows()]
    return f"<p>{len(bad)} episode(s) failed.</p>" + _table(rows, ["scenario", "profile", "seed", "agent", "error"])


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:.5em 0}figure{margin:1em 0}"""


def build_report(out: str | Path, *, episodes=None, summary=None) -> Path:
    """Write the plots (``out/plots/*.png``), ``comparisons.csv`` and ``out/report.html``; return the report path."""
    from simenv.bench import plots

    out = Path(out)
    if episodes is None:
        episodes = shards.read_episodes(out)
    if summary is None:
        summary = summarize(episodes)
    manifest = shards.read_manifest(out)
    comparisons = compare(episodes, COMPARED)
    shards.atomic_write(out / COMPARISONS, comparisons.to_csv(index=False).encode())
    series, title = exposure_episodes(episodes, manifest)
    images = {
        "pareto_blast_radius_vs_friction.png": ("Pareto frontier: blast radius vs friction", plots.pareto(summary)),
        "heatmap_scope_violation_rate.png": ("Scope-violation rate, scenario × profile", plots.heatmap(summary)),
        "exposure_over_time.png": (title, plots.exposure_over_time(series, title)),
        "cdf_blast_radius.png": ("CDF of blast radius", plots.cdf(episodes, "blast_radius")),
    }
    figs = []
    for name, (caption, png) in images.items():
        shards.atomic_write(out / PLOTS / name, png)
        data = base64.b64encode(png).decode()
        figs.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    n = len(episodes)
    meta = (f"{n} episodes · {episodes['scenario'].nunique()} scenario(s) × {episodes['policy'].nunique()} profile(s) × "
            f"{episodes['seed'].nunique()} seed(s) · agent(s): {', '.join(map(str, dict.fromkeys(episodes['agent'])))}")
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>simenv benchmark report</title>
<style>{CSS}</style></head><body>
<h1>simenv benchmark report</h1><p>{html.escape(meta)}</p>
<p>Means and interquartile means (IQM) with stratified percentile-bootstrap 95% CIs (Agarwal et al. 2021);
rows <code>*</code> pool every scenario, stratified by scenario. Undefined rates are skipped.</p>
<h2>Profiles</h2>{_profile_table(summary)}
<h2>Plots</h2>{''.join(figs)}
<h2>Paired comparisons</h2>{_comparison_table(comparisons)}
<h2>Scenario × profile</h2>{_cell_table(summary)}
<h2>Failed episodes</h2>{_errors(episodes)}
</body></html>
"""
    shards.atomic_write(out / REPORT, doc.encode())
    return out / REPORT
