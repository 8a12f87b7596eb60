"""``simenv export opengraph``: an estate file, a scenario's built world or a recorded episode as OpenGraph JSON.

What the input is, is told by its content: an audit log (JSON lines, the first a record with a
``kind``, as ``simenv run --audit`` writes it), an estate file (``format: simenv-estate/1``), or a
scenario (a shipped name or a file). The estate part of the mapping is
:mod:`simenv.estates.opengraph`; an episode adds, on the world its header names (re-built from the
scenario, a shipped name or ``scenario=`` the file it ran with, its seed and its size):

* a ``SimenvCall`` node per tool call (id ``...:call:<seq>``), with ``tool``, ``args`` (``k=v``),
  ``tick``, ``agent``, ``ticket``, ``decision``, ``effect``, ``policy_ids``, ``reasons``, ``risk``,
  ``system``, ``target``, ``credential``, ``in_intent`` and the realized ``affected_weight``; a
  pending call's approval sets ``approval``, ``granted`` and its final ``effect``;
* edges ``SimenvCalled`` (agent → call), ``SimenvTargets`` (call → resource), ``SimenvUsed``
  (call → credential), ``SimenvChanged`` (call → resource it changed, with ``ops``) and
  ``SimenvAffected`` (call → resource it damaged, with ``weight``);
* a ``SimenvCredential`` node per credential (``...:credential:<id>``), with ``cred_kind``,
  ``source``, ``issued_tick``, ``expires_at``, ``reach`` and, once it ends, ``ended`` (revoke, expire,
  drop) and ``ended_tick``; edges ``SimenvIssuedTo`` (credential → holder) and ``SimenvRepresents``
  (credential → the identity whose permissions it carries);
* on resources: ``changed`` and ``changed_ticks``, ``affected`` and ``affected_weight``, and
  ``reached`` for those a call's new privilege could reach (its ``potential``); a grant an episode
  made or removed is its grant edge with ``added_tick``/``added_by_call`` or
  ``removed_tick``/``removed_by_call``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simenv import files
from simenv.errors import SimenvError
from simenv.estates import estate as estates
from simenv.estates.opengraph import Graph, add_world, estate_graph, grant
from simenv.sim.audit import Audit
from simenv.sim.records import ApprovalRecord, CallRecord, CredentialRecord, MonitorRecord, Settled

NOT_ONE = ("not an estate file (format: simenv-estate/1), a scenario or an audit log (simenv run --audit); "
           "pass one of those")


def export(ref: str | Path, scenario: str | None = None) -> dict[str, Any]:
    """The OpenGraph payload of an estate file, a scenario or an audit log (see the module's text)."""
    if not files.is_path(ref) and not Path(ref).suffix:  # a shipped scenario name
        return scenario_graph(ref)
    p = Path(ref)
    if p.is_dir():
        raise SimenvError(f"{p}: is a folder; {NOT_ONE}")
    if not p.exists():
        raise SimenvError(f"{p}: no such file")
    text = files.read_text(p, estates.MAX_ESTATE_BYTES)
    first = text.lstrip().split("\n", 1)[0]
    if first.startswith("{"):
        try:
            doc = json.loads(first)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and "kind" in doc:
            return episode_graph(p, scenario)
    if p.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError:
            raise SimenvError(f"{p}: not JSON, so {NOT_ONE}") from None
    else:
        data = files.parse_yaml(text, str(p))
    if isinstance(data, dict) and data.get("format") == estates.FORMAT:
        return estate_graph(estates.load(p))
    if isinstance(data, dict) and "identities" in data:
        return scenario_graph(p)
    if isinstance(data, dict) and {"UserDetailList", "RoleDetailList"} & set(data):
        raise SimenvError(f"{p}: an AWS authorization-details export, not an estate file: turn it into one with "
                          f"simenv import aws-iam {p} -o estates/NAME.yaml, then export that")
    raise SimenvError(f"{p}: {NOT_ONE}")


def _world_graph(ref: str | Path, seed: int, size: int | None) -> tuple[Graph, Any]:
    from simenv.scenario.builder import build
    from simenv.scenario.estate import estate_of
    from simenv.scenario.loader import load_scenario

    spec, path = load_scenario(ref)
    built = build(spec, seed, path, size)
    g = Graph(built.world.trust_domain)
    add_world(g, built.world, estate_of(spec, path))
    return g, built.world


def scenario_graph(ref: str | Path, seed: int = 0, size: int | None = None) -> dict[str, Any]:
    """The OpenGraph payload of a scenario's world as built for episode ``seed``."""
    return _world_graph(ref, seed, size)[0].to_json()


def episode_graph(path: Path, scenario: str | None = None) -> dict[str, Any]:
    """The OpenGraph payload of a recorded episode: its world, calls, credentials and affected resources."""
    from simenv.bench.replay import _header, _shipped

    log = Audit.from_jsonl(path)
    seed, h_scenario, _, _, size = _header(path, log)
    g, world = _world_graph(scenario or _shipped(path, h_scenario, "scenarios", "--scenario"), seed, size)
    calls: dict[int, str] = {}
    for rec in log.records:
        if isinstance(rec, CallRecord):
            calls[rec.seq] = _call(g, world, rec)
            _settled(g, world, rec, calls[rec.seq])
        elif isinstance(rec, ApprovalRecord) and rec.call_seq in calls:
            cid = calls[rec.call_seq]
            g.mark(cid, granted=rec.granted, effect=rec.effect.value, approval="settled",
                   approval_wait_ticks=rec.wait_ticks)
            _settled(g, world, rec, cid)
        elif isinstance(rec, CredentialRecord):
            _credential(g, world, rec)
        elif isinstance(rec, MonitorRecord):
            for c in rec.revoked:
                nid = f"simenv:{g.domain}:credential:{c}"
                if nid in g.nodes:
                    g.mark(nid, revoked_by=rec.monitor)
    return g.to_json()


def _known(g: Graph, world: Any, name: str | None, kind: str) -> str | None:
    if name is None:
        return None
    index = world.ident_index if kind == "identity" else world.res_index
    return (g.ident_id(name) if kind == "identity" else g.res_id(name)) if name in index else None


def _call(g: Graph, world: Any, c: CallRecord) -> str:
    cid = g.node(f"simenv:{g.domain}:call:{c.seq}", ["SimenvCall"], name=f"{c.seq}: {c.tool}", seq=c.seq, tick=c.tick,
                 tool=str(c.tool), args=[f"{k}={v}" for k, v in sorted(c.args.items())], agent=c.agent,
                 actor=c.actor, ticket=c.ticket, decision=c.decision.value, effect=c.effect.value,
                 policy_ids=list(c.policy_ids), reasons=list(c.reasons), risk=c.risk, system=c.system,
                 target=c.resource, credential=c.credential, represents=c.represents, in_scope=c.in_scope,
                 in_intent=c.in_intent, approval=c.approval, flags=list(c.flags), justification=c.justification,
                 native=c.native)
    agent = _known(g, world, c.agent, "identity")
    if agent:
        g.edge("SimenvCalled", agent, cid, tick=c.tick)
    target = _known(g, world, c.resource, "resource")
    if target:
        g.edge("SimenvTargets", cid, target, risk=c.risk)
    if c.credential:
        cred = g.node(f"simenv:{g.domain}:credential:{c.credential}", ["SimenvCredential"], name=c.credential)
        g.edge("SimenvUsed", cid, cred)
    return cid


def _settled(g: Graph, world: Any, s: Settled, cid: str) -> None:
    """What a call (or its approval) did: the changes, the damage, the new privilege's reach."""
    seq = int(cid.rsplit(":", 1)[1])
    for ch in s.changes:
        rid = _known(g, world, ch.get("resource"), "resource")
        if rid is None:
            continue
        e = g.edge("SimenvChanged", cid, rid, tick=s.tick)
        e["properties"]["ops"] = sorted(set(e["properties"].get("ops", [])) | {str(ch.get("op"))})
        props = g.nodes[rid]["properties"]
        g.mark(rid, changed=True, changed_ticks=sorted(set(props.get("changed_ticks", [])) | {s.tick}))
        if ch.get("op") == "grant" and ch.get("identity") in world.ident_index:
            ix, rx = world.ident_index[ch["identity"]], world.res_index[ch["resource"]]
            if ch.get("present"):
                grant(g, world, ix, rx, added_tick=s.tick, added_by_call=seq)
            else:
                grant(g, world, ix, rx, removed_tick=s.tick, removed_by_call=seq)
    for name, entry in ((s.affected or {}).get("ids") or {}).items():
        rid = _known(g, world, name, "resource")
        if rid is None:
            continue
        weight = float(entry[2]) if isinstance(entry, list) and len(entry) > 2 else None
        g.edge("SimenvAffected", cid, rid, weight=weight)
        g.mark(rid, affected=True, affected_weight=weight)
    if s.affected_weight is not None:
        g.mark(cid, affected_weight=s.affected_weight)
    pot = s.potential or {}
    for name in (pot.get("ids") or {}):
        rid = _known(g, world, name, "resource")
        if rid is not None:
            g.mark(rid, reached=True)
    if pot:
        g.mark(cid, potential_weight=s.potential_weight, potential_systems=sorted(pot.get("systems") or []) or None)


def _credential(g: Graph, world: Any, c: CredentialRecord) -> None:
    nid = f"simenv:{g.domain}:credential:{c.credential}"
    if c.op.value == "issue":
        g.node(nid, ["SimenvCredential"], name=c.credential, cred_kind=c.cred_kind, source=c.source, cause=c.cause,
               issued_tick=c.tick, expires_at=c.expires_at, ticket=c.ticket, reach=c.reach,
               covers_systems=sorted((c.covers or {}).get("systems") or []) or None)
        holder = _known(g, world, c.holder, "identity")
        if holder:
            g.edge("SimenvIssuedTo", nid, holder, tick=c.tick)
        rep = _known(g, world, c.represents, "identity")
        if rep:
            g.edge("SimenvRepresents", nid, rep)
    elif nid in g.nodes:
        if c.op.value == "reach":
            g.mark(nid, reach=c.reach)
        else:
            g.mark(nid, ended=c.op.value, ended_tick=c.tick, ended_cause=c.cause or None)
