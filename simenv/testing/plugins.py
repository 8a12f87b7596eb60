"""Checks for outside plug-ins: an authorizer or an agent keeps the protocol of its seam.

Outside code plugs in by name, ``"package.module:Class"`` (see
:mod:`simenv.governance.plugins` and :mod:`simenv.agents.registry`). Before you benchmark with
yours, run the checks the built-in ones pass::

    from simenv.testing import check_agent, check_authorizer
    check_authorizer("my_policies:NoKeyExport")
    check_agent("my_agents:Careful")

:func:`check_authorizer` checks, in order:

1. ``protocol``: it has a ``name`` and callable ``prepare`` and ``authorize``;
2. ``prepare``: it prepares for a shipped estate without raising;
3. ``decisions``: on seeded requests over every tool (each field of the request model varied),
   it returns a :class:`~simenv.governance.request.Decision` whose effect is allow, deny or
   require_approval, with reasons and at least one policy id, all strings;
4. ``deterministic``: the same request gives the same decision, from it and from a fresh instance;
5. ``approval``: a request it sends to approval is not sent to approval again once approved
   (``context.approval: granted``), so that an approved call can go ahead;
6. ``episode``: an episode under it (JIT credentials, simulated approvers) runs to a complete
   audit log.

:func:`check_agent` checks ``protocol`` (``reset`` and ``act``), ``episode`` (episodes of two
scenarios under ``allow_all`` and ``zero_standing`` end with complete audit logs; whatever it
returns is mediated or logged as an invalid call), ``deterministic`` (the same seed gives the
same fingerprint with fresh instances) and ``pickle`` (an agent object pickles with
cloudpickle, as the ``local`` executor needs). Each failure raises :class:`PluginCheckError`
naming the plug-in and the check.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np

from simenv.errors import SimenvError

SCENARIO = "scope_creep"
AGENT_SCENARIOS = ("scope_creep", "multi_agent_chaining")
AGENT_PROFILES = ("allow_all", "zero_standing")


class PluginCheckError(SimenvError, AssertionError):
    """A plug-in failed a check.

    Attributes:
        plugin: what was checked (its reference or its class name).
        check: the short name of the failed check.
    """

    def __init__(self, plugin: str, check: str, detail: str):
        self.plugin = plugin
        self.check = check
        super().__init__(f"plug-in {plugin!r} fails check {check!r}: {detail}")


def _label(target: Any) -> str:
    if isinstance(target, str):
        return target
    cls = target if isinstance(target, type) else type(target)
    return f"{cls.__module__}:{cls.__qualname__}"


# --------------------------------------------------------------------------- authorizers
def _authorizer_factory(target: Any, policy: Any, options: dict[str, Any], label: str):
    """A function that makes a fresh instance (``None`` if ``target`` is an instance: it is used as it is)."""
    from simenv.governance import plugins

    if isinstance(target, str):
        try:
            cls = plugins.resolve_class(target, plugins.AUTHORIZERS, "authorizer.engine")
            plugins.check_options(cls, options, "authorizer.options", ("policy",))
        except plugins.PluginError as e:
            raise PluginCheckError(label, "protocol", str(e)) from None
    elif isinstance(target, type):
        cls = target
    else:
        return None
    kwargs = {**options, **({"policy": policy} if policy is not None else {})}
    return lambda: cls(**kwargs)


def sample_requests(estate: Any, n: int, seed: int) -> list[Any]:
    """``n`` seeded access requests over every tool and the estate's named parts, each field varied."""
    from simenv.governance.request import AccessRequest, PrincipalView, ResourceView
    from simenv.world.catalog import CATALOG, TOOL_NAMES

    rng = np.random.default_rng(seed)
    idents = estate.identities[: min(len(estate.identities), 40)]
    resources = estate.resources[: min(len(estate.resources), 60)]

    def principal(i: Any) -> PrincipalView:
        return PrincipalView(i.name, str(i.kind), estate.owner_name(i.idx), i.trust_tier, i.shared, i.spiffe_id)

    out = []
    for k in range(n):
        spec = CATALOG[TOOL_NAMES[k % len(TOOL_NAMES)]]
        fitting = [r for r in resources if r.system is spec.system] or list(resources)
        res = fitting[int(rng.integers(len(fitting)))]
        p = principal(idents[int(rng.integers(len(idents)))])
        rep = p if rng.random() < 0.7 else principal(idents[int(rng.integers(len(idents)))])
        target = principal(idents[int(rng.integers(len(idents)))]) if spec.identity_param else None
        owner = estate.identities[res.owner].name if res.owner is not None else None
        kind = ("static", "session", "jit")[int(rng.integers(3))]
        depth = int(rng.integers(4))
        systems = tuple(sorted({str(spec.system), "idp"} if rng.random() < 0.5 else {"db"}))
        out.append(AccessRequest(
            principal=p, represents=rep, action=spec.name, risk=str(spec.risk), system=str(spec.system),
            resource=ResourceView(res.name, str(res.type), str(res.system), res.sensitivity, owner),
            target_identity=target, ticket=f"T-{k}", declared_systems=systems,
            declared_risks=tuple(sorted({str(spec.risk), "read"})), in_declared_scope=bool(rng.random() < 0.6),
            approval="none", credential_id=f"cred-{k + 1}", credential_kind=kind,
            credential_ttl=None if kind == "static" else int(rng.integers(0, 60)),
            credential_covers=bool(rng.random() < 0.7), chain=(p.name, *(f"actor-{j}" for j in range(depth))),
            tick=int(rng.integers(40)), session=int(rng.integers(3)),
            args={q.name: res.name if q.kind not in ("identity", "text") else (target.name if target else "x")
                  for q in spec.params},
        ))
    return out


def _check_decision(label: str, req: Any, dec: Any) -> None:
    from simenv.governance.request import Decision
    from simenv.types import AUTHORIZER_EFFECTS

    where = f"for {req.action} on {req.resource.name} (approval {req.approval})"
    if not isinstance(dec, Decision):
        raise PluginCheckError(label, "decisions", f"authorize returned a {type(dec).__name__}, not a Decision, {where}")
    if dec.effect not in AUTHORIZER_EFFECTS:
        raise PluginCheckError(label, "decisions", f"effect {dec.effect!r} {where}; expected allow, deny or "
                                                   "require_approval")
    for key in ("reasons", "policy_ids"):
        v = getattr(dec, key)
        if not isinstance(v, tuple) or not all(isinstance(x, str) for x in v):
            raise PluginCheckError(label, "decisions", f"{key} must be a tuple of strings, got {v!r} {where}")
    if not dec.policy_ids:
        raise PluginCheckError(label, "decisions", f"no policy id {where}: every decision names what decided it")


def check_authorizer(target: Any, policy: Any = None, options: dict[str, Any] | None = None,
                     scenario: str = SCENARIO, n: int = 300, seed: int = 0) -> None:
    """Check an authorizer plug-in; raise :class:`PluginCheckError` on the first failed check.

    Args:
        target: ``"package.module:Class"`` (or an engine name), a class, or an instance.
        policy: the policy file to build it with (what ``authorizer.policy`` would give it).
        options: the options to build it with (``authorizer.options``).
        scenario: the shipped scenario (or file) whose estate it prepares for and runs.
        n: how many sampled requests it decides.
        seed: the seed of the sample and of the episode.

    >>> check_authorizer("native", policy="policies/rules/intent.yaml", n=50)
    """
    from simenv.governance.views import EstateView
    from simenv.scenario.builder import build
    from simenv.scenario.loader import load_scenario

    label = _label(target)
    make = _authorizer_factory(target, policy, dict(options or {}), label)
    try:
        authz = make() if make is not None else target
    except Exception as e:  # noqa: BLE001 - any failure to build is the finding
        raise PluginCheckError(label, "protocol", f"building it raised {type(e).__name__}: {e}") from None
    if not isinstance(getattr(authz, "name", None), str) or not callable(getattr(authz, "prepare", None)) or \
            not callable(getattr(authz, "authorize", None)):
        raise PluginCheckError(label, "protocol", "needs a str attribute name and methods prepare(estate, tickets) "
                                                  "and authorize(request)")
    spec, path = load_scenario(scenario)
    built = build(spec, seed, path)
    estate = EstateView(built.world)
    fresh = make() if make is not None else None
    for a in (authz, fresh):
        if a is None:
            continue
        try:
            a.prepare(estate, built.tickets)
        except Exception as e:  # noqa: BLE001
            raise PluginCheckError(label, "prepare", f"prepare raised {type(e).__name__}: {e}") from None
    reqs = sample_requests(estate, n, seed)
    decisions = []
    for req in reqs:
        try:
            dec = authz.authorize(req)
        except Exception as e:  # noqa: BLE001
            raise PluginCheckError(label, "decisions", f"authorize raised {type(e).__name__}: {e} for {req.action}") from None
        _check_decision(label, req, dec)
        decisions.append(dec)
    for req, dec in zip(reqs, decisions, strict=True):
        again = authz.authorize(req)
        other = fresh.authorize(req) if fresh is not None else again
        if again != dec or other != dec:
            raise PluginCheckError(label, "deterministic", f"{req.action} on {req.resource.name}: {dec} then "
                                                           f"{again if again != dec else other}")
        if dec.effect == "require_approval":
            lifted = authz.authorize(replace(req, approval="granted"))
            _check_decision(label, req, lifted)
            if lifted.effect == "require_approval":
                raise PluginCheckError(label, "approval", f"{req.action} still needs approval once approved "
                                                          f"({lifted.policy_ids}): an approved call could never go ahead")
    _episode_with(label, authz if make is None else make(), scenario, seed)


def _episode_with(label: str, authz: Any, scenario: str, seed: int) -> None:
    from simenv import metrics
    from simenv.sim.factory import make_episode

    try:
        engine, _ = make_episode(scenario, "jit_approval", seed, "llm_stub")
        engine.gov.authorizer = authz
        authz.prepare(engine.state.estate, engine.built.tickets)
        audit = engine.run()
        ok = metrics.audit_complete(audit)
    except Exception as e:  # noqa: BLE001
        raise PluginCheckError(label, "episode", f"an episode of {scenario} raised {type(e).__name__}: {e}") from None
    if not ok:
        raise PluginCheckError(label, "episode", f"the audit log of an episode of {scenario} is not complete")


# --------------------------------------------------------------------------- agents
def check_agent(target: Any, scenarios: tuple[str, ...] = AGENT_SCENARIOS, profiles: tuple[str, ...] = AGENT_PROFILES,
                seeds: tuple[int, ...] = (0, 1)) -> None:
    """Check an agent plug-in; raise :class:`PluginCheckError` on the first failed check.

    Args:
        target: ``"package.module:Class"`` (or a registered agent name), or an agent object (it
            plays each scenario's learner; copies of it are used, so it is not changed).
        scenarios: the scenarios (shipped names or files) it plays.
        profiles: the profiles it plays them under.
        seeds: the episode seeds.

    >>> check_agent("llm_stub:careful", scenarios=("scope_creep",), profiles=("allow_all",), seeds=(0,))
    """
    from simenv import metrics
    from simenv.agents.registry import factory
    from simenv.errors import UnknownNameError

    label = _label(target)
    if isinstance(target, str):
        try:
            factory(target)
        except UnknownNameError as e:
            raise PluginCheckError(label, "protocol", str(e)) from None
    elif not callable(getattr(target, "reset", None)) or not callable(getattr(target, "act", None)):
        raise PluginCheckError(label, "protocol", "needs methods reset(identity, tool_schemas, rng) and act(observation)")
    else:
        try:
            from joblib.externals import cloudpickle
        except ImportError:  # pragma: no cover - joblib comes with the all and dev extras
            import pickle as cloudpickle
        try:
            cloudpickle.loads(cloudpickle.dumps(target))
        except Exception as e:  # noqa: BLE001
            raise PluginCheckError(label, "pickle", f"it does not pickle ({type(e).__name__}: {e}); the local "
                                                    "executor sends agents to worker processes") from None
    from simenv.api import run_episode

    def run(s: str, p: str, seed: int) -> Any:
        agent = target if isinstance(target, str) else copy.deepcopy(target)
        try:
            return run_episode(s, p, seed=seed, agent=agent)
        except Exception as e:  # noqa: BLE001
            raise PluginCheckError(label, "episode", f"{s} under {p}, seed {seed}: {type(e).__name__}: {e}") from None

    for s in scenarios:
        for p in profiles:
            for seed in seeds:
                a = run(s, p, seed)
                if not metrics.audit_complete(a.audit):
                    raise PluginCheckError(label, "episode", f"{s} under {p}, seed {seed}: the audit log is not complete")
                b = run(s, p, seed)
                if a.scores["fingerprint"] != b.scores["fingerprint"]:
                    raise PluginCheckError(label, "deterministic", f"{s} under {p}, seed {seed}: two runs differ; draw "
                                                                   "randomness only from the rng that reset() is given")
