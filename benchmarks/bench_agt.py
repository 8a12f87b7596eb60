"""Cost of one decision through the Agent Governance Toolkit beside native rules, Cedar and Rego (run by hand; not a test).

    python benchmarks/bench_agt.py             # 7 repetitions of 2,000 decisions
    python benchmarks/bench_agt.py --quick     # 3 repetitions of 100 (a smoke run)

Every engine decides the same requests: the AccessRequests simenv's engine built while the
scripted agent worked three scenarios under intent_cedar, 20 seeds, cycled; Cedar decides each
with its own episode's authorizer (entities resident, as in a run).
Each engine's authorizer is the one a profile builds: ``native`` (policies/rules/intent.yaml),
``cedar`` (policies/cedar/intent.cedar, resident PolicySet and Entities), ``rego``
(policies/rego/intent.rego, compiled once) and ``agt`` (policies/agt/intent.yaml: the toolkit's
native runtime at pre_tool_call, its Rego policy compiled once and dispatched in-process). For
contrast, ``agt_runtime`` is the toolkit's own host wrapper, ``agt.policies.AgtRuntime``, on the
same manifest and dispatchers (an ``asyncio.run`` and a thread hop per evaluation).

Prints µs per decision, the median of the repetitions, one engine a line, and the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from simenv.api import run_episode
from simenv.governance.agt import POINT, AgtAuthorizer, snapshot
from simenv.governance.cedar import CedarAuthorizer
from simenv.governance.native import NativeRules
from simenv.governance.rego import RegoAuthorizer

ROOT = Path(__file__).resolve().parent.parent
POL = ROOT / "policies"


def recorded_requests() -> list[tuple[CedarAuthorizer, object]]:
    """The requests of episodes under intent_cedar, each with its episode's Cedar authorizer (entities resident)."""
    seen: list = []
    inner = CedarAuthorizer.authorize

    def record(self, req):
        seen.append((self, req))
        return inner(self, req)

    CedarAuthorizer.authorize = record  # type: ignore[method-assign]
    try:
        for seed in range(20):
            for scenario in ("scope_creep", "multi_agent_chaining", "cross_tenant_reach"):
                run_episode(scenario, "intent_cedar", seed=seed)
    finally:
        CedarAuthorizer.authorize = inner  # type: ignore[method-assign]
    return seen


def agt_runtime(authz: AgtAuthorizer):
    """The toolkit's own host wrapper on the same manifest, with simenv's dispatchers."""
    from agt.policies.runtime import AgtRuntime

    class Dispatch:
        def evaluate(self, invocation):
            return authz._evaluate(invocation)

        def dispatch(self, name, config, preliminary):
            return authz._annotate(name, config, preliminary)

    rt = AgtRuntime(POL / "agt" / "intent.yaml", policy_dispatcher=Dispatch(), annotator_dispatcher=Dispatch())

    def decide(req):
        authz._calls += 1
        authz._call_id = f"{req.session}-{req.tick}-{authz._calls}"
        authz._current = req
        try:
            return rt.evaluate_intervention_point(POINT, snapshot(req, authz._call_id), mode="evaluate_only").verdict
        finally:
            authz._current = None

    return decide


def per_decision_us(decide, items: list, n: int) -> float:
    batch = [items[i % len(items)] for i in range(n)]
    start = time.perf_counter()
    for x in batch:
        decide(x)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 repetitions of 100 decisions (a smoke run)")
    args = ap.parse_args()
    reps, n = (3, 100) if args.quick else (7, 2000)
    pairs = recorded_requests()
    reqs = [r for _, r in pairs]
    agt = AgtAuthorizer(POL / "agt" / "intent.yaml")
    native, rego = NativeRules(POL / "rules" / "intent.yaml"), RegoAuthorizer(POL / "rego" / "intent.rego")
    runtime = agt_runtime(AgtAuthorizer(POL / "agt" / "intent.yaml"))
    engines = {  # each takes (the episode's Cedar authorizer, the request)
        "native": lambda p: native.authorize(p[1]),
        "cedar": lambda p: p[0].authorize(p[1]),
        "rego": lambda p: rego.authorize(p[1]),
        "agt": lambda p: agt.authorize(p[1]),
        "agt_runtime": lambda p: runtime(p[1]),
    }
    for decide in engines.values():  # warm up
        for p in pairs[:50]:
            decide(p)
    same = sum(agt.authorize(r) == c.authorize(r) for c, r in pairs)  # effect, reasons and policy ids
    out = {}
    for name, decide in engines.items():
        runs = [per_decision_us(decide, pairs, n) for _ in range(reps)]
        out[name] = round(statistics.median(runs), 1)
    print(f"{len(reqs)} recorded requests (agt decides {same} of them exactly as cedar does); "
          f"µs per decision, median of {reps} x {n}:")
    for name, us in out.items():
        print(f"  {name:<12} {us:>9.1f}  ({us / out['native']:.0f}x native)")
    print(json.dumps({"requests": len(reqs), "agree_with_cedar": same, "reps": reps, "decisions": n,
                      "us_per_decision": out}))


if __name__ == "__main__":
    main()
