"""simenv: how AI agents doing IAM work overreach, and how well governance contains them.

>>> import simenv
>>> r = simenv.run_episode("scope_creep", "allow_all", seed=0)
>>> r.scores["violations_executed"] > 0
True
"""



def _rego_library() -> str | None:
    """The path of regopy's ``librego_shared.so`` if regopy is installed (found without importing it)."""
    import importlib.util
    import os

    try:
        spec = importlib.util.find_spec("regopy")
    except (ImportError, ValueError):
        return None
    lib = os.path.join(os.path.dirname(spec.origin or ""), "librego_shared.so") if spec else ""
    return lib if lib and os.path.exists(lib) else None


def _load_rego_first() -> bool:
    """Load rego-cpp's library before numpy and every other library that brings libstdc++; True if too late.

    regopy's ``librego_shared.so`` carries its own allocator (snmalloc) and exports ``operator new`` and
    ``operator delete``. When libstdc++ is mapped before it (numpy, pandas, scipy and pyarrow bring it), the
    two allocators mix and every Rego query leaks: about 28 KB per decision of the intent policy, 180 MB over
    the 1,900 intent_rego episodes of the default matrix. Loaded first, it leaks nothing. So simenv maps the
    library (without importing regopy: about 20 ms) when it is installed and libstdc++ is not yet mapped, and
    its process-pool workers, whose bootstrap imports numpy first, preload it (:mod:`simenv.bench.executors`).
    On Linux, this says whether libstdc++ came first; the rego engine then warns once (:mod:`simenv.governance.rego`).
    """
    import ctypes

    lib = _rego_library()
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            mapped = maps.read()
    except OSError:  # not Linux: nothing to check
        return False
    if lib is None or "librego_shared" in mapped:
        return False
    if "libstdc++" in mapped:
        return True
    try:
        ctypes.CDLL(lib)  # what regopy itself does on import: it finds this one loaded
    except OSError:  # a library it needs is missing (libatomic): the rego engine says so when it is used
        pass
    return False


_REGO_LOADED_LATE = _load_rego_first()

from simenv.api import EpisodeResult, run_episode  # noqa: E402 - after the library above
from simenv.envs.registration import register as _register  # noqa: E402

__version__ = "0.1.0"
__all__ = ["EpisodeResult", "run_episode", "run_matrix", "__version__"]

_register()


def __getattr__(name: str):
    # run_matrix lives in simenv.bench, which imports pandas and pyarrow: load it on first use.
    if name == "run_matrix":
        from simenv.bench.runner import run_matrix

        return run_matrix
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
