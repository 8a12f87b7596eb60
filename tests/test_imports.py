"""Importing a module has no side effect, and heavy or optional libraries load only where they are used."""

import json
import pkgutil
import subprocess
import sys

import simenv

HEAVY = {"cedarpy": "simenv.governance.cedar", "regopy": "simenv.governance.rego", "pettingzoo": "simenv.envs.parallel",
         "matplotlib": "simenv.bench.plots", "distributed": "simenv.bench.executors", "starlette": "simenv.view.server",
         "uvicorn": "simenv.view.server"}


def modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(simenv.__path__, "simenv.") if m.name != "simenv.__main__")


def test_importing_each_module_prints_nothing_and_loads_no_heavy_library_it_does_not_own(tmp_path):
    code = ("import importlib, json, sys\n"
            f"heavy = {json.dumps(sorted(HEAVY))}\n"
            "out = {}\n"
            "for name in sys.argv[1:]:\n"
            "    before = set(sys.modules)\n"
            "    importlib.import_module(name)\n"
            "    out[name] = sorted(h for h in heavy if h in sys.modules and h not in before)\n"
            "print(json.dumps(out))\n")
    bad = {}
    for name in modules():  # each in a fresh interpreter, so nothing another module loaded hides it
        r = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert r.returncode == 0, f"importing {name} failed: {r.stderr[-500:]}"
        lines = r.stdout.strip().splitlines()
        assert len(lines) == 1 and not r.stderr.strip(), f"importing {name} printed: {r.stdout[:200]} {r.stderr[:200]}"
        loaded = json.loads(lines[0])[name]
        wrong = [h for h in loaded if not name.startswith(HEAVY[h]) and name != HEAVY[h]]
        if wrong:
            bad[name] = wrong
        assert not list(tmp_path.iterdir()), f"importing {name} wrote files"
    assert not bad, f"modules importing heavy libraries they do not own: {bad}"
