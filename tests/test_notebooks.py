"""Every notebook runs top to bottom in a real Jupyter kernel (nbclient), small under ``SIMENV_SMOKE=1``,
and is committed with its outputs stripped."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PLOTS = {"01_quickstart.ipynb": 2, "02_policy_benchmark.ipynb": 1, "03_red_team.ipynb": 2}
"""How many figures (PNG outputs) each notebook shows at least."""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("SIMENV_SMOKE", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend captures the figures
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    pngs = sum("image/png" in o.get("data", {}) for o in outputs)
    assert pngs >= PLOTS[path.name], f"{path.name}: {pngs} figures shown"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{path.name}: {cell.get('id')} has outputs"
        assert set(cell.get("metadata", {})) <= {"tags"}, f"{path.name}: {cell.get('id')} carries metadata"
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}, f"{path.name}: notebook metadata {sorted(nb['metadata'])}"


def test_the_three_notebooks_are_there_and_listed():
    assert [p.name for p in NOTEBOOKS] == sorted(PLOTS)
    readme = (NOTEBOOKS[0].parent / "README.md").read_text(encoding="utf-8")
    assert all(p.name in readme for p in NOTEBOOKS)
