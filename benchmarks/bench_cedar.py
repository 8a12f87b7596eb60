"""Cost of a Cedar decision inside the loop against a raw cedarpy call (run by hand; not a test).

    python benchmarks/bench_cedar.py            # all figures
    python benchmarks/bench_cedar.py --quick    # fewer rounds, no 20,000-entity re-parse

Prints, side by side and from the same run:
* ``inside``: ``CedarAuthorizer.authorize`` on the AccessRequests the engine built while an
  agent worked scope_creep under the intent policy (request building, resident-store check,
  the cedarpy call, and turning the answer into a Decision);
* ``raw``: ``cedarpy.is_authorized`` on the same requests, pre-built, with the same resident
  ``PolicySet`` and ``Entities`` handles;
* their ratio (the target is at most 1.3);
* for contrast, a call that re-parses the policies and the entities each time, at 200 and
  20,000 entities;
* µs per engine step with the intent policy as native rules, Cedar and Rego.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import cedarpy

from simenv.governance.cedar import cedar_request, identity_entity, resource_entity
from simenv.governance.cedar_schema import schema_text
from simenv.scenario.builder import build
from simenv.scenario.loader import load_scenario
from simenv.sim.factory import make_episode
from simenv.types import ToolCall

ROOT = Path(__file__).resolve().parent.parent
POLICY = {"native": ROOT / "policies" / "rules" / "intent.yaml", "cedar": ROOT / "policies" / "cedar" / "intent.cedar",
          "rego": ROOT / "policies" / "rego" / "intent.rego"}
BOB = {"table": "payments", "identity": "bob"}
CALLS = [ToolCall("db_query", {"table": "payments"}), ToolCall("db_grant_access", BOB),
         ToolCall("db_query", {"table": "audit-log"}), ToolCall("db_revoke_access", BOB),
         ToolCall("idp_assign_role", {"role": "db-admin", "identity": "provisioner"}),
         ToolCall("vault_read_secret", {"secret": "db-root-password"})]


def profile(folder: Path, engine: str) -> Path:
    p = folder / f"intent_{engine}.yaml"
    (folder / POLICY[engine].name).write_text(POLICY[engine].read_text())  # a profile names files beside it
    p.write_text(f"name: intent_{engine}\ncredentials: {{mode: standing_broad}}\n"
                 f"authorizer: {{engine: {engine}, policy: {POLICY[engine].name}}}\n")
    return p


def engine_with(folder: Path, engine: str):
    eng, _ = make_episode("scope_creep", str(profile(folder, engine)), 0)
    st = eng.states[0]
    eng.open_ticket(st)
    return eng, st


def recorded_requests(folder: Path, n: int, calls=CALLS):
    """The authorizer and the requests the engine built for ``n`` calls (cycling through ``calls``)."""
    eng, st = engine_with(folder, "cedar")
    authz = eng.gov.authorizer
    seen = []
    inner = authz.authorize

    def record(req):
        seen.append(req)
        return inner(req)

    authz.authorize = record
    for i in range(n):
        eng.handle(st, calls[i % len(calls)])
    del authz.authorize
    return authz, seen


def per_call_us(fn, items, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for x in items:
            fn(x)
        out.append((time.perf_counter() - t0) / len(items) * 1e6)
    return out


def reparse_us(n_entities: int, calls: int) -> float:
    """Median µs of a call that hands cedarpy the policy text and the entity JSON each time."""
    spec, path = load_scenario("scope_creep")
    built = build(spec, seed=0, path=path, size=max(n_entities, 50))
    from simenv.governance.request import PrincipalView, ResourceView

    w = built.world
    ents = [identity_entity(PrincipalView(i.name, str(i.kind), None, i.trust_tier, i.shared, i.spiffe_id))
            for i in w.identities]
    ents += [resource_entity(ResourceView(r.name, str(r.type), str(r.system), r.sensitivity, None)) for r in w.resources]
    ents = ents[:n_entities]
    text, ents_json, schema = POLICY["cedar"].read_text(), json.dumps(ents), schema_text()
    req = {"principal": ents[0]["uid"], "action": {"type": "Simenv::Action", "id": "db_query"},
           "resource": ents[-1]["uid"], "context": {}}
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        cedarpy.is_authorized(req, text, ents_json, schema=schema)
        times.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(times)


def step_us(folder: Path, engine: str, n: int, rounds: int) -> float:
    out = []
    for _ in range(rounds):
        eng, st = engine_with(folder, engine)
        t0 = time.perf_counter()
        for i in range(n):
            eng.handle(st, CALLS[i % 4])
        out.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    rounds, n = (5, 600) if a.quick else (15, 3000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        authz, reqs = recorded_requests(folder, n)
        ps, store = authz.policies.policy_set, authz.entities
        raw_reqs = [cedar_request(r) for r in reqs]
        inside, raw = [], []
        for _ in range(rounds):  # interleaved, so drift hits both alike
            inside += per_call_us(authz.authorize, reqs, 1)
            raw += per_call_us(lambda q: cedarpy.is_authorized(q, ps, store), raw_reqs, 1)
        mi, mr = statistics.median(inside), statistics.median(raw)
        print(f"Cedar, {len(reqs)} requests from the scope_creep loop, {len(store)} resident entities, "
              f"median of {rounds} rounds:")
        print(f"  inside the loop (CedarAuthorizer.authorize)    {mi:8.1f} µs/call")
        print(f"  raw cedarpy.is_authorized, resident handles    {mr:8.1f} µs/call")
        print(f"  ratio inside / raw                             {mi / mr:8.2f}x   (target <= 1.3x)")
        print("Re-parsing policies and entities on every call (for contrast):")
        for size, calls in ((200, 30), (20_000, 3)):
            if a.quick and size > 200:
                continue
            print(f"  {size:>6} entities                                 {reparse_us(size, calls):10.0f} µs/call")
        print("Engine step on scope_creep with the intent policy:")
        for engine in ("native", "cedar", "rego"):
            print(f"  {engine:<7}                                        "
                  f"{step_us(folder, engine, n // 3, max(3, rounds // 3)):8.1f} µs/step")


if __name__ == "__main__":
    main()
