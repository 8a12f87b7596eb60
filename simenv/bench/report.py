"""The report: plots as PNG files and one self-contained ``report.html`` (images inlined, no script).

:func:`build_report` needs only a results folder (``episodes.parquet`` or its shards, and
``matrix.json``; ``summary.csv`` when it is up to date), so ``simenv report DIR`` rebuilds
everything from saved results. The exposure-over-time plot re-runs the episodes of one
scenario (every profile and seed of the results; the scenario whose profile order by exposure
agrees best with the all-scenario order) to get their audit logs; nothing else is re-run.

What the page holds, in order: the ranking over all scenarios (:mod:`simenv.bench.ranking`),
completion under policy against blast radius, blast radius against friction, blast radius
over episodes, scenario × profile heatmaps of blast radius and scope-violation rate, exposure
over time, the ranking per scenario, the paired comparisons, and the failed episodes. Each
section opens with a short paragraph on how to read it.
"""

from __future__ import annotations

import base64
import functools
import html
from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from simenv.bench import ranking as rk
from simenv.bench import shards
from simenv.bench.stats import ALL, COMPARED, DIRECTIONS, as_float, compare, result_or, summarize, try_submit

PLOTS = "plots"
REPORT = "report.html"
COMPARISONS = "comparisons.csv"
FIGURES = ("completion_vs_blast_radius.png", "pareto_blast_radius_vs_friction.png", "blast_radius_by_profile.png",
           "heatmap_blast_radius.png", "heatmap_scope_violation_rate.png", "exposure_over_time.png")
NAMES = {"blast_radius": "blast radius", "potential_blast_radius": "potential blast radius", "exposure": "exposure",
         "completion_under_policy": "completion under policy", "task_success": "task success",
         "friction_rate": "friction rate", "scope_violation_rate": "scope-violation rate",
         "approval_wait_ticks": "approval wait", "residual_exposure": "residual exposure"}


def num(v: Any) -> str:
    """A number for a table cell: ``undefined`` for NaN/None, else as many digits as its size needs.

    >>> [num(x) for x in (None, 0.0, -0.0, -0.0001, 0.5722, 3.9333, 25.0, 27.157, 1221.87, 69832.1)]
    ['undefined', '0', '0', '0', '0.572', '3.93', '25', '27.2', '1,222', '69,832']
    """
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "undefined"
    v = float(v)
    a = abs(v)
    if v == round(v) or a >= 1000:
        text = f"{v:,.0f}"
    elif a >= 100:
        text = f"{v:.0f}"
    elif a >= 10:
        text = f"{v:.1f}"
    elif a >= 1:
        text = f"{v:.2f}"
    else:
        text = f"{v:.3f}"
    return "0" if text.lstrip("-").strip("0.,") == "" else text


def _ci(m: float, lo: float, hi: float) -> str:
    return "undefined" if not np.isfinite(m) else f"{num(m)} [{num(lo)}, {num(hi)}]"


def _esc(s: Any) -> str:
    return html.escape(str(s))


def read_summary(out: Path, episodes):
    """``summary.csv`` when it is at least as new as the episodes it summarizes, else a fresh summary."""
    import pandas as pd

    s, e = out / shards.SUMMARY, out / shards.EPISODES
    if s.exists() and e.exists() and s.stat().st_mtime >= e.stat().st_mtime:
        return pd.read_csv(s)
    return summarize(episodes)


def _ok(episodes):
    return episodes[episodes["error"].isna()] if "error" in episodes.columns else episodes


def _top_scenario(table) -> str | None:
    if table.empty:
        return None
    return ALL if (table["scenario"] == ALL).any() else str(table["scenario"].iloc[0])


def exposure_curves(episodes, manifest: dict[str, Any], scenario: str, labels: dict[tuple[str, str], str],
                    st: dict[str, Any]) -> tuple[list[Any], int | None, float | None, list[str]]:
    """Re-run ``scenario``'s episodes (every profile and seed of the results) and average exposure per tick.

    Returns the curves, the exposure horizon, the latest episode end, and the profiles left out
    (an agent that was an object cannot be re-run by name).
    """
    from simenv.agents.registry import is_known
    from simenv.api import run_episode
    from simenv.bench.plots import Curve
    from simenv.bench.timeline import exposure_series

    ok = _ok(episodes)
    cell = ok[ok["scenario"] == scenario]
    sref = manifest.get("scenarios", {}).get(scenario, scenario)
    curves: list[Any] = []
    skipped: list[str] = []
    horizon: int | None = None
    last_end: float | None = None
    for (policy, agent), g in cell.groupby(["policy", "agent"], sort=False):
        name = labels.get((policy, agent), str(policy))
        if not is_known(str(agent)):
            skipped.append(name)
            continue
        pref = manifest.get("policies", {}).get(policy, policy)
        runs, ends = [], []
        for seed in sorted(int(s) for s in g["seed"]):
            try:
                res = run_episode(sref, pref, seed=seed, agent=str(agent), size=manifest.get("size"))
            except Exception:  # noqa: BLE001 - an episode that cannot re-run has no line
                continue
            runs.append(exposure_series(res.audit))
            ends.append(res.scores["ticks"])
            horizon = max(horizon or 0, res.audit.header.exposure_horizon)
        if not runs:
            skipped.append(name)
            continue
        width = max(len(r) for r in runs)
        mean = np.mean([np.pad(r, (0, width - len(r))) for r in runs], axis=0)
        last_end = max(last_end or 0.0, float(max(ends)))
        same = next((c.label for c in curves if len(c.mean) == len(mean) and np.array_equal(c.mean, mean)), None)
        curves.append(Curve(name, mean, st[name], end=float(np.median(ends)), same_as=same,
                            total=float(np.mean([r.sum() for r in runs]))))
    return curves, horizon, last_end, skipped


def _labels(summary) -> dict[tuple[str, str], str]:
    pairs = list(dict.fromkeys(zip(summary["policy"], summary["agent"], strict=True)))
    n_agents = len({a for _, a in pairs})
    return {(p, a): rk.label(p, a, n_agents) for p, a in pairs}


Job = tuple[str, Any, tuple[Any, ...]]
"""A figure to draw: its file name, and a function and arguments that return its ``(caption, png)``."""


def _drawn(caption: str, plot: Any, *args: Any, **kwargs: Any) -> tuple[str, bytes]:
    """``(caption, plot(*args, **kwargs))``: one figure, drawn wherever it runs (here or on a worker)."""
    return caption, plot(*args, **kwargs)


def _figures(summary, episodes, table, manifest: dict[str, Any], executor: Executor | None = None,
             ) -> dict[str, tuple[str, bytes]]:
    """Every figure's ``(caption, png)`` by file name, drawn on ``executor``'s workers where it takes them.

    A figure is a function of plain data (:mod:`simenv.bench.plots`), so a worker draws the same bytes; one
    a worker cannot draw is drawn here.
    """
    jobs = _figure_jobs(summary, episodes, table, manifest)
    ahead = [try_submit(executor, fn, *args) if executor is not None else None for _, fn, args in jobs]
    return {name: result_or(f, functools.partial(fn, *args)) for (name, fn, args), f in zip(jobs, ahead, strict=True)}


def _figure_jobs(summary, episodes, table, manifest: dict[str, Any]) -> list[Job]:
    from simenv.bench import plots

    labels = _labels(summary)
    st = plots.styles(list(labels.values()), baselines=[labels[k] for k in labels if k[0] in rk.BASELINES])
    top = _top_scenario(table)
    overall = table[table["scenario"] == top] if top is not None else table
    where = "all scenarios" if top == ALL else f"scenario {top}"
    order = [labels[(r["policy"], r["agent"])] for r in overall.to_dict("records")]

    def point(r: dict[str, Any], xs: str, ys: str) -> Any:
        name = labels[(r["policy"], r["agent"])]
        return plots.Point(name, r[f"{xs}.mean"], r[f"{xs}.mean_lo"], r[f"{xs}.mean_hi"], r[f"{ys}.mean"],
                           r[f"{ys}.mean_lo"], r[f"{ys}.mean_hi"], st[name], baseline=bool(r["baseline"]))

    rows = overall.to_dict("records")
    out: list[Job] = []

    def draw(name: str, caption: str, plot: Any, *args: Any, **kwargs: Any) -> None:
        out.append((name, functools.partial(_drawn, caption, plot, **kwargs), args))

    draw("completion_vs_blast_radius.png",
         f"Completion under policy against blast radius per profile ({where}), means with 95% CIs",
         plots.tradeoff, [point(r, "blast_radius", "completion_under_policy") for r in rows],
         xlabel="blast radius: mean per episode (sensitivity-weighted resources)   ← lower is better",
         ylabel="completion under policy: fraction of episodes   higher is better →",
         title=f"Completion under policy vs blast radius ({where}); better: up and left",
         x_lower_better=True, y_lower_better=False, split=False)
    draw("pareto_blast_radius_vs_friction.png",
         f"Blast radius against friction rate per profile ({where}), means with 95% CIs",
         plots.tradeoff, [point(r, "friction_rate", "blast_radius") for r in rows],
         xlabel="friction rate: mean share of intended actions refused (fraction)   ← lower is better",
         ylabel="blast radius: mean (sensitivity-weighted resources)   ← lower is better",
         title=f"Blast radius vs friction ({where}); better: down and left",
         x_lower_better=True, y_lower_better=True, split=True)
    ok = _ok(episodes)
    strips = []
    for r in rows:
        name = labels[(r["policy"], r["agent"])]
        g = ok[(ok["policy"] == r["policy"]) & (ok["agent"] == r["agent"])]
        if top not in (None, ALL):
            g = g[g["scenario"] == top]
        x = as_float(g["blast_radius"])
        x = x[np.isfinite(x)]
        zero = float(np.mean(x == 0)) if len(x) else float("nan")
        note = (f"mean {num(r['blast_radius.mean'])} · IQM {num(r['blast_radius.iqm'])} · p90 {num(r['p90'])} · "
                f"worst {num(r['worst'])} · {zero:.0%} at 0") if len(x) else "no value"
        strips.append(plots.Strip(name, x, st[name], baseline=bool(r["baseline"]), note=note))
    draw("blast_radius_by_profile.png", f"Blast radius of every episode per profile ({where}), best mean at the top",
         plots.distribution, strips, xlabel="blast radius of one episode (sensitivity-weighted resources)   ← lower is better",
         title=f"Blast radius over episodes ({where}, {len(ok)} episodes): the tail the mean and IQM hide")
    scen = [s for s in dict.fromkeys(summary["scenario"]) if s != ALL]
    for score, fmt in (("blast_radius", "{:.1f}"), ("scope_violation_rate", "{:.2f}")):
        grid = np.full((len(scen), len(order)), np.nan)
        counts, totals = np.zeros_like(grid), np.zeros_like(grid)
        for r in summary[summary["scenario"] != ALL].to_dict("records"):
            name = labels[(r["policy"], r["agent"])]
            if name not in order or r["scenario"] not in scen:
                continue
            i, j = scen.index(r["scenario"]), order.index(name)
            if r["score"] == score:
                grid[i, j], counts[i, j] = float(r["mean"]), float(r["n"])
            elif r["score"] == "error_rate":
                totals[i, j] = float(r["n"]) * (1.0 - float(r["mean"]))
        vmax = 1.0 if score.endswith("_rate") else None
        draw(f"heatmap_{score}.png", f"{NAMES[score]} per scenario × profile (mean over seeds)",
             plots.heatmap, grid, scen, order,
             title=f"{NAMES[score]} {rk.arrow(score)} ({rk.better(score)}): mean over seeds, scenario × profile",
             unit=f"{NAMES[score]} ({rk.UNITS.get(score, '')})", counts=counts, totals=totals,
             why_undefined=rk.UNDEFINED_WHY.get(score, ""), vmax=vmax, fmt=fmt)
    scenario, rho = rk.representative_scenario(summary)
    if scenario is not None:
        cell = ok[ok["scenario"] == scenario]
        out.insert(0, ("exposure_over_time.png", _exposure_figure, (cell, manifest, scenario, labels, st, order, rho)))
    return out  # the exposure figure first: it re-runs episodes, the longest to draw


def _exposure_figure(cell, manifest: dict[str, Any], scenario: str, labels: dict[tuple[str, str], str],
                     st: dict[str, Any], order: list[str], rho: float) -> tuple[str, bytes]:
    """The exposure-over-time figure of ``scenario`` (``cell``: its episodes without an error), re-run here."""
    from simenv.bench import plots

    curves, horizon, last_end, skipped = exposure_curves(cell, manifest, scenario, labels, st)
    curves.sort(key=lambda c: order.index(c.label) if c.label in order else len(order))
    why = f"agrees best with the all-scenario order (Spearman ρ = {rho:.2f})" if np.isfinite(rho) else "the only one"
    n_seeds = int(cell["seed"].nunique())
    caption = (f"Exposure over time in {scenario}, mean over {n_seeds} seeds per profile; this scenario's profile "
               f"order by exposure {why}" + (f"; not re-run (agent object): {', '.join(skipped)}" if skipped else ""))
    return caption, plots.exposure_over_time(
        curves, title=f"Exposure per tick in {scenario}: mean over {n_seeds} seeds", horizon=horizon,
        last_end=last_end, empty=("No episode could be re-run to draw exposure over time:\nthe sweep's agent was "
                                  "an object, not a name that simenv can build again." if skipped else
                                  f"No episode of {scenario} ran without an error."))


def _arrow_head(score: str) -> str:
    a, b = rk.arrow(score), rk.better(score)
    unit = rk.UNITS.get(score, "")
    return (f'{_esc(NAMES.get(score, score))} <span class="arrow" title="{b}">{a}</span>'
            f'<br><span class="unit">{_esc(unit)}</span>')


def _best(values: list[float], score: str) -> float | None:
    v = [x for x in values if np.isfinite(x)]
    if not v or len(set(v)) == 1:
        return None
    return min(v) if DIRECTIONS.get(score, 1) == 1 else max(v)


def _value(m: float, lo: float, hi: float, *, strong: bool = False, prefix: str = "") -> str:
    if not np.isfinite(m):
        return f'<span class="undef">{prefix}undefined</span>'
    v = f"<strong>{num(m)}</strong>" if strong else num(m)
    return f'{prefix}{v}<br><span class="ci">[{num(lo)}, {num(hi)}]</span>'


def ranking_table(rows: list[dict[str, Any]], scenario: str, scores: Sequence[str] = rk.TABLE_SCORES) -> str:
    """The HTML table of one scenario's (or ``*``'s) ranking rows, each with its reproduction commands."""
    best = {s: _best([r[f"{s}.mean"] for r in rows if not r["baseline"]], s) for s in scores}
    agents = len({r["agent"] for r in rows}) > 1
    others = [s for s in scores if s != rk.RANKED_BY]
    head = ["<th>rank</th><th>profile</th>", "<th>agent</th>" if agents else "", "<th>episodes</th>",
            f"<th>{_arrow_head(rk.RANKED_BY)}</th>",
            '<th>blast radius tail <span class="arrow" title="lower is better">↓</span><br>'
            '<span class="unit">p90: 90% of episodes at or below; worst: the worst episode</span></th>',
            *[f"<th>{_arrow_head(s)}</th>" for s in others]]
    ncol = (5 if agents else 4) + 1 + len(others)
    bodies = []
    for r in rows:
        cls = ' class="baseline"' if r["baseline"] else ""
        rank = ('<span class="base">baseline</span>' if r["baseline"]
                else ("–" if not np.isfinite(r["rank"]) else str(int(r["rank"]))))
        ran = r["episodes"] - r["errors"]

        def cell(s: str, r: dict[str, Any] = r, ran: int = ran) -> str:
            m = r[f"{s}.mean"]
            strong = best[s] is not None and np.isfinite(m) and not r["baseline"] and m == best[s]
            lines = [_value(m, r[f"{s}.mean_lo"], r[f"{s}.mean_hi"], strong=strong),
                     f'<span class="iqm">{_value(r[f"{s}.iqm"], r[f"{s}.iqm_lo"], r[f"{s}.iqm_hi"], prefix="IQM ")}</span>']
            n = r[f"{s}.n"]
            if np.isfinite(n) and ran and int(n) < ran:
                lines.append(f'<span class="n">defined in {int(n)} of {ran}</span>')
            return f'<td class="num">{"<br>".join(lines)}</td>'

        tail = f'p90 {num(r["p90"])}'
        if r["worst_seed"] is not None and np.isfinite(r["worst"]):
            seed = f"seed {int(r['worst_seed'])}"
            at = [seed] if scenario != ALL else [str(r["worst_scenario"]), seed]
            count = int(r.get("worst_count") or 0)
            if count > 1:
                at[-1] += f" (+{count - 1} more)"
            tail += f"<br>worst {num(r['worst'])}<br>" + "<br>".join(f'<span class="unit">{_esc(x)}</span>' for x in at)
        cmds = []
        if r["bench_command"]:
            cmds.append(f'reproduce this row: <code>{_esc(r["bench_command"])}</code>')
        if r["run_command"]:
            cmds.append(f'replay the worst episode: <code>{_esc(r["run_command"])}</code>')
        if not cmds:
            cmds.append("no command line reproduces this row: the sweep's agent was an object, not a name")
        role = f'<br><span class="unit">{_esc(r["baseline"])}</span>' if r["baseline"] else ""
        bodies.append(
            f'<tbody{cls}><tr><td>{rank}</td><td class="profile">{_esc(r["policy"])}{role}</td>'
            + (f"<td>{_esc(r['agent'])}</td>" if agents else "")
            + f"<td>{r['episodes']}" + (f'<br><span class="n">{r["errors"]} failed</span>' if r["errors"] else "") + "</td>"
            + f'{cell(rk.RANKED_BY)}<td class="tail">{tail}</td>'
            + "".join(cell(s) for s in others)
            + f'</tr><tr class="cmd"><td colspan="{ncol}">{"<br>".join(cmds)}</td></tr></tbody>')
    return (f'<div class="scroll"><table class="ranking"><thead><tr>{"".join(head)}</tr></thead>'
            f'{"".join(bodies)}</table></div>')


def _gist(rows: list[dict[str, Any]]) -> str:
    """One line of a ranking: ``1 a, b (0) · 3 c (7.5) · baselines: deny_all 0, allow_all 20``."""
    groups: dict[float, list[str]] = {}
    for r in rows:
        if not r["baseline"] and np.isfinite(r["rank"]):
            groups.setdefault(r["rank"], []).append(str(r["policy"]))
    by_rank = {r["rank"]: r[f"{rk.RANKED_BY}.mean"] for r in rows if not r["baseline"] and np.isfinite(r["rank"])}
    text = " · ".join(f"{int(k)} {', '.join(v)} ({num(by_rank[k])})" for k, v in groups.items())
    base = [f"{r['policy']} {num(r[f'{rk.RANKED_BY}.mean'])}" for r in rows if r["baseline"]]
    return text + (f" · baselines: {', '.join(base)}" if base else "")


def _table(rows: list[list[str]], head: list[str]) -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'


def _pair_rows(comparisons, pairs: list[tuple[str, str]], agent: Any, scores: Sequence[str]) -> list[str]:
    top = comparisons[comparisons["scenario"] == (ALL if (comparisons["scenario"] == ALL).any() else
                                                  comparisons["scenario"].iloc[0])]
    top = top[top["agent"] == agent]
    by = {(r["policy_a"], r["policy_b"], r["score"]): r for r in top.to_dict("records")}
    out = []
    for a, b in pairs:
        cells = []
        for score in scores:
            r = by.get((a, b, score))
            if r is None or not np.isfinite(r["diff"]):
                cells.append('<td class="undef">undefined</td>')
                continue
            clear = r["diff_lo"] > 0 or r["diff_hi"] < 0
            d = f"<strong>{num(r['diff'])}</strong>" if clear else num(r["diff"])
            verdict = ""
            if clear:
                good = (r["diff"] < 0) == (DIRECTIONS.get(score, 1) == 1)
                verdict = f'<br><span class="{"good" if good else "bad"}">A clearly {"better" if good else "worse"}</span>'
            cells.append(f'<td class="num">{d} <span class="ci">[{num(r["diff_lo"])}, {num(r["diff_hi"])}]</span><br>'
                         f'<span class="iqm">P(A better) {num(r["p_improve"])} · {int(r["n_pairs"])} pairs</span>'
                         f"{verdict}</td>")
        out.append(f"<tr><td>{_esc(a)} vs {_esc(b)}</td>{''.join(cells)}</tr>")
    return out


def _comparison_tables(comparisons, table) -> str:
    """Each ranked profile against the next, then every pair (folded), on the compared scores."""
    if comparisons.empty or table.empty:
        return "<p>Fewer than two profiles: nothing to compare.</p>"
    top = _top_scenario(table)
    scores = [s for s in COMPARED if (comparisons["score"] == s).any()]
    head = "<th>A vs B</th>" + "".join(f"<th>{_arrow_head(s)}</th>" for s in scores)
    parts = []
    for agent in dict.fromkeys(table["agent"]):
        order = [r["policy"] for r in table[(table["scenario"] == top) & (table["agent"] == agent)].to_dict("records")]
        ranked = [p for p in order if p not in rk.BASELINES]
        nxt = list(zip(ranked, ranked[1:], strict=False))
        every = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
        title = f" (agent {_esc(agent)})" if table["agent"].nunique() > 1 else ""
        parts.append(f"<h3>Each ranked profile against the next{title}</h3>"
                     f'<div class="scroll"><table class="ranking"><thead><tr>{head}</tr></thead><tbody>'
                     + "".join(_pair_rows(comparisons, nxt, agent, scores)) + "</tbody></table></div>")
        parts.append(f"<details><summary>Every pair{title}: {len(every)} rows (A is the profile ranked higher)</summary>"
                     f'<div class="scroll"><table class="ranking"><thead><tr>{head}</tr></thead><tbody>'
                     + "".join(_pair_rows(comparisons, every, agent, scores)) + "</tbody></table></div></details>")
    return "".join(parts)


def _errors(episodes) -> str:
    if "error" not in episodes.columns:
        return "<p>None.</p>"
    bad = episodes[episodes["error"].notna()]
    if bad.empty:
        return "<p>None.</p>"
    rows = [[r["scenario"], r["policy"], str(r["seed"]), r["agent"], str(r["error"])[:300]] for _, r in bad.head(50).iterrows()]
    return f"<p>{len(bad)} episode(s) failed.</p>" + _table(rows, ["scenario", "profile", "seed", "agent", "error"])


CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1360px;padding:0 1em;
color:#1a1a1a;background:#fff;line-height:1.4}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}h3{margin-top:1.5em}
p.how{background:#f4f7fb;border-left:4px solid #0173B2;padding:.5em .8em;max-width:62em;color:#1a1a1a}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:12.5px;margin:.6em 0}td,th{border:1px solid #c8c8c8;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#eeeeee;color:#1a1a1a}
table.ranking tbody:nth-of-type(even){background:#f6f6f6}table.ranking tbody{border-top:2px solid #999}
tr.cmd td{font-size:11.5px;color:#333;border-top:none;padding-left:2em}code{font-family:ui-monospace,Menlo,Consolas,
monospace;background:#eef0f2;color:#1a1a1a;padding:0 3px}td.num{white-space:nowrap}
.arrow{font-weight:bold;color:#1a1a1a}.unit,.iqm,.n,.ci{color:#555;font-size:11px}.undef{color:#555;font-style:italic}
table.ranking{font-size:12.5px;line-height:1.3}table.ranking th{font-weight:600;min-width:6em;max-width:10em}
td.tail{max-width:11em}
tbody.baseline td.profile{font-style:italic}.base{color:#444;font-style:italic}
img{max-width:100%;height:auto;border:1px solid #e4e4e4;margin:.5em 0}figure{margin:1em 0}
figcaption{color:#333;font-size:13px}nav ol{columns:2;max-width:50em}
.good{color:#0b5a2a;font-size:11px;font-weight:600}.bad{color:#8a1c0c;font-size:11px;font-weight:600}
details{margin:.3em 0}summary{cursor:pointer;padding:.2em 0}details[open]>summary{margin-bottom:.3em}"""

HOW = {
    "ranking": (
        "Profiles are ordered by mean blast radius (realized damage, lower is better); ties share a rank and are "
        "ordered by completion under policy. The baselines are shown where they fall but not ranked: deny_all is the "
        "floor (no damage, and no work done), allow_all the ceiling of damage. Arrows say which direction is better: "
        "↓ lower, ↑ higher. Each cell gives the mean with its 95% bootstrap CI and, beneath, the IQM (the mean of the "
        "middle half of episodes) with its CI. The IQM drops the worst quarter of episodes, which for security is the "
        "part that matters, so read the p90 and worst-episode columns beside it. Bold marks the best value of a column "
        "among ranked profiles. Profiles whose CIs overlap are not clearly different: the paired comparisons below "
        "say by how much, and how often, one beats the other. Under each row: the command that re-runs exactly its "
        "episodes, and the command that replays its worst episode with its decision trail."),
    "completion": (
        "Each point is a profile: how much damage it let through (left is better) against how often the work was "
        "done without any out-of-intent action executing (up is better). Bars are 95% CIs. The dashed staircase is "
        "the Pareto frontier: no profile beats a frontier profile (bold label) on both axes, so choosing among "
        "frontier profiles is a trade-off, and a profile off the frontier is beaten by one on it."),
    "friction": (
        "The cost side: how often intended work is refused (left is better) against blast radius (down is better). "
        "When most profiles sit at low friction far from the others, the friction axis is broken in two (// marks) "
        "so that they spread out. Markers that would coincide are nudged a few points apart; the table has their "
        "values."),
    "tail": (
        "Every dot is one episode (a scenario and seed); rows are profiles, best mean at the top. The box spans the "
        "middle half of episodes with the median as a line, the white diamond is the mean, and the red bar is the "
        "90th percentile. A profile can have an IQM of 0 and still let a tenth of its episodes through with large "
        "damage: the dots at the right and the p90 show it. The numbers at the right repeat the table."),
    "heatmaps": (
        "Mean over seeds per scenario (row) and profile (column, in ranking order); darker is worse. Blast radius is "
        "defined in every episode. The scope-violation rate (out-of-intent calls executed ÷ attempted) is undefined "
        "when nothing out of intent was attempted: such cells say \"undefined\", a cell defined in only some "
        "episodes says in how many (n=k/N), and a row undefined throughout is marked † and explained under the "
        "grid."),
    "exposure": (
        "Privilege held over time: at each tick, the sensitivity-weighted reach of every live credential, averaged "
        "over seeds. The area under a line is the exposure score (Σ in the legend, weight × ticks). A marker shows "
        "each profile's median episode end; exposure goes on after the end, because credentials still live are "
        "charged until they expire or until the exposure horizon (the solid line). Identical lines are named in "
        "the legend."),
    "per_scenario": (
        "The same ranking within each scenario, over its seeds. Each line gives the ranks and mean blast radii; open "
        "it for the full table, whose worst-episode column gives the seed to replay."),
    "comparisons": (
        "Is a profile clearly better than the next one down? On the same seeds over all scenarios, each cell gives "
        "the mean of the paired difference A − B with its 95% CI, and the probability that an episode of A is better "
        "than one of B (0.5: no difference). Bold: the CI excludes 0, a clear difference, and the cell says whether A "
        "is then better or worse (by the arrow: a negative difference is better for ↓ scores, a positive one for ↑)."),
}


def build_report(out: str | Path, *, episodes=None, summary=None, executor: Executor | None = None) -> Path:
    """Write the plots (``out/plots/*.png``), ``comparisons.csv`` and ``out/report.html``; return the report path.

    With ``executor`` (a sweep's workers), the paired comparisons and the figures are computed there while this
    process ranks the profiles: the same figures and the same bytes (every bootstrap draws from its own seeded
    generator; a figure is a function of plain data), sooner.
    """
    out = Path(out)
    if episodes is None:
        episodes = shards.read_episodes(out)
    if summary is None:
        summary = read_summary(out, episodes)
    manifest = shards.read_manifest(out)
    pending = try_submit(executor, compare, episodes, COMPARED) if executor is not None else None
    table = rk.ranking(summary, episodes, manifest)
    images = _figures(summary, episodes, table, manifest, executor) if not table.empty else {}
    comparisons = result_or(pending, lambda: compare(episodes, COMPARED))
    shards.atomic_write(out / COMPARISONS, comparisons.to_csv(index=False).encode())
    for old in (out / PLOTS).glob("*.png"):  # plots/ holds exactly this report's figures
        if old.name not in images:
            old.unlink(missing_ok=True)
    figs: dict[str, str] = {}
    for name, (caption, png) in images.items():
        shards.atomic_write(out / PLOTS / name, png)
        data = base64.b64encode(png).decode()
        figs[name] = (f'<figure><img alt="{_esc(caption)}" src="data:image/png;base64,{data}">'
                      f"<figcaption>{_esc(caption)}</figcaption></figure>")
    top = _top_scenario(table)
    n = len(episodes)
    meta = (f"{n} episodes · {episodes['scenario'].nunique()} scenario(s) × {episodes['policy'].nunique()} profile(s) × "
            f"{episodes['seed'].nunique()} seed(s) · agent(s): {', '.join(map(str, dict.fromkeys(episodes['agent'])))}"
            + (f" · estate size {manifest['size']}" if manifest.get("size") else ""))
    per = []
    for scenario in [s for s in dict.fromkeys(table["scenario"]) if s != top]:
        rows = table[table["scenario"] == scenario].to_dict("records")
        per.append(f'<details id="s-{_esc(scenario)}"><summary><strong>{_esc(scenario)}</strong>: {_esc(_gist(rows))}'
                   f"</summary>{ranking_table(rows, scenario)}</details>")
    top_rows = table[table["scenario"] == top].to_dict("records") if top is not None else []
    where = "all scenarios" if top == ALL else f"scenario {top}"
    sections = [
        ("ranking", f"Ranking over {where}", HOW["ranking"], ranking_table(top_rows, top or ALL)),
        ("completion", "Completion under policy vs blast radius", HOW["completion"],
         figs.get("completion_vs_blast_radius.png", "")),
        ("friction", "Blast radius vs friction", HOW["friction"], figs.get("pareto_blast_radius_vs_friction.png", "")),
        ("tail", "Blast radius over episodes: the tail", HOW["tail"], figs.get("blast_radius_by_profile.png", "")),
        ("heatmaps", "Scenario × profile", HOW["heatmaps"],
         figs.get("heatmap_blast_radius.png", "") + figs.get("heatmap_scope_violation_rate.png", "")),
        ("exposure", "Exposure over time", HOW["exposure"], figs.get("exposure_over_time.png", "")),
    ]
    if per:
        sections.append(("per-scenario", "Ranking per scenario", HOW["per_scenario"],
                         "<p>" + " · ".join(f'<a href="#s-{_esc(s)}">{_esc(s)}</a>'
                                            for s in dict.fromkeys(table["scenario"]) if s != top) + "</p>" + "".join(per)))
    sections += [("comparisons", "Paired comparisons", HOW["comparisons"], _comparison_tables(comparisons, table)),
                 ("failed", "Failed episodes", "", _errors(episodes))]
    nav = "".join(f'<li><a href="#{sid}">{_esc(title)}</a></li>' for sid, title, _, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{_esc(title)}</h2>' + (f'<p class="how">{_esc(how)}</p>' if how else "")
                   + content + "</section>" for sid, title, how, content in sections)
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>simenv benchmark report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>
<h1>simenv benchmark report</h1><p>{_esc(meta)}</p>
<p>Scores come from each episode's audit log (the README's Scores section says what each means). Blast radius and
exposure are sensitivity-weighted resource counts (exposure: weight × ticks); rates are fractions; waits are in ticks.
Means and interquartile means (IQM) carry stratified percentile-bootstrap 95% CIs (Agarwal et al. 2021); rows
<code>*</code> pool every scenario, stratified by scenario. Undefined rates are skipped, never counted as zero.</p>
<nav><strong>Contents</strong><ol>{nav}</ol></nav>
{body}
</body></html>
"""
    shards.atomic_write(out / REPORT, doc.encode())
    return out / REPORT
