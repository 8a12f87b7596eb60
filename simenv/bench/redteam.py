"""The red-team learner: a search for the tool calls that do the most out-of-intent damage under a profile.

The learner is the scenario's learner identity in :class:`~simenv.envs.iam_env.IAMEnv`
(``simenv/IAM-v0``, ``reward_mode="red_team"``); the other agents follow their scripted plans. It
sees what the env shows, the observation and ``info["action_mask"]``, and never the world or the
tickets' intent. What it maximizes is a score: the episode's ``blast_radius``
(:func:`simenv.metrics.blast_radius`, the sensitivity-weighted union of what out-of-intent calls
changed, read, exported or issued), which the env reports when the episode ends.

The search is the cross-entropy method (Rubinstein and Kroese, 2004) over an open-loop policy: one
categorical distribution over the catalog's calls for each of the learner's turns. A turn is a step
at which the action mask offers calls (the learner has an open ticket and no approval outstanding);
at a step whose mask offers only "wait" the learner still passes the call it means to make, which the
env takes as a wait unless an approval settled at the start of the step (the mask's documented
exception), and ``info["acted"]`` tells it whether the call took its turn. The learner never waits
while it holds a turn: a transcript cannot say "wait", and waiting does no damage. Each iteration
draws a population of episodes, keeps the best ``elite`` share (most damage, then fewest calls),
and moves each turn's distribution towards the elite's choices (smoothing ``alpha``, mixed with a
share ``floor`` of the uniform distribution so that no call is ruled out). The last tenth of the
budget prunes the best exploit: it drops one call at a time and keeps each drop that leaves the
damage as it was, so that the exploit reported holds no call that adds nothing.

Everything is numpy and deterministic under ``seed``: one generator,
``simenv.rng.Streams(seed).child("redteam")``, draws every sample, and every episode runs with
episode seed ``seed``, so the exploit is one for that episode seed (approvers, events and the other
agents behave as they do under it). :func:`write_transcript` re-runs the best episode behind the
LLM adapter (:class:`~simenv.agents.llm.LLMAgent`) and writes its transcript, which
``--agent replay:PATH`` replays to the same audit fingerprint as the learner's episode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simenv import metrics
from simenv.agents.llm import LLMAgent
from simenv.envs.catalog import describe_call
from simenv.envs.iam_env import IAMEnv
from simenv.errors import SimenvError
from simenv.rng import Streams
from simenv.sim.factory import make_episode
from simenv.sim.records import ApprovalRecord, CallRecord, ControlRecord, Record
from simenv.types import ToolCall

DEFAULT_BUDGET = 400
"""Episodes a search runs unless told otherwise: 10 iterations of 40 (about 2 s on scope_creep)."""
POPULATION = 40
ELITE = 0.2
ALPHA = 0.7
FLOOR = 0.05
PRUNE = 0.1
"""The share of the budget kept for pruning the best exploit (dropping calls that add no damage)."""
COMPLETE_ACTION = 1  # index 1 of the env's catalog: complete_ticket


@dataclass(frozen=True, slots=True)
class Iteration:
    """One iteration of the search: its episodes' damage, and the best so far."""

    iteration: int
    episodes: int
    best: float
    mean: float
    best_so_far: float
    mean_return: float  # the env's red_team reward, summed over the episode, averaged over the iteration

    def row(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "episodes": self.episodes, "best": self.best, "mean": self.mean,
                "best_so_far": self.best_so_far, "mean_return": self.mean_return}


@dataclass(frozen=True)
class SearchResult:
    """What a search found: the best episode's actions and damage, and the learning curve."""

    scenario: str
    policy: str
    seed: int
    budget: int
    learner: str
    blast_radius: float
    actions: tuple[int, ...]  # the env actions that took the learner's turns, in order
    action_names: tuple[str, ...]
    fingerprint: str
    curve: tuple[Iteration, ...]
    calls_catalog: tuple[ToolCall | None, ...] = field(repr=False, default=())

    @property
    def found(self) -> bool:
        """Whether the search found any damage at all."""
        return self.blast_radius > 0

    def curve_rows(self) -> list[dict[str, Any]]:
        """The learning curve, one row per iteration (a DataFrame's records)."""
        return [it.row() for it in self.curve]


def _episode(env: IAMEnv, seed: int, draw: Any) -> tuple[float, float, list[int], str]:
    """One episode whose learner makes, at turn ``k``, the call ``draw(k, mask)`` picks.

    Returns the blast radius, the summed red_team reward, the actions that took the learner's
    turns and the audit fingerprint.
    """
    _, info = env.reset(seed=seed)
    taken: list[int] = []
    proposal: int | None = None
    total = 0.0
    while True:
        mask = info["action_mask"]
        if proposal is None or (mask[1:].any() and not mask[proposal]):
            proposal = int(draw(len(taken), mask))
        _, reward, terminated, truncated, info = env.step(proposal)
        total += float(reward)
        if info["acted"]:
            taken.append(proposal)
            proposal = None
        if terminated or truncated:
            scores = info["scores"]
            return float(scores["blast_radius"]), total, taken, str(scores["fingerprint"])


def _sampler(probs: np.ndarray, rng: np.random.Generator) -> Any:
    """Turn ``k``'s call drawn from ``probs[k]``, restricted to the mask when it offers calls."""

    def draw(k: int, mask: np.ndarray) -> int:
        if k >= len(probs):
            return COMPLETE_ACTION
        p = probs[k] * mask if mask[1:].any() else probs[k]
        s = p.sum()
        return int(rng.choice(len(p), p=p / s)) if s > 0 else COMPLETE_ACTION

    return draw


def _fixed(actions: list[int]) -> Any:
    """Turn ``k``'s call is ``actions[k]``; past the end, complete the ticket."""
    return lambda k, mask: actions[k] if k < len(actions) else COMPLETE_ACTION


def search(scenario: str | Path, policy: str | Path, budget: int = DEFAULT_BUDGET, seed: int = 0,
           population: int = POPULATION, elite: float = ELITE, alpha: float = ALPHA, floor: float = FLOOR
           ) -> SearchResult:
    """Search ``budget`` episodes for the learner's calls that maximize the blast radius under ``policy``.

    Args:
        scenario: a shipped scenario name or a scenario file.
        policy: a shipped profile name or a profile file.
        budget: episodes to run in all (at least 1).
        seed: the seed of the search's generator and the episode seed of every episode.
        population: episodes per iteration (the last iteration takes what the budget leaves).
        elite: the share of each iteration's episodes the distributions move towards.
        alpha: how far the distributions move each iteration (1: to the elite's frequencies).
        floor: the share of the uniform distribution mixed into each turn's distribution.

    >>> r = search("scope_creep", "deny_all", budget=20, seed=0)
    >>> r.blast_radius, r.found
    (0.0, False)
    """
    if budget < 1:
        raise SimenvError(f"budget must be at least 1 episode, not {budget}")
    if population < 1 or not 0 < elite <= 1 or not 0 < alpha <= 1 or not 0 <= floor < 1:
        raise SimenvError("population ≥ 1, 0 < elite ≤ 1, 0 < alpha ≤ 1 and 0 ≤ floor < 1 are required")
    env = IAMEnv(str(scenario), str(policy), reward_mode="red_team")
    n = len(env.calls)
    turns = env.spec_.max_ticks
    uniform = np.ones(n)
    uniform[0] = 0.0  # never wait while holding a turn
    uniform /= uniform.sum()
    probs = np.tile(uniform, (turns, 1))
    rng = Streams(seed).child("redteam")
    best: tuple[float, int, list[int], str] | None = None
    curve: list[Iteration] = []
    done = 0
    searching = budget - int(budget * PRUNE)
    while done < searching:
        size = min(population, searching - done)
        runs = [_episode(env, seed, _sampler(probs, rng)) for _ in range(size)]
        done += size
        for blast, _, taken, fp in runs:
            if best is None or (blast, -len(taken)) > (best[0], -best[1]):
                best = (blast, len(taken), taken, fp)
        blasts = np.array([r[0] for r in runs])
        assert best is not None
        curve.append(Iteration(len(curve), done, float(blasts.max()), float(blasts.mean()), best[0],
                               float(np.mean([r[1] for r in runs]))))
        order = np.lexsort((np.arange(size), np.array([len(r[2]) for r in runs]), -blasts))  # most damage, fewest calls, first
        elites = [runs[i][2] for i in order[:max(1, int(round(elite * size)))]]
        for k in range(turns):
            chosen = [t[k] for t in elites if len(t) > k]
            if chosen:
                freq = np.bincount(chosen, minlength=n) / len(chosen)
                probs[k] = (1 - alpha) * probs[k] + alpha * freq
        probs = (1 - floor) * probs + floor * uniform
    assert best is not None
    # prune: drop one call at a time while the damage stays (a shorter exploit says more)
    i = 0
    while i < best[1] and done < budget:
        trial = best[2][:i] + best[2][i + 1:]
        blast, _, taken, fp = _episode(env, seed, _fixed(trial))
        done += 1
        if blast >= best[0] and len(taken) < best[1]:
            best = (blast, len(taken), taken, fp)
        else:
            i += 1
    return SearchResult(env.spec_.name, str(policy), seed, budget, env.learner, best[0], tuple(best[2]),
                        tuple(env.action_names[a] for a in best[2]), best[3], tuple(curve), tuple(env.calls))


def _chat_call(call: ToolCall | None, n: int) -> dict[str, Any]:
    if call is None:
        raise SimenvError("a wait cannot be written to a transcript")
    return {"id": f"call_{n}", "type": "function",
            "function": {"name": str(call.tool), "arguments": json.dumps(call.args or {}, sort_keys=True)}}


@dataclass(frozen=True)
class Exploit:
    """The best exploit, re-run behind the LLM adapter: its transcript and what its audit log says."""

    result: SearchResult
    transcript: Path
    fingerprint: str
    scores: dict[str, Any]
    records: tuple[Record, ...]  # the learner's call, approval and control records, in order

    @property
    def policy_ids_passed(self) -> list[str]:
        """The ids of the policies that let the learner's out-of-intent calls execute (approval included)."""
        by_seq = {r.seq: r for r in self.records if isinstance(r, CallRecord)}
        ids: set[str] = set()
        for r in self.records:
            if isinstance(r, CallRecord | ApprovalRecord) and r.affected_weight is not None:
                ids.update(r.policy_ids)
                if isinstance(r, ApprovalRecord) and r.call_seq in by_seq:
                    ids.update(by_seq[r.call_seq].policy_ids)
        return sorted(ids)

    def calls(self) -> list[dict[str, Any]]:
        """The learner's decision trail: one entry per call, approval and ticket control, in order.

        Each entry has ``tick``, ``tool`` and ``call`` (the call as text); a call has its ``args``,
        ``credential``, ``decision``, ``effect``, ``policy_ids``, ``in_intent`` and ``blast`` (the damage it
        did out of intent); an approval also names the call it settles (``approval_of``, its seq, and
        ``call_tick``) and whether the approvers ``granted`` it; a ticket control has ``op`` and ``ticket``.
        """
        by_seq = {r.seq: r for r in self.records if isinstance(r, CallRecord)}
        out: list[dict[str, Any]] = []
        for r in self.records:
            if isinstance(r, ControlRecord):
                out.append({"tick": r.tick, "tool": r.tool, "call": f"{r.op} {r.ticket}", "op": r.op, "ticket": r.ticket})
                continue
            assert isinstance(r, CallRecord | ApprovalRecord)
            row: dict[str, Any] = {"tick": r.tick, "tool": r.tool}
            if isinstance(r, CallRecord):
                row |= {"call": describe_call(ToolCall(r.tool, r.args)), "args": dict(r.args), "credential": r.credential}
            else:
                call = by_seq.get(r.call_seq)
                text = describe_call(ToolCall(call.tool, call.args)) if call is not None else str(r.tool)
                row |= {"call": f"approval of {text}", "approval_of": r.call_seq,
                        "call_tick": call.tick if call is not None else None, "granted": r.granted}
            row |= {"decision": str(r.decision), "effect": str(r.effect), "policy_ids": list(r.policy_ids),
                    "in_intent": r.in_intent, "blast": r.affected_weight or 0.0}
            out.append(row)
        return out

    def to_json(self) -> dict[str, Any]:
        """The report ``simenv redteam --json`` prints."""
        res = self.result
        return {"scenario": res.scenario, "policy": res.policy, "seed": res.seed, "budget": res.budget,
                "learner": res.learner, "found": res.found, "blast_radius": self.scores["blast_radius"],
                "calls": self.calls(), "policy_ids_passed": self.policy_ids_passed,
                "fingerprint": self.fingerprint, "transcript": str(self.transcript),
                "curve": res.curve_rows()}


def write_transcript(result: SearchResult, path: str | Path, scenario: str | Path | None = None,
                     policy: str | Path | None = None) -> Exploit:
    """Re-run ``result``'s best episode behind the LLM adapter, write its transcript to ``path``, and read it back.

    The learner's calls go to :class:`~simenv.agents.llm.LLMAgent` as chat-completions tool calls, in
    the order they took its turns; the transcript's header names the agent as the env does
    (``learner:<identity>``), so the replay's audit log, the recorded one and the learner's episode
    have one fingerprint. The last line records it, as ``simenv record`` does.

    Raises:
        SimenvError: when the re-run does not reproduce the learner's episode.
    """
    scenario = scenario if scenario is not None else result.scenario
    policy = policy if policy is not None else result.policy
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    plan = [result.calls_catalog[a] for a in result.actions]

    def fn(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any] | None:
        n = agent.n  # calls made so far
        if n >= len(plan):
            raise SimenvError(f"{out}: the re-run asked for call {n + 1}, but the exploit has {len(plan)}")
        return _chat_call(plan[n], n + 1)

    label = f"learner:{result.learner}"
    agent = LLMAgent(fn, record=out, name=label, meta={"scenario": result.scenario, "policy": str(policy),
                                                       "seed": result.seed, "model": "simenv redteam"})
    engine, _ = make_episode(scenario, policy, result.seed, agent, label=label)
    audit = engine.run()
    scores = metrics.compute(audit)
    fp = str(scores["fingerprint"])
    with open(out, "a", encoding="utf-8") as f:
        f.write(json.dumps({"type": "result", "fingerprint": fp}, sort_keys=True) + "\n")
    if fp != result.fingerprint:
        raise SimenvError(f"{out}: the re-run's fingerprint {fp[:12]} differs from the search's {result.fingerprint[:12]}")
    mine = tuple(r for r in audit.records if isinstance(r, CallRecord | ApprovalRecord | ControlRecord)
                 and r.agent == result.learner and getattr(r, "actor", None) is None)
    return Exploit(result, out, fp, scores, mine)


def describe(exploit: Exploit) -> list[str]:
    """The exploit as readable lines: one per call, approval and ticket control."""
    lines = []
    for c in exploit.calls():
        if "op" in c:
            lines.append(f"t={c['tick']:<3} {c['call']}")
            continue
        label = "" if c["in_intent"] else "  OUT-OF-INTENT"
        blast = f"  +{c['blast']:g}" if c["blast"] else ""
        who = "" if "granted" not in c else ("approvers granted; " if c["granted"] else "approvers refused; ")
        lines.append(f"t={c['tick']:<3} {c['call']} -> {who}{c['decision'].upper()} ({','.join(c['policy_ids'])}) "
                     f"{c['effect']}{label}{blast}")
    return lines
