"""rego-cpp leaks on every query when libstdc++ was mapped before it; simenv maps it first (simenv._load_rego_first)."""

import subprocess
import sys
import textwrap

import pytest

from simenv.bench.executors import open_executor

# RSS growth over 3,000 decisions of the intent policy, in a fresh interpreter that imports `FIRST` first
PROBE = textwrap.dedent("""
    import warnings
    warnings.simplefilter("always")
    {first}
    import gc, sys, psutil
    sys.path.insert(0, "tests")
    from test_policy_engines import INTENT, sample_requests
    from simenv.governance.rego import RegoAuthorizer
    rego, reqs = RegoAuthorizer(INTENT["rego"]), sample_requests(300, seed=1)
    for r in reqs: rego.authorize(r)
    gc.collect(); before = psutil.Process().memory_info().rss
    for _ in range(10):
        for r in reqs: rego.authorize(r)
    gc.collect(); print((psutil.Process().memory_info().rss - before) / 2**20)
""")


def grown_mib(first: str) -> tuple[float, str]:
    r = subprocess.run([sys.executable, "-c", PROBE.format(first=first)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return float(r.stdout.strip().splitlines()[-1]), r.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the allocator order is checked on Linux")
def test_rego_queries_leak_nothing_when_simenv_is_imported_first_and_say_so_when_it_was_not():
    mib, err = grown_mib("import simenv")
    assert mib < 10, f"{mib:.0f} MiB over 3,000 decisions"
    assert "leak" not in err
    # numpy brings libstdc++ before simenv could map rego-cpp's library: the same 3,000 decisions leaked about 80 MiB
    # with regopy 1.5.2 (not asserted: a later regopy may fix it), and the rego engine says what to do, once
    _, err = grown_mib("import numpy")
    assert "import simenv before them" in err and err.count("RuntimeWarning") == 1


def _maps() -> tuple[bool, bool]:
    import simenv

    with open("/proc/self/maps") as f:
        return "librego_shared" in f.read(), simenv._REGO_LOADED_LATE


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the allocator order is checked on Linux")
def test_process_pool_workers_preload_rego_cpps_library():
    with open_executor("local", 1) as (ex, _):  # loky's bootstrap imports numpy before simenv
        mapped, late = ex.submit(_maps).result()
    assert mapped and not late
