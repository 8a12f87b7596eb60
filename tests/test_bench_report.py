"""Plots and the self-contained report; exposure over time recomputed from the audit."""

import base64
import re
import sys

from conftest import simenv_cli

from simenv.api import run_episode
from simenv.bench.report import FIGURES
from simenv.bench.runner import run_matrix
from simenv.bench.timeline import exposure_series
from simenv.metrics import exposure


def test_exposure_series_sums_to_the_exposure_score():
    for policy in ("allow_all", "static_rbac", "deny_all"):
        audit = run_episode("scope_creep", policy, seed=2).audit
        assert abs(exposure_series(audit).sum() - exposure(audit)) < 1e-6


def test_report_rebuilds_from_saved_results(tmp_path):
    run_matrix(["delegated_admin", "scope_creep"], "allow_all,deny_all,static_rbac", 3, executor="serial", out=tmp_path)
    r = simenv_cli("report", str(tmp_path))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 6 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "http://" not in html and "https://" not in html and "<script" not in html
    names = {p.name for p in (tmp_path / "plots").glob("*.png")}
    assert names == set(FIGURES)
    assert (tmp_path / "comparisons.csv").stat().st_size > 0
    for text in ("Ranking over all scenarios", "blast radius <span", "lower is better", "weight × ticks",
                 "reproduce this row: <code>simenv bench --scenarios delegated_admin,scope_creep --policies static_rbac "
                 "--agent scripted --seeds 3 --out repro</code>", "replay the worst episode: <code>simenv run ",
                 "baseline: the lock-down floor", 'class="how"'):
        assert text in html, text
    (tmp_path / "plots" / "cdf_blast_radius.png").write_bytes(b"old")  # a figure of an older report goes
    assert simenv_cli("report", str(tmp_path)).returncode == 0
    assert {p.name for p in (tmp_path / "plots").glob("*.png")} == set(FIGURES)


def test_importing_simenv_stays_light():
    code = ("import sys, simenv; heavy = [m for m in ('pandas', 'pyarrow', 'dask', 'distributed', 'scipy', "
            "'matplotlib.pyplot') if m in sys.modules]; print(heavy); assert callable(simenv.run_matrix)")
    import subprocess

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


# --- the data behind the ranking tables ---------------------------------------------------------

def episodes_frame(cells):
    """cells: {(scenario, policy): [blast radius per seed]}; other scores derived so that ties are visible."""
    import pandas as pd

    rows = []
    for (scenario, policy), values in cells.items():
        for seed, v in enumerate(values):
            rows.append({"scenario": scenario, "policy": policy, "seed": seed, "agent": "llm_stub", "blast_radius": v,
                         "completion_under_policy": policy != "deny_all", "task_success": policy != "deny_all",
                         "friction_rate": 1.0 if policy == "deny_all" else 0.1, "exposure": 10.0 * v,
                         "potential_blast_radius": 2.0 * v, "scope_violation_rate": None,
                         "approval_wait_ticks": 0, "fingerprint": f"{scenario}{policy}{seed}", "error": None})
    return pd.DataFrame(rows)


def test_ranking_orders_by_mean_blast_radius_shares_ties_and_leaves_baselines_unranked():
    from simenv.bench.ranking import ranking
    from simenv.bench.stats import summarize

    df = episodes_frame({("a", "allow_all"): [9, 9, 9, 9], ("a", "deny_all"): [0, 0, 0, 0], ("a", "p1"): [4, 4, 0, 0],
                         ("a", "p2"): [1, 1, 1, 1], ("a", "p3"): [1, 1, 1, 1],
                         ("b", "allow_all"): [9, 9, 9, 9], ("b", "deny_all"): [0, 0, 0, 0], ("b", "p1"): [4, 4, 4, 4],
                         ("b", "p2"): [1, 1, 1, 1], ("b", "p3"): [1, 1, 1, 1]})
    t = ranking(summarize(df, n_resamples=200), df, {})
    top = t[t["scenario"] == "*"]
    assert list(top["policy"]) == ["deny_all", "p2", "p3", "p1", "allow_all"]
    assert list(top["rank"].fillna(0).astype(int)) == [0, 1, 1, 3, 0]  # ties share rank 1; baselines have none
    assert top.set_index("policy").loc["deny_all", "baseline"].startswith("baseline: the lock-down floor")
    assert top.set_index("policy").loc["p1", "blast_radius.mean"] == 3.0
    assert list(t["scenario"].drop_duplicates()) == ["*", "a", "b"]
    # every undefined rate stays undefined (NaN), never zero
    assert top["scope_violation_rate.mean"].isna().all() and (top["scope_violation_rate.n"] == 0).all()


def test_tails_give_p90_worst_value_and_the_first_worst_episode():
    from simenv.bench.ranking import tail_quantile, tails

    df = episodes_frame({("a", "p"): [0, 0, 0, 0, 0, 0, 0, 0, 3, 25], ("b", "p"): [0, 0, 25, 0, 0, 0, 0, 0, 0, 0]})
    t = tails(df).set_index("scenario")
    assert (t.loc["a", "p90"], t.loc["a", "worst"], t.loc["a", "worst_seed"]) == (3.0, 25.0, 9)
    assert (t.loc["b", "p90"], t.loc["b", "worst_seed"]) == (0.0, 2)
    # over all scenarios: the first worst episode in scenario, then seed order, and how many share it
    assert (t.loc["*", "worst_scenario"], t.loc["*", "worst_seed"], t.loc["*", "worst_count"]) == ("a", 9, 2)
    assert t.loc["*", "p90"] == tail_quantile([0] * 17 + [3, 25, 25]) == 3.0
    bad = df.copy()
    bad.loc[(bad["scenario"] == "a") & (bad["seed"] == 9), "error"] = "boom"  # failed episodes are left out
    assert tails(bad).set_index("scenario").loc["a", "worst"] == 3.0


def test_commands_come_from_matrix_json():
    from simenv import files
    from simenv.bench.ranking import bench_command, run_command

    m = {"scenarios": {"mine": "/data/my scenario.yaml"}, "policies": {"p": "/data/p.yaml"}, "size": 10000}
    assert bench_command(m, ["mine"], "p", "llm_stub", [2, 0, 1]) == (
        "simenv bench --scenarios '/data/my scenario.yaml' --policies /data/p.yaml --agent llm_stub --seeds 3 "
        "--size 10000 --out repro")
    assert run_command(m, "mine", "p", 4, "oracle") == (
        "simenv run '/data/my scenario.yaml' --policy /data/p.yaml --seed 4 --agent oracle --size 10000")
    shipped = files.list_shipped("scenarios")
    assert bench_command({}, shipped, "jit", "scripted", range(5)).startswith("simenv bench --scenarios all --policies jit")
    assert bench_command({}, shipped[:2], "jit", "scripted", range(5)).startswith(
        f"simenv bench --scenarios {shipped[0]},{shipped[1]} ")
    assert "seeds=[3, 5]" in bench_command({}, ["a"], "jit", "llm_stub", [5, 3])  # not 0..N-1: the Python call
    assert bench_command({}, ["a"], "jit", "MyAgent", [0]) is None  # an agent object has no command line
    assert run_command({}, "a", "jit", 0, "custom") is None


def test_the_commands_in_the_table_reproduce_the_row_and_its_worst_episode(tmp_path):
    import json

    import pandas as pd

    from simenv.bench import shards
    from simenv.bench.ranking import ranking

    out = tmp_path / "results"
    df = run_matrix(["scope_creep", "key_export"], "jit,static_rbac", 3, agent="llm_stub", executor="serial", out=out)
    t = ranking(pd.read_csv(out / "summary.csv"), df, shards.read_manifest(out))
    row = t[(t["scenario"] == "*") & (t["policy"] == "static_rbac")].iloc[0]
    assert row["bench_command"] == ("simenv bench --scenarios scope_creep,key_export --policies static_rbac "
                                    "--agent llm_stub --seeds 3 --out repro")
    again = tmp_path / "again"
    again.mkdir()
    import os
    import subprocess

    r = subprocess.run([sys.executable, "-m", "simenv", *row["bench_command"].split()[1:], "--no-report"], cwd=again,
                       capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert r.returncode == 0, r.stderr
    redo = shards.read_episodes(again / "repro").set_index(["scenario", "seed"])["fingerprint"]
    mine = df[df["policy"] == "static_rbac"].set_index(["scenario", "seed"])["fingerprint"]
    assert redo.sort_index().equals(mine.sort_index())
    for _, row in t[t["run_command"].notna()].iterrows():
        cmd = row["run_command"].split()
        assert cmd[:2] == ["simenv", "run"] and cmd[cmd.index("--agent") + 1] == "llm_stub"
    row = t[(t["scenario"] == "scope_creep") & (t["policy"] == "static_rbac")].iloc[0]
    r = simenv_cli(*row["run_command"].split()[1:], "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["blast_radius"] == row["worst"]


def test_the_exposure_plot_averages_seeds_to_the_exposure_score():
    from simenv.bench.report import exposure_curves
    from simenv.bench.stats import summarize

    df = run_matrix(["scope_creep"], "jit,static_rbac,deny_all", 3, agent="llm_stub", executor="serial")
    labels = {(p, "llm_stub"): p for p in ("jit", "static_rbac", "deny_all")}
    from simenv.bench.plots import styles

    curves, horizon, last_end, skipped = exposure_curves(df, {}, "scope_creep", labels, styles(list(labels.values())))
    assert not skipped and horizon and last_end == df["ticks"].max()
    summary = summarize(df, n_resamples=100)
    for c in curves:
        want = summary[(summary["scenario"] == "scope_creep") & (summary["policy"] == c.label)
                       & (summary["score"] == "exposure")]["mean"].iloc[0]
        assert abs(c.total - want) < 1e-6 and abs(c.mean.sum() - want) < 1e-6


def test_representative_scenario_agrees_with_the_overall_order():
    import pandas as pd

    from simenv.bench.ranking import representative_scenario

    rows = []
    for scenario, means in {"odd": [3, 2, 1], "typical": [1, 2, 4], "*": [1, 2, 3]}.items():
        for policy, m in zip("xyz", means, strict=True):
            rows.append({"scenario": scenario, "policy": policy, "agent": "a", "score": "exposure", "mean": m})
    assert representative_scenario(pd.DataFrame(rows)) == ("typical", 1.0)


# --- what the plots promise -----------------------------------------------------------------------

def test_styles_stay_distinct_up_to_twenty_profiles_and_baselines_are_neutral():
    from simenv.bench.plots import NEUTRAL, PALETTE, styles

    names = [f"p{i}" for i in range(18)] + ["allow_all", "deny_all"]
    st = styles(names, baselines=["allow_all", "deny_all"])
    looks = {(s.color, s.marker, s.linestyle, s.filled) for s in st.values()}
    assert len(looks) == 20
    assert {st["allow_all"].color, st["deny_all"].color} == set(NEUTRAL)
    assert len({st[f"p{i}"].color for i in range(len(PALETTE))}) == len(PALETTE)  # colours repeat only past the palette
    for i in range(len(PALETTE), 18):  # and then with another marker, fill and line style
        again = st[f"p{i - len(PALETTE)}"]
        assert st[f"p{i}"].color == again.color and st[f"p{i}"].marker != again.marker
        assert st[f"p{i}"].linestyle != again.linestyle and st[f"p{i}"].filled != again.filled


def test_heatmap_text_is_readable_on_every_cell_colour():
    import matplotlib as mpl

    from simenv.bench.plots import luminance, text_color

    def contrast(a, b):
        la, lb = luminance(a), luminance(b)
        return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)

    cmap = mpl.colormaps["Reds"]
    for k in range(256):
        bg = cmap(k / 255)[:3]
        assert contrast(text_color(bg), bg) >= 4.5, (k, bg)


def test_labels_of_crowded_points_do_not_overlap():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from simenv.bench.plots import _overlap, _place_labels

    fig = Figure(figsize=(6, 4))
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 14)
    pts = [(0.0, 12.8), (0.006, 12.8), (0.02, 7.0), (0.036, 7.05), (0.03, 7.0), (0.05, 5.6), (0.09, 3.9), (0.09, 3.9),
           (0.1, 3.0)]
    names = ["allow_all", "static_rbac", "least_privilege", "jit", "jit_b", "jit_approval", "intent_cedar",
             "intent_rego", "zero_standing"]
    boxes = _place_labels(ax, [(ax.transData, p) for p in pts], names, ["k"] * len(pts), [], canvas.get_renderer())
    assert len(boxes) == len(pts)
    assert all(_overlap(a, b) == 0 for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_heatmap_explains_an_all_undefined_row():
    import numpy as np

    from simenv.bench.plots import heatmap

    grid = np.array([[0.5, 1.0], [np.nan, np.nan]])
    png = heatmap(grid, ["a", "b"], ["p", "q"], title="t", unit="u", why_undefined="nothing was attempted",
                  counts=np.array([[3, 2], [0, 0]]), totals=np.array([[3, 3], [3, 3]]))
    assert png.startswith(b"\x89PNG")


def test_comparisons_and_figures_computed_on_workers_are_the_ones_computed_here(tmp_path):
    from concurrent.futures import Executor, Future

    from simenv.bench.executors import open_executor
    from simenv.bench.report import FIGURES, build_report

    def written() -> dict[str, bytes]:
        files = ["comparisons.csv", "report.html", *(f"plots/{f}" for f in FIGURES)]
        return {f: (tmp_path / f).read_bytes() for f in files}

    run_matrix(["delegated_admin", "scope_creep"], "allow_all,deny_all,static_rbac", 3, executor="serial", out=tmp_path)
    build_report(tmp_path)
    here = written()
    for f in here:
        (tmp_path / f).unlink()
    with open_executor("local", 2) as (ex, _):
        build_report(tmp_path, executor=ex)
    assert written() == here  # every figure and the page, byte for byte

    class Refusing(Executor):  # a pool that takes no more work
        def submit(self, fn, /, *args, **kwargs):
            raise RuntimeError("shut down")

    class Failing(Executor):  # a worker that dies with the task
        def submit(self, fn, /, *args, **kwargs):
            f: Future = Future()
            f.set_exception(RuntimeError("worker died"))
            return f

    for broken in (Refusing(), Failing()):  # the report computes the comparisons and draws the figures itself
        for f in here:
            (tmp_path / f).unlink()
        build_report(tmp_path, executor=broken)
        assert written() == here
