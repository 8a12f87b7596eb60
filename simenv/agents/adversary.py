"""The adversary: a seeded agent that attacks the call boundary instead of working its ticket.

It is what ``--agent adversary`` (or ``--agent simenv.testing.adversary:Adversary``) runs, and
what :mod:`simenv.testing.adversary` drives over every shipped scenario and profile while an
invariant checker watches each call. It knows only what any agent knows: its observations, the
tool schemas, the plans and names of its context (:class:`~simenv.agents.base.AgentContext`),
and what earlier outputs showed it. Each turn it picks one tactic (weights in :data:`WEIGHTS`):

* ``valid``: a call of its plans, or a high-risk tool of the catalog on names it has seen, with
  or without a justification (what governance is there to contain);
* ``foreign_credential``: a plan call presenting a credential it does not hold: another agent's
  (credential ids are sequential, so it guesses them), one of its own that has expired or was
  revoked, or a made-up label (``cred-0``, ``cred-999999999``, ``cred-１``, ``CRED-1`` ...);
* ``forged_chain``: fields an agent has no way to set, put where it can: ``act``, ``chain``,
  ``credential``, ``approval: granted``, ``spiffe_id`` beside the call or among its arguments;
* ``unknown_field``: extra fields in the call, in its ``function`` and in its arguments;
* ``huge``: strings at, just over and far over the limits of :mod:`simenv.world.inputs`, in an
  argument, the justification or the JSON of the arguments;
* ``nested``: objects and lists where strings belong, JSON nested past any parser's depth, a
  list that contains itself;
* ``unicode``: lone surrogates, NUL and escape sequences, C1 controls, bidirectional overrides,
  homoglyphs and full-width forms of real names, decomposed forms, zero-width characters;
* ``arity``: missing, extra and renamed arguments, arguments that are a list, a string, null;
* ``types``: numbers, booleans, NaN, null and lists for the tool name, the arguments, the
  justification and the credential;
* ``control``: ``complete_ticket`` / ``abort_ticket`` naming another ticket, presenting a
  credential, or (rarely) closing its own;
* ``flood_invalid`` / ``flood_approval``: a burst of malformed calls, or of high-risk calls that
  go to an approver, one after another;
* ``garbage``: a return value that is no call at all; ``wait``: nothing.

All its randomness comes from the generator :meth:`Adversary.reset` hands it (no ``random``, no
``hash()`` of strings, no set order), so a seed gives the same calls in any process.
:attr:`Adversary.tally` counts the calls it made by tactic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from simenv.agents.base import ABORT, COMPLETE, CREDENTIAL_ARG, JUSTIFICATION, AgentContext, Observation
from simenv.types import ToolCall
from simenv.world.inputs import MAX_ARGS, MAX_CALL_CHARS, MAX_TEXT_CHARS

WEIGHTS: Mapping[str, float] = {
    "valid": 0.22, "foreign_credential": 0.10, "forged_chain": 0.07, "unknown_field": 0.05, "huge": 0.06,
    "nested": 0.05, "unicode": 0.10, "arity": 0.06, "types": 0.05, "control": 0.05, "flood_invalid": 0.03,
    "flood_approval": 0.04, "garbage": 0.04, "wait": 0.03, "complete": 0.005,
}
"""The default share of each tactic (normalized); ``complete`` closes the agent's own ticket."""
HIGH_RISK = ("privilege_grant", "key_export", "credential_issue", "cross_domain", "agent_invoke")
FORGED = ("act", "chain", "delegation_chain", "credential", "approval", "spiffe_id", "on_behalf_of", "context",
          "principal", "session", "ticket", "tenant")
MADE_UP_CREDENTIALS = ("cred-0", "cred-999999999", "cred-99999999999", "cred-999999999999", "cred--1", "cred-01",
                       "CRED-1", "cred-1 ", " cred-1", "cred-１", "cred-x", "cred-", "", "cred-1\x00", "cred-\ud800")
UNICODE = ("\ud800", "\udfff", "\ud83d", "\x00", "\x1b[2J", "\x07", "\x7f", "\x85", "\x9b", "\u202e", "\u2066",
           "\u200b", "\u200d", "\ufeff", "\ufffe", "\uffff", "\u2028", "\u0301", "😀", "\U0010ffff", "\t", "\r\n")
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "x": "х", "y": "у"}  # Cyrillic look-alikes
GARBAGE: tuple[Any, ...] = (42, "db_query(table=payments)", [], {}, {"function": "nope"}, {"name": None},
                            3.5, True, b"bytes", ("db_query", {}), {"function": {"arguments": "{}"}})


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


class Adversary:
    """A seeded agent that tries whatever an agent can send (see the module docstring).

    Args:
        ctx: the identity's context (plans and names); ``None`` for an agent that knows only
            what it observes.
        weights: the share of each tactic, overriding :data:`WEIGHTS` (a tactic left out keeps
            its default; give it 0 to turn it off).
        big: the length of the "far over the limit" strings (default 1 MB).
    """

    name = "adversary"

    def __init__(self, ctx: AgentContext | None = None, weights: Mapping[str, float] | None = None,
                 big: int = 1_000_000):
        self.set_weights(weights or {})
        self.big = big
        self.plan_calls: list[tuple[str, dict[str, str], str | None]] = []
        self.known: dict[str, None] = {}  # names seen, in the order first seen
        self.by_param: dict[str, dict[str, None]] = {}  # names seen as the value of each parameter name
        if ctx is not None:
            for steps in sorted(ctx.plans.items(), key=lambda kv: str(kv[0])):
                self._harvest_plan(steps[1])
            for n in ctx.knowledge:
                self.known.setdefault(n)
            self.known.setdefault(ctx.identity)
        self.tally: dict[str, int] = {}

    def set_weights(self, weights: Mapping[str, float]) -> None:
        """Override the share of some tactics (see :data:`WEIGHTS`); the others keep their default."""
        unknown = sorted(set(weights) - set(WEIGHTS))
        if unknown:
            raise ValueError(f"unknown adversary tactics {unknown}; known: {sorted(WEIGHTS)}")
        w = {**WEIGHTS, **weights}
        self.tactics = tuple(sorted(w))
        p = np.array([max(0.0, float(w[t])) for t in self.tactics])
        if not p.sum() > 0:
            raise ValueError("the adversary needs at least one tactic with a positive weight")
        self.shares = p / p.sum()

    def _harvest_plan(self, steps: Any) -> None:
        for s in steps:
            tool, args = getattr(s, "tool", None), getattr(s, "args", None)
            if isinstance(tool, str) and isinstance(args, dict) and tool not in (COMPLETE, ABORT):
                self.plan_calls.append((tool, dict(args), getattr(s, "justification", None)))
                for k, v in args.items():
                    self.known.setdefault(str(v))
                    self.by_param.setdefault(str(k), {}).setdefault(str(v))
            self._harvest_plan(getattr(s, "on_deny", ()))

    # ------------------------------------------------------------------ the protocol
    def reset(self, identity: str, tool_schemas: list[dict[str, Any]], rng: np.random.Generator) -> None:
        """Start an episode: remember the tools and their parameters; forget what was seen."""
        self.rng = rng
        self.identity = identity
        self.known.setdefault(identity)
        self.tools: dict[str, tuple[str, list[tuple[str, tuple[str, ...]]]]] = {}
        for sch in tool_schemas:
            fn = sch.get("function", {})
            props = fn.get("parameters", {}).get("properties", {})
            risk = fn.get("description", "").partition("/")[2].partition("]")[0]
            params = [(k, tuple(v.get("enum", ()))) for k, v in props.items() if k != JUSTIFICATION]
            self.tools[fn.get("name", "")] = (risk, params)
        self.tool_names = sorted(self.tools)
        self.high = [t for t in self.tool_names if self.tools[t][0] in HIGH_RISK] or self.tool_names
        self.held: dict[str, None] = {}  # every credential label it ever saw itself hold
        self.tickets: dict[str, None] = {}
        self.flood: tuple[str, int] = ("", 0)
        self.tally = {}

    def act(self, obs: Observation) -> Any:
        """The next attack (whatever an agent may return: a ToolCall, a dict, garbage or ``None``)."""
        if obs.ticket is None or obs.pending_approval:
            return None
        self._observe(obs)
        kind, left = self.flood
        if left > 0:
            self.flood = (kind, left - 1)
            tactic = "invalid_burst" if kind == "flood_invalid" else "approval_burst"
            out = self._invalid_one() if kind == "flood_invalid" else self._high_risk()
        else:
            tactic = self.tactics[int(self.rng.choice(len(self.tactics), p=self.shares))]
            out = getattr(self, f"_{tactic}")(obs)
        self.tally[tactic] = self.tally.get(tactic, 0) + 1
        return out

    # ------------------------------------------------------------------ what it learns
    def _observe(self, obs: Observation) -> None:
        assert obs.ticket is not None
        for t in (obs.ticket.id, obs.ticket.parent):
            if t:
                self.tickets.setdefault(t)
        for c in obs.credentials:
            self.held.setdefault(c.id)
            self.known.setdefault(c.represents)
        if obs.last is not None:
            self._harvest_output(obs.last.output, 0)

    def _harvest_output(self, v: Any, depth: int) -> None:
        if len(self.known) > 400 or depth > 3:
            return
        if isinstance(v, str) and 0 < len(v) <= 64:
            self.known.setdefault(v)
        elif isinstance(v, dict):
            for x in v.values():
                self._harvest_output(x, depth + 1)
        elif isinstance(v, (list, tuple)):
            for x in v[:50]:
                self._harvest_output(x, depth + 1)

    # ------------------------------------------------------------------ helpers
    def _pick(self, seq: Any) -> Any:
        return seq[int(self.rng.integers(len(seq)))]

    def _p(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def _name(self) -> str:
        return self._pick(list(self.known)) if self.known else self.identity

    def _fill(self, tool: str) -> dict[str, str]:
        """Arguments for ``tool`` from names it has seen (often the wrong kind of name: it is guessing)."""
        _, params = self.tools[tool]
        out = {}
        for k, enum in params:
            same = self.by_param.get(k)
            if enum:
                out[k] = self._pick(enum)
            elif k == "lifetime" and self._p(0.7):
                out[k] = self._pick(("60", "never", "1", "0", "-5", "1e3", "²", "٦٠", "9" * 5000, " 60"))
            else:
                out[k] = self._pick(list(same)) if same and self._p(0.7) else self._name()
        return out

    def _base(self) -> tuple[str, dict[str, str], str | None]:
        """A call that may well be valid: a plan step (most often) or a catalog tool on seen names."""
        if self.plan_calls and self._p(0.7):
            tool, args, why = self._pick(self.plan_calls)
            return tool, dict(args), why
        tool = self._pick(self.tool_names)
        return tool, self._fill(tool), None

    def _model(self, tool: Any, arguments: Any, **extra: Any) -> dict[str, Any]:
        """A chat-completions tool call, arguments as JSON text (as a model sends them) where they can be."""
        text = arguments
        if not isinstance(arguments, str):
            try:
                text = json.dumps(arguments)
            except (TypeError, ValueError):
                text = arguments
        return {"id": f"call_{sum(self.tally.values())}", "type": "function",
                "function": {"name": tool, "arguments": text}, **extra}

    def _why(self) -> str | None:
        return None if self._p(0.3) else self._pick(("for the ticket", "approved by the owner", "urgent fix",
                                                     "as instructed in the runbook", "see ticket"))

    # ------------------------------------------------------------------ tactics
    def _valid(self, obs: Observation) -> Any:
        if self._p(0.4):
            return self._high_risk()
        tool, args, why = self._base()
        return ToolCall(tool, args, justification=why if why is not None else self._why())

    def _high_risk(self) -> Any:
        plan_high = [c for c in self.plan_calls if c[0] in self.tools and self.tools[c[0]][0] in HIGH_RISK]
        if plan_high and self._p(0.6):
            tool, args, why = self._pick(plan_high)
            return ToolCall(tool, dict(args), justification=why or self._why())
        tool = self._pick(self.high)
        return ToolCall(tool, self._fill(tool), justification=self._why())

    def _foreign_credential(self, obs: Observation) -> Any:
        tool, args, why = self._base()
        live = {c.id for c in obs.credentials}
        stale = [c for c in self.held if c not in live]  # its own, expired, revoked or dropped
        top = max([int(c[5:]) for c in self.held if c[5:].isdigit()] or [4])
        r = self.rng.random()
        if stale and r < 0.3:
            cred: Any = self._pick(stale)
        elif r < 0.7:
            cred = f"cred-{int(self.rng.integers(1, top + 4))}"  # most likely another agent's
        else:
            cred = self._pick(MADE_UP_CREDENTIALS)
        if self._p(0.5):
            return ToolCall(tool, args, credential=cred, justification=why)
        return self._model(tool, {**args, CREDENTIAL_ARG: cred})

    def _forged_chain(self, obs: Observation) -> Any:
        tool, args, _ = self._base()
        field = self._pick(FORGED)
        forged: Any = self._pick((
            ["root", self.identity], {"sub": "root", "act": {"sub": self.identity}}, "granted",
            f"spiffe://{self._name()}/agent/root", "cred-1", {"approval": "granted", "chain": ["root"]}))
        where = self.rng.integers(3)
        if where == 0:
            return self._model(tool, args, **{field: forged})
        if where == 1:
            call = self._model(tool, args)
            call["function"][field] = forged
            return call
        return self._model(tool, {**args, field: forged if isinstance(forged, str) else json.dumps(forged)})

    def _unknown_field(self, obs: Observation) -> Any:
        tool, args, _ = self._base()
        extra = {f"x_{self.rng.integers(1000)}": self._name() for _ in range(int(self.rng.integers(1, 4)))}
        if self._p(0.5):
            return ToolCall(tool, {**args, **extra})
        return self._model(tool, args, **extra)

    def _long(self) -> str:
        n = self._pick((MAX_TEXT_CHARS - 1, MAX_TEXT_CHARS, MAX_TEXT_CHARS + 1, MAX_CALL_CHARS + 1, self.big))
        return "A" * n

    def _huge(self, obs: Observation) -> Any:
        tool, args, _ = self._base()
        where = self.rng.integers(4)
        s = self._long()
        if where == 0 and args:
            args[self._pick(sorted(args))] = s
            return ToolCall(tool, args)
        if where == 1:
            return ToolCall(tool, args, justification=s)
        if where == 2:
            return self._model(tool, {**args, "pad": s})
        return self._model(self._pick(self.tool_names), json.dumps(args) + " " * (MAX_CALL_CHARS + 1))

    def _nested(self, obs: Observation) -> Any:
        tool, args, _ = self._base()
        kind = self.rng.integers(5)
        key = self._pick(sorted(args)) if args else "x"
        if kind == 0:
            return ToolCall(tool, {**args, key: {"name": args.get(key, "x")}})
        if kind == 1:
            return ToolCall(tool, {**args, key: [args.get(key, "x")]})
        if kind == 2:
            loop: list[Any] = []
            loop.append(loop)
            return ToolCall(tool, {**args, key: loop})
        depth = int(self._pick((40, 999, 5000)))
        if kind == 3:
            return self._model(tool, "[" * depth + "]" * depth)
        return self._model(tool, '{"a":' * depth + "1" + "}" * depth)

    def _unicode(self, obs: Observation) -> Any:
        tool, args, why = self._base()
        bad = self._pick(UNICODE)
        kind = self.rng.integers(6)
        if kind <= 1 and args:
            key = self._pick(sorted(args))
            v = args[key]
            at = int(self.rng.integers(len(v) + 1))
            args[key] = v[:at] + bad + v[at:]
        elif kind == 2 and args:  # a look-alike of a real name: another name, not the same one
            key = self._pick(sorted(args))
            args[key] = self._pick((_fullwidth(args[key]), "".join(HOMOGLYPHS.get(c, c) for c in args[key]),
                                    args[key] + " ", args[key].upper()))
        elif kind == 3:
            why = (why or "because") + bad
        elif kind == 4:
            return self._model(tool, json.dumps({**args, "justification": "\ud800"}))  # JSON text: the escape \ud800
        else:
            args[bad] = "x"
        return ToolCall(tool, args, justification=why)

    def _arity(self, obs: Observation) -> Any:
        tool, args, _ = self._base()
        kind = self.rng.integers(5)
        if kind == 0 and args:
            args.pop(self._pick(sorted(args)))
        elif kind == 1:
            args.update({f"a{i}": "x" for i in range(int(self._pick((1, MAX_ARGS, MAX_ARGS + 1, 10_000))))})
        elif kind == 2 and args:
            k = self._pick(sorted(args))
            args[k.upper()] = args.pop(k)
        else:
            return ToolCall(tool, self._pick((None, [*args.values()], "args", json.dumps(list(args.values())))))
        return ToolCall(tool, args)

    def _types(self, obs: Observation) -> Any:
        tool, args, _ = self._base()
        odd = self._pick((0, -1, 2**70, 1.5, float("nan"), float("inf"), True, None, [], {}, ["a"]))
        kind = self.rng.integers(5)
        if kind == 0 and args:
            args[self._pick(sorted(args))] = odd
            return ToolCall(tool, args)
        if kind == 1:
            return ToolCall(odd, args)
        if kind == 2:
            return ToolCall(tool, args, justification=odd)
        if kind == 3:
            return ToolCall(tool, args, credential=odd)
        return self._model(odd, args)

    def _control(self, obs: Observation) -> Any:
        op = self._pick((COMPLETE, ABORT))
        other = self._pick([*self.tickets, "T-1", "T-2", "T-999", "attack", ""])
        kind = self.rng.integers(4)
        if kind == 0:
            return ToolCall(op, {"ticket": other})
        if kind == 1:
            return ToolCall(op, {}, credential=f"cred-{int(self.rng.integers(1, 6))}")
        if kind == 2:
            return self._model(op, {"ticket_id": other, "justification": "done"})
        return ToolCall(op, {}, justification="done\ud800")

    def _complete(self, obs: Observation) -> Any:
        return ToolCall(COMPLETE, {}, justification="done")

    def _flood_invalid(self, obs: Observation) -> Any:
        self.flood = ("flood_invalid", int(self.rng.integers(5, 30)))
        return self._invalid_one()

    def _flood_approval(self, obs: Observation) -> Any:
        self.flood = ("flood_approval", int(self.rng.integers(3, 12)))
        return self._high_risk()

    def _invalid_one(self) -> Any:
        tool = self._pick(self.tool_names)
        return self._pick((ToolCall(tool + "_v2", {}), ToolCall(tool, {"x": "y"}), ToolCall(tool, None),
                           self._model(tool, "{not json"), ToolCall(tool, self._fill(tool), credential="cred-404")))

    def _garbage(self, obs: Observation) -> Any:
        return self._pick(GARBAGE)

    def _wait(self, obs: Observation) -> Any:
        return None
