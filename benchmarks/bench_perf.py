"""Where users wait: the Gymnasium step, resets, a mediated call, the sweep, and large estates, beside the anchors.

    pip install -e ".[bench]"                      # brings nasim, the anchor of the step figures
    python benchmarks/bench_perf.py                # every figure (several minutes)
    python benchmarks/bench_perf.py --quick        # a smoke run: one repetition, small sizes (not figures to quote)
    python benchmarks/bench_perf.py --out perf.json

Every figure is a median of 5 repetitions (``--quick``: one), measured side by side: the step figures in this
process, round by round (a ratio to NASim is the median of the rounds' own ratios), the mediated calls in a
fresh child process (native, Cedar, Rego and raw cedarpy interleaved round by round), the sweep and each estate
size in child processes of their own. Prints each figure with its target, and writes them all to a JSON file
(default ``results/perf.json``).

* Gymnasium steps/s of ``simenv/IAM-v0`` on scope_creep with random masked actions, with and
  without resets, under allow_all and zero_standing; NASim ``generate(32, 5)`` steps/s with
  random valid actions (an action is valid when its target host is discovered: NASim's own
  rule, computed per step from the discovered hosts) and CartPole-v1 steps/s, both with resets;
* µs per reset under each shipped profile;
* µs per mediated call with the intent policy as native rules, Cedar and Rego, a raw
  ``cedarpy.is_authorized`` call on the same requests with the same resident handles, and, as the
  alternative Rego engine, a raw regorus evaluation of the same requests (with the share of them it
  decides as regopy does);
* episodes/s of two matrices at 100 seeds, serial and with 2 workers, run in turn, and the
  executor's efficiency (serial / (2 × two workers): the median of the five pairs' own ratios, as
  the machine's speed drifts between pairs): the matrix the targets were set on (the 13 scenarios
  and 9 profiles the project shipped then, 11,700 episodes: :data:`TARGET_MATRIX`), and the default
  matrix of today (every shipped scenario × profile, larger and with the Rego-backed AGT profile);
* call cost, estate build (cold, and from the template cache), Cedar's entity store and peak
  memory at 1k, 10k and 100k identities.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import simenv  # noqa: F401 - before numpy: it maps rego-cpp's library first (simenv._load_rego_first)

# isort: split
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

REPS = 5
TARGETS = {
    "steps_with_resets_vs_nasim": 2.0,
    "reset_us": 200.0,
    "native_call_us": 15.0,
    "rego_call_us": 100.0,
    "matrix_jobs2_s": 20.0,
    "executor_efficiency": 0.90,
    "scale_call_ratio": 1.5,
    "estate_cold_s": 1.0,
    "estate_cached_s": 0.05,
    "cedar_prepare_s": 1.0,
    "peak_mib": 1024.0,
}


def median_of(fn) -> float:
    return statistics.median(fn() for _ in range(REPS))


# --------------------------------------------------------------------------- Gymnasium step
def simenv_steps(policy: str, steps: int, resets: bool) -> float:
    """Steps/s of random masked actions; with ``resets`` False the time spent in ``reset`` is left out."""
    from simenv.envs.iam_env import IAMEnv

    env = IAMEnv("scope_creep", policy)
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=0)
    paused, n, episode = 0.0, 0, 0
    t0 = time.perf_counter()
    while n < steps:
        a = int(rng.choice(np.flatnonzero(info["action_mask"])))
        _, _, term, trunc, info = env.step(a)
        n += 1
        if term or trunc:
            episode += 1
            t = time.perf_counter()
            _, info = env.reset(seed=episode)
            if not resets:
                paused += time.perf_counter() - t
    return steps / (time.perf_counter() - t0 - paused)


def nasim_steps(steps: int) -> float:
    import nasim

    env = nasim.generate(32, 5, seed=0)
    rng = np.random.default_rng(0)
    actions = [env.action_space.get_action(i) for i in range(env.action_space.n)]
    hosts = sorted({a.target for a in actions})
    target = np.array([hosts.index(a.target) for a in actions])
    env.reset(seed=0)
    t0 = time.perf_counter()
    for _ in range(steps):
        found = np.fromiter((env.current_state.host_discovered(h) for h in hosts), dtype=bool, count=len(hosts))
        _, _, term, trunc, _ = env.step(int(rng.choice(np.flatnonzero(found[target]))))
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - t0)


GYM_FIGURES = tuple((policy, kind) for policy in ("allow_all", "zero_standing") for kind in ("with_resets", "without_resets"))


def gym_rounds(steps: int) -> tuple[dict[str, float], dict[str, float]]:
    """The step figures, round by round: each round runs NASim, the four simenv figures and CartPole once, NASim
    first in even rounds and last in odd ones. Returns each figure's median, and each simenv figure's ratio to NASim
    as the median of the rounds' own ratios (the machine's speed drifts by up to half within minutes: a ratio of
    medians taken minutes apart would carry that drift)."""
    runs: dict[str, list[float]] = {"nasim_32_5": [], "cartpole": [], **{f"{p}_{k}": [] for p, k in GYM_FIGURES}}
    try:
        import nasim  # noqa: F401
    except ImportError:
        nasim_ok = False
        print("  nasim is not installed: pip install -e '.[bench]'", file=sys.stderr)
    else:
        nasim_ok = True
    for i in range(REPS):
        order = ["nasim", *GYM_FIGURES] if i % 2 == 0 else [*GYM_FIGURES, "nasim"]
        for item in order:
            if item == "nasim":
                runs["nasim_32_5"].append(nasim_steps(steps) if nasim_ok else float("nan"))
            else:
                policy, kind = item
                runs[f"{policy}_{kind}"].append(simenv_steps(policy, steps, kind == "with_resets"))
        runs["cartpole"].append(cartpole_steps(steps))
    medians = {k: statistics.median(v) for k, v in runs.items()}
    ratios = {f"{p}_{k}": statistics.median(a / b for a, b in zip(runs[f"{p}_{k}"], runs["nasim_32_5"], strict=True))
              for p, k in GYM_FIGURES}
    return medians, ratios


def cartpole_steps(steps: int) -> float:
    import gymnasium as gym

    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.action_space.seed(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- reset and call
def reset_us(policy: str, n: int) -> float:
    from simenv.envs.iam_env import IAMEnv

    env = IAMEnv("scope_creep", policy)
    env.reset(seed=0)

    def once() -> float:
        t0 = time.perf_counter()
        for s in range(n):
            env.reset(seed=s)
        return (time.perf_counter() - t0) / n * 1e6

    return median_of(once)


def call_figures(n: int) -> dict[str, float]:
    """µs per mediated call (native, Cedar, Rego), per raw cedarpy call, and per raw regorus evaluation (if that
    engine is installed), interleaved round by round."""
    import cedarpy
    from bench_cedar import CALLS, POLICY, engine_with, recorded_requests

    from simenv.governance.cedar import cedar_request

    out: dict[str, list[float]] = {"native_call_us": [], "cedar_call_us": [], "rego_call_us": [], "raw_cedarpy_us": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        authz, reqs = recorded_requests(folder, n, CALLS[:4])  # the requests of the calls measured below
        ps, store = authz.policies.policy_set, authz.entities
        raw = [cedar_request(r) for r in reqs]
        regorus = regorus_engine(POLICY["rego"], reqs)
        if regorus is not None:
            out["raw_regorus_us"] = []
        for _ in range(REPS):
            for engine in ("native", "cedar", "rego"):
                eng, st = engine_with(folder, engine)
                t0 = time.perf_counter()
                for i in range(n):
                    eng.handle(st, CALLS[i % 4])
                out[f"{engine}_call_us"].append((time.perf_counter() - t0) / n * 1e6)
            t0 = time.perf_counter()
            for q in raw:
                cedarpy.is_authorized(q, ps, store)
            out["raw_cedarpy_us"].append((time.perf_counter() - t0) / len(raw) * 1e6)
            if regorus is not None:
                out["raw_regorus_us"].append(regorus[0]())
    figures = {k: statistics.median(v) for k, v in out.items()}
    if regorus is not None:
        figures["regorus_agrees"] = regorus[1]
    return figures


def regorus_engine(policy: Path, reqs: list) -> tuple | None:
    """regorus, the Rust Rego engine, on the intent policy: a timer of µs per evaluation of ``reqs`` (the request's
    JSON made and set as input, then ``data.simenv.decision``), and the share of them it decides as simenv's Rego
    engine (regopy) does. ``None`` when regorus is not installed (the ``bench`` extra brings it)."""
    try:
        import regorus
    except ImportError:
        return None
    from simenv.governance.rego import RegoAuthorizer

    eng = regorus.Engine()
    eng.add_policy(policy.name, policy.read_text())
    docs = [r.to_input() for r in reqs]
    regopy = RegoAuthorizer(policy)

    def decide(doc: dict) -> dict:
        eng.set_input_json(json.dumps(doc))
        return eng.eval_rule("data.simenv.decision")

    same = 0
    for r, doc in zip(reqs, docs, strict=True):
        got, want = decide(doc), regopy.authorize(r)
        same += (got["effect"], tuple(sorted(got["policy_ids"]))) == (str(want.effect), want.policy_ids)

    def timer() -> float:
        t0 = time.perf_counter()
        for doc in docs:
            decide(doc)
        return (time.perf_counter() - t0) / len(docs) * 1e6

    return timer, same / len(docs)


def in_child(figure: str, *args: object) -> dict[str, float]:
    """``figure(*args)`` of this module, run in a fresh interpreter (with the same repetitions).

    The call figures are taken in a process of their own, as the large-estate ones are: in this one, after the
    step loops, NASim and the resets, the same calls measured 10-25 µs slower (a larger heap, other libraries).
    """
    code = (f"import simenv, json, sys; sys.path.insert(0, {str(HERE)!r}); import bench_perf; "
            f"bench_perf.REPS = {REPS}; print(json.dumps(bench_perf.{figure}(*{args!r})))")
    r = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the sweep
TARGET_MATRIX = (
    ("delegated_admin", "scope_creep", "supply_chain_pipeline", "conditional_access_tamper", "credential_persistence",
     "cross_domain_change", "key_export", "legacy_static_keys", "prompt_injection_hijack", "secrets_sprawl",
     "shared_service_account", "multi_agent_chaining", "stolen_credential_replay"),
    ("allow_all", "deny_all", "static_rbac", "intent_cedar", "intent_rego", "jit_approval", "zero_standing", "jit",
     "least_privilege"),
)
"""The matrix the sweep targets were set on ("the full default matrix, 13 × 9 × 100"): the scenarios and profiles
the project shipped then. Later scenarios and the AGT profile are in the default matrix, measured beside it."""


def sweep_s(seeds: int, executor: str, jobs: int, scenarios: str = "all", policies: str = "all") -> float:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "simenv", "bench", "--seeds", str(seeds), "--executor", executor,
                        "--jobs", str(jobs), "--scenarios", scenarios, "--policies", policies, "--no-report",
                        "--out", f"{d}/results"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "CI": "1"})
        return time.perf_counter() - t0


def sweep_pairs(scenarios: str, policies: str, seeds: int) -> dict[str, float]:
    """Serial and 2-worker sweeps of a matrix, in turn with the order alternating: a pair's ratio is free of the
    machine's drift, so the efficiency is the median of the pairs' own ratios."""
    pairs = []
    for i in range(REPS):
        order = ("serial", "local") if i % 2 == 0 else ("local", "serial")
        got = {ex: sweep_s(seeds, ex, 1 if ex == "serial" else 2, scenarios, policies) for ex in order}
        pairs.append((got["serial"], got["local"]))
    return {"serial_s": statistics.median(p[0] for p in pairs),
            "jobs2_s": statistics.median(p[1] for p in pairs),
            "efficiency": statistics.median(s / (2 * t) for s, t in pairs)}


# --------------------------------------------------------------------------- large estates
_SCALE = """
import json, sys, time
from simenv.scenario import builder
from simenv.scenario.loader import load_scenario
from simenv.sim.factory import make_episode
from simenv.types import ToolCall
size = int(sys.argv[1])
spec, path = load_scenario("scope_creep")
t0 = time.perf_counter(); builder.build(spec, 0, path, size=size); cold = time.perf_counter() - t0
t0 = time.perf_counter(); builder.build(spec, 0, path, size=size); cached = time.perf_counter() - t0
eng, _ = make_episode((spec, path), "intent_cedar", 0, size=size)  # builds Cedar's store (from the template)
from simenv.governance.views import EstateView
w = builder.build(spec, 0, path, size=size).world
w.grant_version += 1  # as if changed: the store is built anew, not served from the template
t0 = time.perf_counter(); eng.gov.authorizer.prepare(EstateView(w), eng.built.tickets); prep = time.perf_counter() - t0
bob = {"table": "payments", "identity": "bob"}
calls = [ToolCall("db_query", {"table": "payments"}), ToolCall("db_grant_access", bob),
         ToolCall("db_query", {"table": "audit-log"}), ToolCall("db_revoke_access", bob)]


def call_us(policy, n):  # median µs of 5 rounds of n calls (a Cedar store grows as the calls bring entities)
    eng, _ = make_episode((spec, path), policy, 0, size=size)
    st = eng.states[0]; eng.open_ticket(st)
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(n):
            eng.handle(st, calls[i % 4])
        rounds.append((time.perf_counter() - t0) / n * 1e6)
    return sorted(rounds)[2]


native_us, cedar_us = call_us("static_rbac", 2000), call_us("intent_cedar", 1000)
# the high-water mark of this process's own memory (VmHWM is reset by exec, unlike ru_maxrss)
peak = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM")) / 1024
print(json.dumps({"estate_cold_s": cold, "estate_cached_s": cached, "cedar_prepare_s": prep,
                  "call_us": native_us, "cedar_call_us": cedar_us, "peak_mib": peak}))
"""


def scale(size: int) -> dict[str, float]:
    """Figures at ``size`` identities, each from a fresh process (so that peak memory is this size's own)."""
    runs = []
    for _ in range(REPS):
        r = subprocess.run([sys.executable, "-c", _SCALE, str(size)], check=True, capture_output=True, text=True)
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


# --------------------------------------------------------------------------- report
def row(name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> str:
    verdict = "" if ok is None else ("  ok" if ok else "  MISSED")
    return f"  {name:<44} {value:>12,.1f} {unit:<10} {target:<24}{verdict}"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 repetition, 1 seed, 1k identities only")
    ap.add_argument("--out", default="results/perf.json", help="the JSON file of every figure")
    a = ap.parse_args()
    global REPS
    REPS = 1 if a.quick else REPS
    steps = 1_000 if a.quick else 20_000
    fig: dict[str, object] = {"cpus": os.cpu_count(), "quick": a.quick, "reps": REPS}
    lines = []

    print("Gymnasium step, random masked actions (steps/s, median of 5) ...", file=sys.stderr)
    gym, vs_nasim = gym_rounds(steps)
    fig["gym_steps_per_s"] = gym
    lines.append("Gymnasium steps/s (scope_creep, random masked actions; a ratio is the median of the rounds' own)")
    for policy in ("allow_all", "zero_standing"):
        for kind in ("with_resets", "without_resets"):
            v = gym[f"{policy}_{kind}"]
            ratio = vs_nasim[f"{policy}_{kind}"]
            fig[f"{policy}_{kind}_vs_nasim"] = ratio
            target = f">= 2.0x NASim ({ratio:.2f}x)" if kind == "with_resets" else f"({ratio:.2f}x NASim)"
            lines.append(row(f"{policy}, {kind.replace('_', ' ')}", v, "steps/s", target,
                             ratio >= TARGETS["steps_with_resets_vs_nasim"] if kind == "with_resets" else None))
    lines.append(row("NASim generate(32, 5), valid actions", gym["nasim_32_5"], "steps/s"))
    lines.append(row("CartPole-v1", gym["cartpole"], "steps/s"))

    print("resets ...", file=sys.stderr)
    from simenv import files

    resets = {p: reset_us(p, 50 if a.quick else 400) for p in files.list_shipped("policies")}
    fig["reset_us"] = resets
    lines.append("Reset at the default estate size (µs, median of 5)")
    for p, v in resets.items():
        lines.append(row(p, v, "µs", "<= 200", v <= TARGETS["reset_us"]))

    print("mediated calls ...", file=sys.stderr)
    calls = in_child("call_figures", 200 if a.quick else 3000)
    fig["call_us"] = calls
    cedar_target = 1.3 * calls["raw_cedarpy_us"] + 15
    lines.append("One mediated call, the intent policy (µs, median of 5)")
    lines.append(row("native rules", calls["native_call_us"], "µs", "<= 15", calls["native_call_us"] <= 15))
    lines.append(row("Cedar", calls["cedar_call_us"], "µs", f"<= 1.3x raw + 15 = {cedar_target:.0f}",
                     calls["cedar_call_us"] <= cedar_target))
    lines.append(row("raw cedarpy.is_authorized, same handles", calls["raw_cedarpy_us"], "µs"))
    lines.append(row("Rego", calls["rego_call_us"], "µs", "<= 100", calls["rego_call_us"] <= 100))
    if "raw_regorus_us" in calls:
        lines.append(row("raw regorus (alternative), same requests", calls["raw_regorus_us"], "µs",
                         f"({calls['regorus_agrees']:.0%} decided as regopy)"))
    else:
        lines.append("  raw regorus: not installed (pip install -e \".[bench]\" brings it)")

    seeds = 1 if a.quick else 100
    shipped = (files.list_shipped("scenarios"), files.list_shipped("policies"))
    for key, title, (scen, pols) in (("target_matrix", "The matrix of the targets (13 scenarios x 9 profiles)",
                                      TARGET_MATRIX),
                                     ("matrix", "The default matrix today (every shipped scenario x profile)",
                                      shipped)):
        n = len(scen) * len(pols) * seeds
        print(f"{title} at {seeds} seeds ({n} episodes), serial and 2 workers ...", file=sys.stderr)
        fig[key] = {"episodes": n, **sweep_pairs(",".join(scen), ",".join(pols), seeds)}
        serial, two, eff = fig[key]["serial_s"], fig[key]["jobs2_s"], fig[key]["efficiency"]
        lines.append(f"{title}, {n} episodes (wall seconds, whole command)")
        lines.append(row("serial", serial, "s", f"({n / serial:,.0f} episodes/s)"))
        lines.append(row("--jobs 2", two, "s", "<= 20" + (f" ({n / two:,.0f} episodes/s)"),
                         two <= TARGETS["matrix_jobs2_s"] if not a.quick else None))
        lines.append(row("executor efficiency", eff * 100, "%", ">= 90", eff >= TARGETS["executor_efficiency"]))

    sizes = (1_000,) if a.quick else (1_000, 10_000, 100_000)
    print(f"estates of {', '.join(map(str, sizes))} identities ...", file=sys.stderr)
    big = {s: scale(s) for s in sizes}
    fig["scale"] = {str(s): v for s, v in big.items()}
    lines.append("Large estates (static_rbac and intent_cedar calls; estate and Cedar store; peak RSS of the process)")
    for s, v in big.items():
        ratio = v["call_us"] / big[1_000]["call_us"]
        lines.append(row(f"{s:,} identities: call", v["call_us"], "µs", f"<= 1.5x 1k ({ratio:.2f}x)",
                         ratio <= TARGETS["scale_call_ratio"]))
        ratio = v["cedar_call_us"] / big[1_000]["cedar_call_us"]
        lines.append(row(f"{s:,}: Cedar call (intent_cedar)", v["cedar_call_us"], "µs", f"<= 1.5x 1k ({ratio:.2f}x)",
                         ratio <= TARGETS["scale_call_ratio"]))
        lines.append(row(f"{s:,}: estate built cold", v["estate_cold_s"] * 1e3, "ms", "<= 1000",
                         v["estate_cold_s"] <= TARGETS["estate_cold_s"]))
        lines.append(row(f"{s:,}: estate from the template cache", v["estate_cached_s"] * 1e3, "ms", "<= 50",
                         v["estate_cached_s"] <= TARGETS["estate_cached_s"]))
        lines.append(row(f"{s:,}: Cedar entity store", v["cedar_prepare_s"] * 1e3, "ms", "<= 1000",
                         v["cedar_prepare_s"] <= TARGETS["cedar_prepare_s"]))
        lines.append(row(f"{s:,}: peak memory", v["peak_mib"], "MiB", "<= 1024", v["peak_mib"] <= TARGETS["peak_mib"]))

    print("\n".join(lines))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fig, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
