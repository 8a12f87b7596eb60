import os
import subprocess
import sys

import pytest

from simenv import files

SCENARIOS = files.list_shipped("scenarios")
POLICIES = files.list_shipped("policies")
PAIRS = [(s, p) for s in SCENARIOS for p in POLICIES]


def simenv_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the simenv command in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "simenv", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(params=SCENARIOS)
def scenario(request):
    return request.param


@pytest.fixture(params=POLICIES)
def policy(request):
    return request.param


def pytest_collection_modifyitems(config, items):
    """Tests marked ``fuzz_full`` run only when ``-m`` selects them (``pytest -m fuzz_full``)."""
    if "fuzz_full" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="the whole fuzz corpus; run it with: pytest -m fuzz_full tests/test_fuzz.py")
    for item in items:
        if "fuzz_full" in item.keywords:
            item.add_marker(skip)
