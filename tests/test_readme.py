"""Every example of the README runs, in the order a reader meets them, in a copy of the project.

Each fenced block is one of:

* ``text``: a diagram, not run;
* a shell block (no language): every line is a command, run by bash in the copy with ``$`` prompts and trailing
  comments removed. ``pip install`` and the suite's own commands (ruff, mypy, lint-imports, pytest) are what runs
  this test, so they are skipped; a ``simenv bench`` over the default matrix is shrunk to a small one (the same small
  one each time, so that ``--resume`` and ``--force`` find the same sweep); benchmark scripts run with ``--quick``,
  ``simenv fuzz`` with 12 cases and the adversary with 2,000 calls;
  ``dask://HOST:PORT`` gets a scheduler on that port. Every command must exit 0;
* ``python``: run in one interpreter session, in order, in the copy (``import simenv`` once serves the rest);
* ``yaml``: parsed; a block whose first line is a comment naming a path (``# policies/x.yaml``), or that follows
  an ``<!-- ...: PATH -->`` comment, is written to that path first; a rules file is loaded by the native engine and
  a cases file run by ``simenv test`` against the shipped intent rules;
* ``json``: the request model, which must be exactly what ``AccessRequest.to_input()`` gives for it;
* ``rego``: a decision, which must compile in ``package simenv`` and decide as written.

A block of another kind fails the test, so that a new example cannot go untested.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"(?:<!-- [\w-]+: (?P<target>[\w./-]+) -->\n)?^```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.S | re.M)
SKIP = ("pip", "ruff", "mypy", "lint-imports", "pytest")
SMALL = ["--scenarios", "delegated_admin,scope_creep", "--policies", "allow_all,static_rbac", "--seeds", "2"]
FIXTURES = {"scenarios/my_scenario.yaml": "scenarios/delegated_admin.yaml"}
"""Files a reader is assumed to have written before the README's commands name them."""


def blocks() -> list[tuple[str, str, str | None]]:
    return [(m["lang"], m["body"], m["target"]) for m in FENCE.finditer(README.read_text())]


def commands(body: str) -> list[str]:
    """The commands of a shell block, as written: continuation lines joined, ``$`` prompts and comments removed,
    ``&&`` split (globs stay for bash to expand)."""
    out = []
    for line in body.replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#\s.*$", "", line).strip().removeprefix("$ ")
        out += [c.strip() for c in line.split(" && ") if c.strip()]
    return out


def shrink(cmd: str) -> str | None:
    """The command the test runs for a README command (None: skip it)."""
    words = shlex.split(cmd)
    if words[0] in SKIP:
        return None
    if words[:2] == ["simenv", "bench"] and "--scenarios" not in words:
        return f"{cmd} {shlex.join(SMALL)}"
    if words[0] == "python" and words[1].startswith("benchmarks/"):
        return f"{cmd} --quick"
    if words[:2] == ["simenv", "fuzz"] and "--cases" not in words:
        return f"{cmd} --cases 12"  # the full slice runs in tests/test_fuzz.py
    if words[:3] == ["python", "-m", "simenv.testing.adversary"]:
        return f"{shlex.join(words[:3])} --calls 2000"  # the long run is SIMENV_FUZZ_FULL=1 tests/test_adversary.py
    return cmd


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("readme") / "simenv"
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".git", "results", "*.egg-info", "__pycache__",
                                                             ".venv", "venv", ".mypy_cache", ".ruff_cache"))
    for path, source in FIXTURES.items():
        text = (dst / source).read_text().replace(f"name: {Path(source).stem}\n", f"name: {Path(path).stem}\n", 1)
        (dst / path).write_text(text)
    return dst


def free(port: int) -> bool:
    with closing(socket.socket()) as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_every_block_is_of_a_known_kind():
    kinds = {lang for lang, _, _ in blocks()}
    assert kinds <= {"", "text", "python", "yaml", "json", "rego"}, kinds
    assert len(blocks()) > 15


def test_every_readme_example_runs(copy: Path):
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
           "CI": "1", "PYTHONPATH": str(copy)}  # the copy's own simenv, and its shipped files
    python: list[str] = []
    ran: list[str] = []
    failed: list[str] = []
    cluster = None
    try:
        for lang, body, target in blocks():
            first = body.splitlines()[0] if body.strip() else ""
            named = re.match(r"# ([\w./-]+\.ya?ml)\b", first)
            if target is None and lang == "yaml" and named:
                target = named[1]
            if target is not None:
                (copy / target).parent.mkdir(parents=True, exist_ok=True)
                (copy / target).write_text(body)
            if lang == "python":
                python.append(body)
            elif lang in CHECKS:
                try:
                    CHECKS[lang](copy, body, target)
                except Exception as e:  # noqa: BLE001 - every example is tried; the failures are listed together
                    failed.append(f"the {lang} block {first!r}\n  {type(e).__name__}: {e}")
            elif lang == "":
                for cmd in filter(None, map(shrink, commands(body))):
                    if cmd.startswith("simenv view "):  # a server: started, asked for its page and data, stopped
                        why = check_view(cmd, copy, env)
                        failed.extend([f"{cmd}\n  {why}"] if why else [])
                        ran.append(cmd)
                        continue
                    port = re.search(r"dask://[\w.]+:(\d+)", cmd)
                    if port and cluster is None:
                        cluster = start_dask(int(port[1]))
                    r = subprocess.run(["bash", "-c", cmd], cwd=copy, env=env, capture_output=True, text=True,
                                       timeout=600)
                    if r.returncode != 0 or "Traceback" in r.stderr:
                        failed.append(f"{cmd}\n  exit {r.returncode}: {r.stderr[-1500:]}")
                    ran.append(cmd)
        script = copy / "readme_session.py"
        script.write_text("\n\n".join(python))
        r = subprocess.run([sys.executable, script.name], cwd=copy, env=env, capture_output=True, text=True,
                           timeout=600)
        if r.returncode != 0:
            failed.append(f"the Python examples\n  {r.stderr[-3000:]}")
    finally:
        if cluster is not None:
            cluster.close()
    assert not failed, "README examples failed:\n" + "\n".join(failed)
    assert any(c.startswith("simenv bench") for c in ran) and any(c.startswith("simenv regress") for c in ran)
    assert (copy / "results" / "report.html").exists()


def check_view(cmd: str, copy: Path, env: dict[str, str]) -> str | None:
    """Run a ``simenv view`` example (never opening a browser): it must print its URL and serve the page and its data."""
    import urllib.request

    words = shlex.split(cmd.split("#")[0])
    proc = subprocess.Popen([*words, *([] if "--no-browser" in words else ["--no-browser"])], cwd=copy, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if not url:
            return f"printed no URL: {line!r} {proc.stderr.read()[-800:] if proc.poll() is not None else ''}"
        with urllib.request.urlopen(url[0], timeout=30) as page:
            html = page.read().decode()
        with urllib.request.urlopen(url[0] + "api/sweep", timeout=30) as data:
            doc = json.loads(data.read())
        ok = "simenv view" in html and doc.get("kind") in ("sweep", "trail")
        return None if ok else "the page or its data did not come back"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def start_dask(port: int):
    from distributed import LocalCluster

    if not free(port):
        pytest.fail(f"port {port}, which the README's Dask example names, is in use")
    return LocalCluster(scheduler_port=port, n_workers=1, threads_per_worker=2, processes=False,
                        dashboard_address=None)


def check_yaml(copy: Path, body: str, target: str | None) -> None:
    doc = yaml.safe_load(body)
    if not isinstance(doc, dict):
        return
    if "rules" in doc:
        from simenv.governance.native import NativeRules

        path = copy / (target or "readme_rules.yaml")
        path.write_text(body)
        NativeRules(policy=path)
    elif "cases" in doc:
        path = copy / (target or "readme_cases.yaml")
        path.write_text(body)
        r = subprocess.run([sys.executable, "-m", "simenv", "test", "policies/rules/intent.yaml", str(path)],
                           cwd=copy, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    elif "authorizer" in doc and "name" not in doc:
        from simenv.governance.plugins import AUTHORIZERS

        assert doc["authorizer"]["engine"] in AUTHORIZERS


def check_request_model(copy: Path, body: str, target: str | None) -> None:
    from simenv.governance.fields import RequestDoc

    doc = json.loads(body)
    given = {k: v for k, v in doc.items() if k != "represents"}
    req, problems = RequestDoc.model_validate(given, strict=True).build()
    assert not problems, problems
    built = req.to_input()
    assert built["represents"] == built["principal"]
    del built["represents"]
    assert built == given, {k: (built[k], given.get(k)) for k in built if built[k] != given.get(k)}


def check_rego(copy: Path, body: str, target: str | None) -> None:
    from simenv.governance.fields import RequestDoc
    from simenv.governance.rego import RegoAuthorizer

    path = copy / "readme_decision.rego"
    path.write_text(f"package simenv\n\n{body}")
    req, _ = RequestDoc.model_validate({"action": {"name": "db_query"}}, strict=True).build()
    d = RegoAuthorizer(policy=path).authorize(req)
    written = re.search(r'"effect": "(\w+)"', body)
    assert written and d.effect.value == written[1], d


CHECKS = {"yaml": check_yaml, "json": check_request_model, "rego": check_rego}
