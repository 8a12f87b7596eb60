"""Plots of benchmark results (the only module that imports matplotlib).

Figures are drawn with :class:`matplotlib.figure.Figure` and the Agg canvas directly: no
pyplot, no global backend switch, nothing changed for the caller's own plots. Each
function returns PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from simenv.bench.stats import ALL, as_float


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point dominates (lower x and lower y are better), by x.

    >>> pareto_front([(0, 5), (1, 1), (2, 2), (3, 0)])
    [0, 1, 3]
    """
    idx = [i for i, (x, y) in enumerate(points) if not np.isnan(x) and not np.isnan(y)]
    keep = [i for i in idx if not any(points[j][0] <= points[i][0] and points[j][1] <= points[i][1]
                                      and points[j] != points[i] for j in idx)]
    return sorted(keep, key=lambda i: points[i])


def pareto(summary) -> bytes:
    """Mean blast radius against mean friction rate per profile (over all scenarios), with 95% CIs."""
    fig = Figure(figsize=(7.6, 4.4))
    ax = fig.add_subplot()
    many = (summary["scenario"] == ALL).any()
    rows = summary[summary["scenario"] == ALL] if many else summary
    pts = []
    markers = "osD^v<>phX*"
    for k, ((policy, agent), g) in enumerate(rows.groupby(["policy", "agent"], sort=False)):
        f = g[g["score"] == "friction_rate"].iloc[0]
        b = g[g["score"] == "blast_radius"].iloc[0]
        x, y = float(f["mean"]), float(b["mean"])
        pts.append((x, y))
        label = policy if rows["agent"].nunique() == 1 else f"{policy} [{agent}]"
        ax.errorbar(x, y, xerr=[[x - f["mean_lo"]], [f["mean_hi"] - x]], yerr=[[y - b["mean_lo"]], [b["mean_hi"] - y]],
                    fmt=markers[k % len(markers)], capsize=3, label=label)
    front = pareto_front(pts)
    if front:
        ax.plot([pts[i][0] for i in front], [pts[i][1] for i in front], "--", color="grey", label="Pareto frontier")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_xlabel("friction rate (in-intent calls refused)")
    ax.set_ylabel("blast radius (sensitivity-weighted)")
    ax.set_title("Blast radius vs friction per profile" + (" (all scenarios)" if many else ""))
    ax.grid(alpha=0.3)
    return _png(fig)


def heatmap(summary, score: str = "scope_violation_rate") -> bytes:
    """Mean of ``score`` for every scenario × profile (grey: undefined)."""
    cells = summary[(summary["score"] == score) & (summary["scenario"] != ALL)]
    scenarios = list(dict.fromkeys(cells["scenario"]))
    policies = list(dict.fromkeys(cells["policy"]))
    grid = np.full((len(scenarios), len(policies)), np.nan)
    for _, r in cells.iterrows():
        grid[scenarios.index(r["scenario"]), policies.index(r["policy"])] = float(r["mean"])
    fig = Figure(figsize=(1.2 + 1.1 * max(1, len(policies)), 1.2 + 0.45 * max(1, len(scenarios))))
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(grid), cmap="Reds", vmin=0, vmax=1, aspect="auto")
    ax.set_facecolor("#dddddd")
    ax.set_xticks(range(len(policies)), policies, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(scenarios)), scenarios, fontsize=8)
    for i in range(len(scenarios)):
        for j in range(len(policies)):
            v = grid[i, j]
            ax.text(j, i, "n/a" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label=score)
    ax.set_title(f"{score}: scenario × profile")
    return _png(fig)


def exposure_over_time(series: Mapping[str, np.ndarray], title: str) -> bytes:
    """Per-tick exposure of one episode per profile (each line one episode)."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    for label, s in series.items():
        ys = np.append(s, s[-1]) if len(s) else np.zeros(1)
        ax.step(np.arange(len(ys)), ys, where="post", label=f"{label} (Σ {float(np.sum(s)):.0f})")
    ax.set_xlabel("tick")
    ax.set_ylabel("exposure: reach of live credentials")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    return _png(fig)


def cdf(episodes, score: str = "blast_radius") -> bytes:
    """Empirical CDF of ``score`` over every episode, one line per profile."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    for policy, g in episodes.groupby("policy", sort=False):
        x = np.sort(as_float(g[score])[~np.isnan(as_float(g[score]))])
        if len(x):
            ax.step(np.concatenate([[x[0]], x]), np.concatenate([[0.0], np.arange(1, len(x) + 1) / len(x)]),
                    where="post", label=str(policy))
    ax.set_xlabel(score)
    ax.set_ylabel("fraction of episodes ≤ x")
    ax.set_title(f"CDF of {score}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)
