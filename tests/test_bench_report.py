"""Plots and the self-contained report; exposure over time recomputed from the audit."""

import base64
import re
import sys

from conftest import simenv_cli

from simenv.api import run_episode
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
    assert len(images) == 4 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "http://" not in html and "https://" not in html and "<script" not in html
    names = {p.name for p in (tmp_path / "plots").glob("*.png")}
    assert names == {"pareto_blast_radius_vs_friction.png", "heatmap_scope_violation_rate.png",
                     "exposure_over_time.png", "cdf_blast_radius.png"}
    assert (tmp_path / "comparisons.csv").stat().st_size > 0


def test_importing_simenv_stays_light():
    code = ("import sys, simenv; heavy = [m for m in ('pandas', 'pyarrow', 'dask', 'distributed', 'scipy', "
            "'matplotlib.pyplot') if m in sys.modules]; print(heavy); assert callable(simenv.run_matrix)")
    import subprocess

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr
