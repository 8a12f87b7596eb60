"""Plots of benchmark results (the only module that imports matplotlib).

Figures are drawn with :class:`matplotlib.figure.Figure` and the Agg canvas directly: no
pyplot, no global backend switch, nothing changed for the caller's own plots. Each
function returns PNG bytes and takes plain data (numbers, lists, dicts) that
:mod:`simenv.bench.report` prepares.

Profiles keep one style in every figure (:func:`styles`): a colour from a colour-blind-safe
palette (the Okabe–Ito colours as seaborn's ``colorblind`` palette orders them), a marker
shape and a line style, so that no two of up to 20 profiles look alike even where colours
must repeat, and the baselines are neutral (black and grey). Points are labelled directly,
with leader lines, at the nearest place where a label overlaps no other label and no marker;
markers that would coincide are nudged a few points apart (their values are in the tables).
Cell text in heatmaps is black or white, whichever contrasts more with the cell.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox, offset_copy

# seaborn "colorblind" (Okabe & Ito's colours, extended to ten), less its grey, kept for baselines
PALETTE = ("#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC", "#CA9161", "#56B4E9", "#ECE133", "#FBAFE4")
NEUTRAL = ("#000000", "#949494")
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "d", "<", ">")
BASELINE_MARKERS = ("*", "h")
LINESTYLES = ("-", "--", "-.", ":")
FONT = 8
DPI = 110


@dataclass(frozen=True)
class Style:
    """How one profile is drawn in every figure."""

    color: str
    marker: str
    linestyle: str
    filled: bool = True

    @property
    def light(self) -> bool:
        """Whether the colour is light enough to need a dark outline on white."""
        return luminance(self.color) > 0.45

    def line(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"color": self.color, "linestyle": self.linestyle}
        if self.light:
            kw["path_effects"] = [patheffects.Stroke(linewidth=3.0, foreground="#555555"), patheffects.Normal()]
        return kw

    def point(self) -> dict[str, Any]:
        return {"marker": self.marker, "color": self.color, "markeredgecolor": "#222222", "markeredgewidth": 0.8,
                "fillstyle": "full" if self.filled else "none", "linestyle": "none"}


def styles(names: Sequence[str], baselines: Sequence[str] = ()) -> dict[str, Style]:
    """One distinct style per name, in order; names in ``baselines`` get the neutral colours first.

    Candidates take the palette's colours in turn, each with its own marker; past the
    palette's length, colours come round again with another marker, hollow, and another
    line style, so that every (colour, marker, line style, fill) differs for up to 20 names.

    >>> s = styles(["a", "b", "deny_all"], baselines=["deny_all"])
    >>> s["deny_all"].color, s["a"].color != s["b"].color
    ('#000000', True)
    """
    out: dict[str, Style] = {}
    k = 0
    n_base = 0
    for name in names:
        if name in baselines and n_base < len(NEUTRAL):
            out[name] = Style(NEUTRAL[n_base], BASELINE_MARKERS[n_base], LINESTYLES[(n_base + 1) % 4])
            n_base += 1
            continue
        lap = k // len(PALETTE)
        out[name] = Style(PALETTE[k % len(PALETTE)], MARKERS[(k + 3 * lap) % len(MARKERS)], LINESTYLES[lap % 4],
                          filled=lap % 2 == 0)
        k += 1
    return out


def luminance(color: str | Sequence[float]) -> float:
    """WCAG relative luminance of a colour (0 black, 1 white).

    >>> luminance("#000000"), luminance("#ffffff")
    (0.0, 1.0)
    """
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = to_rgb(color)  # type: ignore[arg-type]
    return round(0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b), 6)


def text_color(background: str | Sequence[float]) -> str:
    """Black or white, whichever has the higher WCAG contrast ratio against ``background``.

    >>> text_color("#67000d"), text_color("#fff5f0")
    ('white', 'black')
    """
    y = luminance(background)
    return "black" if (y + 0.05) / 0.05 >= 1.05 / (y + 0.05) else "white"


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
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


@dataclass
class Point:
    """One profile in a trade-off plot: a mean and its 95% CI on each axis."""

    label: str
    x: float
    xlo: float
    xhi: float
    y: float
    ylo: float
    yhi: float
    style: Style
    baseline: bool = False
    front: bool = field(default=False, compare=False)


def x_panels(intervals: Sequence[tuple[float, float]], gap: float = 0.5) -> list[tuple[float, float]]:
    """The x ranges to draw: one, or two when an empty gap wider than ``gap`` of the span splits the points.

    ``intervals`` are each point's (low, high) extent. Each range is padded a little.

    >>> [(round(a, 3), round(b, 3)) for a, b in x_panels([(0, 0.1), (0.05, 0.12), (0.95, 1.0)])]
    [(-0.01, 0.13), (0.94, 1.01)]
    >>> len(x_panels([(0, 1), (0.4, 0.6)]))
    1
    """
    iv = sorted((float(a), float(b)) for a, b in intervals if np.isfinite(a) and np.isfinite(b))
    if not iv:
        return [(0.0, 1.0)]
    lo, hi = iv[0][0], max(b for _, b in iv)
    span = hi - lo or max(abs(hi), 1.0)
    best, at = 0.0, None
    reach = iv[0][1]
    for a, b in iv[1:]:
        if a - reach > best:
            best, at = a - reach, (reach, a)
        reach = max(reach, b)
    pad = 0.01 * span
    if hi == lo:  # one value: near the left of a unit range
        return [(lo - 0.05 * span, hi + span)]
    if at is None or best <= gap * span:
        return [(lo - 0.06 * span, hi + 0.06 * span)]
    out = []
    for a, b in ((lo, at[0]), (at[1], hi)):
        grow = max(0.0, 0.04 * span - (b - a)) / 2  # a panel is never narrower than 4% of the span
        a, b = a - grow, b + grow
        out.append((a - max(pad, 0.08 * (b - a)), b + max(pad, 0.08 * (b - a))))
    return out


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _outside(a: Bbox, box: Bbox) -> float:
    inside = _overlap(a, box)
    return a.width * a.height - inside


RADII = (9, 15, 22, 30, 40, 52, 66, 82)
RIGHT = tuple(math.radians(a) for a in (30, -30, 0, 60, -60))
LEFT = tuple(math.radians(a) for a in (150, -150, 180, 120, -120))
UPDOWN = tuple(math.radians(a) for a in (90, -90))


def _place_labels(ax, anchors: Sequence[tuple[Any, tuple[float, float]]], texts: Sequence[str],
                  colors: Sequence[str], obstacles: Sequence[tuple[Bbox, float]], renderer,
                  weights: Sequence[str] | None = None, styles_: Sequence[str] | None = None,
                  sides: Sequence[float] | None = None) -> list[Bbox]:
    """Annotate each anchor (a transform and a point) with its text where it overlaps nothing.

    Candidates go outwards in rings around the point; the first without overlap wins, else the
    least overlapping. ``sides`` (negative: left first, positive: right first) keeps the label of a
    nudged marker on the side it was nudged to. Returns the placed labels' boxes (display coordinates).
    """
    box = ax.get_window_extent(renderer)
    placed: list[Bbox] = []
    disp = [tr.transform(xy) for tr, xy in anchors]
    crowd = [sum(1 for q in disp if np.hypot(*(np.asarray(p) - q)) < 60) for p in disp]
    for i in sorted(range(len(anchors)), key=lambda i: (-crowd[i], i)):
        tr, xy = anchors[i]
        kw = {"fontsize": FONT, "fontweight": (weights or ["normal"] * len(texts))[i],
              "fontstyle": (styles_ or ["normal"] * len(texts))[i], "color": "#111111"}
        ann = ax.annotate(texts[i], xy, xycoords=tr, xytext=(0, 0), textcoords="offset points", **kw)
        best: tuple[float, tuple[float, float], str, str] | None = None
        side = (sides or [0.0] * len(texts))[i]
        angles = (*LEFT, *UPDOWN, *RIGHT) if side < 0 else (*RIGHT, *LEFT, *UPDOWN) if side > 0 else (*RIGHT, *LEFT, *UPDOWN)
        for r in RADII:
            for ang in angles:
                dx, dy = r * math.cos(ang), r * math.sin(ang)
                ha = "left" if dx > 2 else "right" if dx < -2 else "center"
                va = "bottom" if dy > 2 else "top" if dy < -2 else "center"
                ann.set_position((dx, dy))
                ann.set_ha(ha)
                ann.set_va(va)
                ann.update_positions(renderer)
                bb = Text.get_window_extent(ann, renderer).padded(2)
                cost = (10 * sum(_overlap(bb, p) for p in placed) + 10 * _outside(bb, box)
                        + sum(w * _overlap(bb, o) for o, w in obstacles))
                if best is None or cost < best[0] - 1e-9:
                    best = (cost, (dx, dy), ha, va)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        ann.remove()
        _, (dx, dy), ha, va = best
        ann = ax.annotate(texts[i], xy, xycoords=tr, xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                          arrowprops={"arrowstyle": "-", "color": colors[i], "lw": 0.9, "shrinkA": 1, "shrinkB": 4},
                          zorder=5, **kw)
        ann.update_positions(renderer)
        placed.append(Text.get_window_extent(ann, renderer).padded(2))
    return placed


def _dodge(points: Sequence[tuple[float, float]], radius: float = 7.0) -> list[tuple[float, float]]:
    """Offsets (in points) that spread markers closer than ``radius`` points apart along x."""
    offs = [(0.0, 0.0)] * len(points)
    groups: list[list[int]] = []
    for i, p in enumerate(points):
        for g in groups:
            if any(np.hypot(p[0] - points[j][0], p[1] - points[j][1]) < radius for j in g):
                g.append(i)
                break
        else:
            groups.append([i])
    for g in groups:
        for k, i in enumerate(g):
            offs[i] = ((k - (len(g) - 1) / 2) * radius, 0.0)
    return offs


def tradeoff(points: Sequence[Point], *, xlabel: str, ylabel: str, title: str, x_lower_better: bool = True,
             y_lower_better: bool = True, split: bool = True) -> bytes:
    """A trade-off plot: one labelled point per profile with 95% CI bars, and the Pareto frontier.

    The frontier joins the profiles no other profile beats on both axes, as the staircase of
    what is attainable. When an empty gap covers most of the x range, the x axis is broken in
    two so that crowded points spread out.
    """
    pts = [p for p in points if np.isfinite(p.x) and np.isfinite(p.y)]
    sx, sy = (1 if x_lower_better else -1), (1 if y_lower_better else -1)
    front = pareto_front([(sx * p.x, sy * p.y) for p in pts])
    for i, p in enumerate(pts):
        p.front = i in front
    ranges = x_panels([(p.xlo if np.isfinite(p.xlo) else p.x, p.xhi if np.isfinite(p.xhi) else p.x) for p in pts]
                      ) if split else x_panels([(min(p.x for p in pts), max(p.x for p in pts))] if pts else [], gap=2)
    widths = [max(b - a, 1e-9) for a, b in ranges]
    ratios = [max(w / sum(widths), 0.22) for w in widths]
    fig = Figure(figsize=(8.6, 5.2))
    canvas = FigureCanvasAgg(fig)
    gs = fig.add_gridspec(1, len(ranges), width_ratios=ratios, wspace=0.06, left=0.1, right=0.97, bottom=0.14, top=0.9)
    axes = [fig.add_subplot(gs[0, 0])]
    axes += [fig.add_subplot(gs[0, k], sharey=axes[0]) for k in range(1, len(ranges))]
    ys = [v for p in pts for v in (p.ylo, p.yhi, p.y) if np.isfinite(v)] or [0.0, 1.0]
    ylo, yhi = min(ys), max(ys)
    pad = 0.08 * (yhi - ylo)
    if yhi == ylo:  # one value: show it near the bottom of a unit range rather than centred in a sliver
        ylo, yhi, pad = ylo, yhi + max(abs(yhi), 1.0), 0.05 * max(abs(yhi), 1.0)
    renderer = canvas.get_renderer()
    front_pts = sorted((pts[i] for i in front), key=lambda p: p.x)
    for k, (ax, (a, b)) in enumerate(zip(axes, ranges, strict=True)):
        ax.set_xlim(a, b)
        ax.set_ylim(ylo - pad, yhi + pad)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=max(2, int(round(9 * ratios[k] / sum(ratios))))))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=FONT)
        if k:
            ax.tick_params(labelleft=False, left=False)
            ax.spines["left"].set_visible(False)
        if k < len(axes) - 1:
            ax.spines["right"].set_visible(False)
        if len(axes) > 1:  # break marks
            d: dict[str, Any] = {"transform": ax.transAxes, "color": "#444444", "clip_on": False, "lw": 1}
            for xb in ([1.0] if k == 0 else [0.0]):
                for yb in (0.0, 1.0):
                    ax.plot([xb - 0.012 / ratios[k] * 0.3, xb + 0.012 / ratios[k] * 0.3], [yb - 0.015, yb + 0.015], **d)
        obstacles: list[tuple[Bbox, float]] = []
        if front_pts:
            xs = [p.x for p in front_pts] + [b if x_lower_better else a]
            yv = [p.y for p in front_pts] + [front_pts[-1].y]
            ax.plot(xs, yv, drawstyle="steps-post", color="#555555", lw=1.2, linestyle=(0, (4, 3)), zorder=1,
                    label="Pareto frontier (staircase of what is attainable)" if k == 0 else None)
            for i in range(len(xs) - 1):  # the staircase's segments, for labels to avoid
                (x0, y0), (x1, _), (_, y2) = ax.transData.transform([(xs[i], yv[i]), (xs[i + 1], yv[i]),
                                                                     (xs[i + 1], yv[i + 1])])
                obstacles.append((Bbox.from_extents(min(x0, x1), y0 - 1.5, max(x0, x1), y0 + 1.5), 1.0))
                obstacles.append((Bbox.from_extents(x1 - 1.5, min(y0, y2), x1 + 1.5, max(y0, y2)), 1.0))
        mine = [p for p in pts if a <= p.x <= b]
        disp = [tuple(ax.transData.transform((p.x, p.y))) for p in mine]
        offs = _dodge([(x * 72 / fig.dpi, y * 72 / fig.dpi) for x, y in disp])
        anchors = []
        for p, (dx, dy) in zip(mine, offs, strict=True):
            ax.errorbar(p.x, p.y, xerr=[[p.x - p.xlo], [p.xhi - p.x]], yerr=[[p.y - p.ylo], [p.yhi - p.y]], fmt="none",
                        ecolor=p.style.color, elinewidth=1.1, capsize=2.5, alpha=0.9, zorder=2)
            tr = offset_copy(ax.transData, fig=fig, x=dx, y=dy, units="points")
            ax.plot([p.x], [p.y], transform=tr, markersize=7.5, zorder=4, **p.style.point())
            cx, cy = tr.transform((p.x, p.y))
            obstacles.append((Bbox.from_bounds(cx - 6, cy - 6, 12, 12), 10.0))
            x0, x1 = ax.transData.transform((p.xlo, p.y))[0], ax.transData.transform((p.xhi, p.y))[0]
            y0, y1 = ax.transData.transform((p.x, p.ylo))[1], ax.transData.transform((p.x, p.yhi))[1]
            obstacles.append((Bbox.from_extents(x0, cy - 1.5, x1, cy + 1.5), 2.0))
            obstacles.append((Bbox.from_extents(cx - 1.5, y0, cx + 1.5, y1), 2.0))
            anchors.append((tr, (p.x, p.y)))
        if k == len(axes) - 1 and front_pts:  # above the axes, never over a point
            axes[-1].legend(handles=axes[0].get_legend_handles_labels()[0], loc="lower right", bbox_to_anchor=(1.0, 1.0),
                            fontsize=FONT, frameon=False, borderaxespad=0.2)
        texts = [p.label + (" (baseline)" if p.baseline else "") for p in mine]
        _place_labels(ax, anchors, texts, [p.style.color if not p.style.light else "#555555" for p in mine], obstacles,
                      renderer, weights=["bold" if p.front else "normal" for p in mine],
                      styles_=["italic" if p.baseline else "normal" for p in mine], sides=[dx for dx, _ in offs])
    fig.supxlabel(xlabel, fontsize=FONT + 1, y=0.02)
    axes[0].set_ylabel(ylabel, fontsize=FONT + 1)
    fig.suptitle(title, fontsize=FONT + 3, y=0.995)
    return _png(fig)


def heatmap(values: np.ndarray, rows: Sequence[str], cols: Sequence[str], *, title: str, unit: str,
            counts: np.ndarray | None = None, totals: np.ndarray | None = None, why_undefined: str = "",
            vmax: float | None = None, fmt: str = "{:.2f}") -> bytes:
    """A scenario × profile grid of means; undefined cells say so, and an all-undefined row or column is explained.

    ``counts``/``totals`` (same shape) give, per cell, how many episodes had a defined value and
    how many ran; a cell defined in only some episodes shows ``n=k/N``.
    """
    import matplotlib as mpl

    grid = np.asarray(values, dtype=float)
    nr, nc = grid.shape
    cmap = mpl.colormaps["Reds"]
    top = vmax if vmax is not None else (np.nanmax(grid) if np.isfinite(grid).any() else 1.0)
    top = float(top) if top and np.isfinite(top) and top > 0 else 1.0
    norm = mpl.colors.Normalize(vmin=0, vmax=top)
    empty_rows = [i for i in range(nr) if nc and np.isnan(grid[i]).all()]
    empty_cols = [j for j in range(nc) if nr and np.isnan(grid[:, j]).all()]
    fig = Figure(figsize=(max(7.0, 2.2 + 0.95 * max(1, nc)), max(3.4, 1.6 + 0.42 * max(1, nr))))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto")
    ax.set_facecolor("#ececec")
    ylabels = [f"{r} †" if i in empty_rows else str(r) for i, r in enumerate(rows)]
    xlabels = [f"{c} ‡" if j in empty_cols else str(c) for j, c in enumerate(cols)]
    ax.set_xticks(range(nc), xlabels, rotation=35, ha="right", fontsize=FONT)
    ax.set_yticks(range(nr), ylabels, fontsize=FONT)
    ax.set_xticks(np.arange(-0.5, nc, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, nr, 1), minor=True)
    ax.grid(which="minor", color="white", lw=1.2)
    ax.tick_params(which="minor", length=0)
    for i in range(nr):
        for j in range(nc):
            v = grid[i, j]
            if np.isnan(v):
                ax.text(j, i, "undefined", ha="center", va="center", fontsize=FONT - 1, color="#555555", style="italic")
                continue
            color = text_color(cmap(norm(v)))
            txt = fmt.format(v)
            if counts is not None and totals is not None and counts[i, j] < totals[i, j]:
                txt += f"\nn={int(counts[i, j])}/{int(totals[i, j])}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=FONT - 0.5, color=color, linespacing=1.0)
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cb.set_label(unit, fontsize=FONT)
    cb.ax.tick_params(labelsize=FONT)
    ax.set_title(title, fontsize=FONT + 2)
    notes = []
    if empty_rows:
        notes.append(f"† undefined in every episode of the scenario: {why_undefined or 'the score has no value'}.")
    if empty_cols:
        notes.append(f"‡ undefined in every episode of the profile: {why_undefined or 'the score has no value'}.")
    if notes:
        fig.text(0.01, -0.01, "\n".join(notes), fontsize=FONT, va="top", ha="left", wrap=True)
    return _png(fig)


@dataclass
class Strip:
    """One profile's values over episodes, with the summary marks drawn beside them."""

    label: str
    values: np.ndarray
    style: Style
    baseline: bool = False
    note: str = ""


def distribution(strips: Sequence[Strip], *, xlabel: str, title: str, seed: int = 0) -> bytes:
    """Every episode's value as a jittered dot, one row per profile, with box (IQR, median), mean and p90.

    The rows come in the given order (best first, at the top); each row's ``note`` is written
    at its right.
    """
    n = len(strips)
    fig = Figure(figsize=(10.6, 0.9 + 0.52 * max(1, n)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.17, right=0.7)
    rng = np.random.default_rng(seed)
    for k, s in enumerate(strips):
        y = n - 1 - k
        x = s.values[np.isfinite(s.values)]
        if not len(x):
            ax.text(0, y, "no value", va="center", fontsize=FONT, color="#555555")
            continue
        jit = rng.uniform(-0.28, 0.28, len(x))
        ax.plot(x, y + jit, marker=s.style.marker, color=s.style.color, markersize=3.2, alpha=0.45, linestyle="none",
                markeredgewidth=0, fillstyle="full", zorder=2)
        q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
        ax.add_patch(_rect(q1, y - 0.34, q3 - q1, 0.68))
        ax.plot([med, med], [y - 0.34, y + 0.34], color="#111111", lw=1.6, zorder=4)
        p90 = float(np.quantile(x, 0.9, method="inverted_cdf"))
        ax.plot([p90], [y], marker="|", markersize=16, color="#B2182B", markeredgewidth=2.2, zorder=5)
        ax.plot([float(np.mean(x))], [y], marker="D", markersize=6, color="white", markeredgecolor="#111111",
                markeredgewidth=1.2, zorder=6)
        ax.text(1.01, y, s.note, transform=ax.get_yaxis_transform(), va="center", ha="left", fontsize=FONT - 0.5)
    ax.set_yticks(range(n), [f"{s.label} (baseline)" if s.baseline else s.label for s in reversed(strips)], fontsize=FONT)
    ax.set_ylim(-0.6, n - 0.4)
    ax.tick_params(axis="x", labelsize=FONT)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(xlabel, fontsize=FONT + 1)
    ax.set_title(title, fontsize=FONT + 2)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], marker="o", color="#777777", linestyle="none", markersize=4, alpha=0.6, label="one episode"),
               Patch(facecolor="none", edgecolor="#111111", label="box: middle 50% (IQR); line: median"),
               Line2D([], [], marker="D", color="white", markeredgecolor="#111111", linestyle="none", label="mean"),
               Line2D([], [], marker="|", color="#B2182B", markersize=10, markeredgewidth=2, linestyle="none",
                      label="p90 (90% of episodes at or below)")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1 - 0.25 / max(1, n)), ncol=2,
              fontsize=FONT, frameon=False)
    return _png(fig)


def _rect(x: float, y: float, w: float, h: float):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor="none", edgecolor="#111111", lw=1.1, zorder=3)


@dataclass
class Curve:
    """One profile's mean exposure per tick over seeds."""

    label: str
    mean: np.ndarray
    style: Style
    end: float = float("nan")
    same_as: str | None = None
    total: float = 0.0


def exposure_over_time(curves: Sequence[Curve], *, title: str, horizon: int | None, last_end: float | None,
                       unit: str = "sensitivity-weighted resources reachable",
                       empty: str = "no episode could be re-run") -> bytes:
    """Mean exposure per tick, one line per profile, with each profile's median episode end marked.

    The legend sits outside the axes; the latest episode end and the exposure horizon are
    vertical lines (credentials still live at the end are charged up to the horizon).
    """
    fig = Figure(figsize=(9.6, 4.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.09, right=0.66)
    if not curves:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", fontsize=FONT + 1, wrap=True)
        ax.set_axis_off()
        ax.set_title(title, fontsize=FONT + 2)
        return _png(fig)
    for c in curves:
        ys = np.append(c.mean, c.mean[-1]) if len(c.mean) else np.zeros(1)
        name = f"{c.label}: Σ {c.total:,.0f}" + (f" (same as {c.same_as})" if c.same_as else "")
        ax.step(np.arange(len(ys)), ys, where="post", lw=2.0 if not c.same_as else 1.4, label=name, zorder=3,
                **c.style.line())
        if np.isfinite(c.end) and len(c.mean):
            t = int(round(c.end))
            yv = float(c.mean[min(t, len(c.mean) - 1)])
            ax.plot([t], [yv], markersize=7, zorder=4, **c.style.point())
    length = max((len(c.mean) for c in curves), default=0)
    right = float(horizon if horizon is not None else length)
    if last_end is not None and np.isfinite(last_end) and right > 2.5 * (last_end + 2):
        cut = float(last_end + 2)  # after every episode has ended: compress, the lines change little there
        share = 0.7

        def fwd(x):
            x = np.asarray(x, dtype=float)
            return np.where(x <= cut, x / cut * share, share + (x - cut) / (right - cut) * (1 - share))

        def inv(u):
            u = np.asarray(u, dtype=float)
            return np.where(u <= share, u / share * cut, cut + (u - share) / (1 - share) * (right - cut))

        ax.set_xscale("function", functions=(fwd, inv))
        step = max(1, int(round(cut / 8)))
        ticks = [t for t in range(0, int(cut) + 1, step)] + [int(round(cut + (right - cut) / 2)), int(right)]
        ax.set_xticks(ticks)
        ax.axvspan(cut, right, color="#000000", alpha=0.05, lw=0, zorder=0)
        ax.text((share + 1) / 2, 0.5, "after every episode:\nlive credentials are\ncharged to expiry\nor the horizon\n"
                "(time axis compressed)", transform=ax.transAxes, ha="center", va="center", fontsize=FONT - 1,
                color="#333333")
    ax.set_xlim(0, right * 1.015)
    if last_end is not None and np.isfinite(last_end):
        ax.axvline(last_end, color="#444444", lw=1, linestyle=(0, (2, 2)), zorder=1)
        ax.text(last_end, 1.01, f"last episode ends (tick {last_end:.0f}) ", transform=ax.get_xaxis_transform(),
                fontsize=FONT - 0.5, ha="right", va="bottom")
    if horizon is not None:
        ax.axvline(horizon, color="#000000", lw=1.2, zorder=1)
        ax.text(horizon, 1.01, f"exposure horizon (tick {horizon})", transform=ax.get_xaxis_transform(),
                fontsize=FONT - 0.5, ha="right", va="bottom")
    ax.set_xlabel("tick (one simulated minute)", fontsize=FONT + 1)
    peaks = [float(np.max(c.mean)) for c in curves if len(c.mean) and np.max(c.mean) > 0]
    log = bool(peaks) and max(peaks) / min(peaks) > 20
    if log:  # standing credentials dwarf brokered ones: a log scale keeps both readable (0 stays at the bottom)
        ax.set_yscale("symlog", linthresh=1.0, linscale=0.4)
    ax.set_ylabel(f"exposure per tick ({unit}" + (", log scale)" if log else ")"), fontsize=FONT + 1)
    ax.set_ylim(bottom=0, top=max(peaks) * (3 if log else 1.08) if peaks else 1)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=FONT + 2, pad=16)
    if curves:
        from matplotlib.lines import Line2D

        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], marker="o", color="#777777", markeredgecolor="#222222", linestyle="none"))
        labels.append("marker: median episode end")
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=FONT, frameon=False,
                  title="profile: Σ = mean exposure score\n(weight × ticks)", title_fontsize=FONT)
    return _png(fig)


@dataclass
class Learning:
    """One search's learning curve: the episodes run by each iteration's end and its damage (blast radius)."""

    label: str
    episodes: Sequence[int]
    best: Sequence[float]
    mean: Sequence[float]
    best_so_far: Sequence[float]
    style: Style
    reference: float | None = None  # e.g. the scripted agent's blast radius under the same profile
    reference_label: str = "scripted agent"


def learning_curves(curves: Sequence[Learning], *, title: str, ylabel: str = "blast radius of an episode") -> bytes:
    """Each search's best-so-far (thick), per-iteration best (markers) and mean (thin dashed) against episodes run.

    A reference value (the scripted agent's damage under the same profile) is a dotted line in the
    search's colour, labelled at the right edge.
    """
    fig = Figure(figsize=(8.6, 4.4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.09, right=0.7, bottom=0.13, top=0.88)
    top = 0.0
    for c in curves:
        x = np.asarray(c.episodes, dtype=float)
        line = c.style.line()
        ax.plot(x, c.best_so_far, lw=2.2, label=f"{c.label}: best so far ({c.best_so_far[-1]:g})", zorder=3, **line)
        ax.plot(x, c.best, linestyle="none", markersize=5, zorder=4, label=f"{c.label}: best of the iteration",
                **{k: v for k, v in c.style.point().items() if k != "linestyle"})
        ax.plot(x, c.mean, lw=1.1, color=c.style.color, linestyle=(0, (4, 2)), zorder=2,
                label=f"{c.label}: mean of the iteration")
        top = max(top, float(np.max(c.best_so_far)) if len(c.best_so_far) else 0.0)
        if c.reference is not None:
            ax.axhline(c.reference, color=c.style.color, lw=1.0, linestyle=":", zorder=1)
            ax.text(1.0, c.reference, f" {c.reference_label}, {c.label} ({c.reference:g})", color=c.style.color,
                    transform=ax.get_yaxis_transform(), fontsize=FONT - 0.5, va="center", ha="left")
            top = max(top, c.reference)
    ax.set_ylim(0, max(top * 1.1, 1.0))
    ax.set_xlim(left=0)
    ax.set_xlabel("episodes run", fontsize=FONT + 1)
    ax.set_ylabel(ylabel, fontsize=FONT + 1)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 0.8), fontsize=FONT, frameon=False)
    ax.set_title(title, fontsize=FONT + 2)
    return _png(fig)


DAMAGE, HARMLESS, INTENDED, REFUSED_COLOR = "#D55E00", "#E69F00", "#0173B2", "#949494"


def exploit(calls: Sequence[dict[str, Any]], *, title: str, total: float) -> bytes:
    """The exploit as a decision trail: one row per call (top to bottom), the bar its out-of-intent damage.

    ``calls`` are rows as :meth:`simenv.bench.redteam.Exploit.calls` gives them (``tick``, ``call``,
    ``decision``, ``effect``, ``policy_ids``, ``in_intent``, ``blast``; ``op`` for a ticket control,
    ``granted`` for an approval).

    Rows are coloured by what happened: damage done out of intent, out of intent but no damage
    (a no-op), an intended call, refused or pending (grey). The decision and the ids of the
    policies that decided each call stand at the end of its row; ``total`` (the episode's blast
    radius, a union, so at most the sum of the bars) is in the title.
    """
    rows = list(calls)
    fig = Figure(figsize=(9.6, 0.9 + 0.3 * max(len(rows), 1)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if not rows:
        ax.text(0.5, 0.5, "no call", transform=ax.transAxes, ha="center", va="center")
        ax.set_axis_off()
        return _png(fig)
    vmax = max([float(c.get("blast") or 0.0) for c in rows] + [1.0])
    labels, colors = [], []
    for i, c in enumerate(rows):
        head = str(c["call"])
        if "op" in c:
            color, note = INTENDED, "ticket closed"
        else:
            blast = float(c.get("blast") or 0.0)
            executed = c["effect"] in ("applied", "noop")
            color = (DAMAGE if blast > 0 else INTENDED if c["in_intent"] and executed
                     else HARMLESS if executed else REFUSED_COLOR)
            note = f"{c['decision']} ({', '.join(c['policy_ids']) or '-'}) {c['effect']}"
            if "granted" in c:
                note = ("approvers granted: " if c["granted"] else "approvers refused: ") + note
            if blast > 0:
                note = f"+{blast:g}  " + note
            ax.barh(i, blast, color=color, height=0.62, zorder=3)
        ax.plot([0], [i], marker="o", markersize=4, color=color, zorder=4)
        ax.text(max(float(c.get("blast") or 0.0), 0) + vmax * 0.015, i, note, va="center", fontsize=FONT - 0.5,
                color="#222222", zorder=5)
        labels.append(f"t={c['tick']}  {head}")
        colors.append(color)
    ax.set_yticks(range(len(rows)), labels, fontsize=FONT - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, vmax * 1.9)
    ax.set_xlabel("damage the call did out of intent (sensitivity-weighted)", fontsize=FONT + 1)
    ax.tick_params(axis="x", labelsize=FONT)
    ax.grid(axis="x", alpha=0.3)
    from matplotlib.patches import Patch

    legend = [Patch(color=DAMAGE, label="out of intent, damage"),
              Patch(color=HARMLESS, label="out of intent, no damage"),
              Patch(color=INTENDED, label="intended, or ticket control"),
              Patch(color=REFUSED_COLOR, label="refused or pending")]
    ax.legend(handles=legend, loc="lower right", fontsize=FONT - 0.5, frameon=True, framealpha=0.9)
    ax.set_title(f"{title}: blast radius {total:g}", fontsize=FONT + 2)
    return _png(fig)
