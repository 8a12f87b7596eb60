"""Importing a module has no side effect, and heavy or optional libraries load only where they are used."""

import json
import os
import pkgutil
import subprocess
import sys

import pytest

import simenv

HEAVY = {"cedarpy": "simenv.governance.cedar", "regopy": "simenv.governance.rego", "pettingzoo": "simenv.envs.parallel",
         "matplotlib": "simenv.bench.plots", "distributed": "simenv.bench.executors", "starlette": "simenv.view.server",
         "uvicorn": "simenv.view.server"}


def modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(simenv.__path__, "simenv.") if m.name != "simenv.__main__")


CHILD = """
import importlib, json, os, sys, tempfile
heavy, names = json.loads(sys.argv[1]), sys.argv[2:]
import simenv
out = {"simenv": {"heavy": sorted(h for h in heavy if h in sys.modules), "printed": "", "wrote": sorted(os.listdir())}}
for name in names:  # each in a child forked from this interpreter as ``import simenv`` left it
    sys.stdout.flush(); sys.stderr.flush()
    with tempfile.TemporaryFile() as printed:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            os.dup2(printed.fileno(), 1); os.dup2(printed.fileno(), 2)
            try:
                before = set(sys.modules)
                importlib.import_module(name)
                res = {"heavy": sorted(h for h in heavy if h in sys.modules and h not in before)}
            except BaseException as e:  # the parent reports it
                res = {"error": f"{type(e).__name__}: {e}"}
            sys.stdout.flush(); sys.stderr.flush()
            os.write(write, json.dumps(res).encode()); os._exit(0)
        os.close(write)
        with os.fdopen(read) as r:
            res = json.loads(r.read() or '{"error": "the child died"}')
        os.waitpid(pid, 0)
        printed.seek(0)
        res["printed"], res["wrote"] = printed.read().decode(errors="replace"), sorted(os.listdir())
    out[name] = res
print(json.dumps(out))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="each module is imported in a forked child")
def test_importing_each_module_prints_nothing_and_loads_no_heavy_library_it_does_not_own(tmp_path):
    """``import simenv`` in a fresh interpreter, then each module in a child forked from it.

    Importing ``simenv.x`` imports ``simenv`` first, so each child starts where any import of its module would,
    and no other module's imports hide its own.
    """
    names = modules()
    r = subprocess.run([sys.executable, "-c", CHILD, json.dumps(sorted(HEAVY)), *names], capture_output=True,
                       text=True, cwd=tmp_path, timeout=600)
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and not r.stderr.strip(), f"importing simenv failed or printed: {r.stderr[-500:]}"
    assert len(lines) == 1, f"importing simenv printed: {r.stdout[:300]}"
    got = json.loads(lines[0])
    assert set(got) == {"simenv", *names}
    bad = {}
    for name, res in got.items():
        assert "error" not in res, f"importing {name} failed: {res['error']}"
        assert not res["printed"], f"importing {name} printed: {res['printed'][:300]}"
        assert not res["wrote"], f"importing {name} wrote files: {res['wrote']}"
        wrong = [h for h in res["heavy"] if not name.startswith(HEAVY[h]) and name != HEAVY[h]]
        if wrong:
            bad[name] = wrong
    assert not bad, f"modules importing heavy libraries they do not own: {bad}"
