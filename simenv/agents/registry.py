"""Agents by name: what ``--agent NAME`` and ``run_episode(agent=NAME)`` accept.

Names: ``scripted``, ``oracle``, ``null``, ``adversary`` (:mod:`simenv.agents.adversary`), ``llm_stub`` and
``llm_stub:<preset>``; ``replay:PATH`` replays a recorded transcript; ``package.module:Class`` is an
outside agent class, built as
``Class(ctx)`` (or ``Class()`` if it takes no argument) for each agent identity, with ``ctx`` the
:class:`~simenv.agents.base.AgentContext` of that identity. ``simenv.testing.check_agent``
checks an outside agent against the protocol.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from simenv.agents.adversary import Adversary
from simenv.agents.base import Agent, AgentContext, NullAgent
from simenv.agents.llm_stub import PRESETS, LLMStubAgent
from simenv.agents.scripted import ScriptedAgent
from simenv.errors import UnknownNameError
from simenv.files import suggest

Factory = Callable[[AgentContext], Agent]


def _stub(preset: str) -> Factory:
    return lambda ctx: LLMStubAgent(ctx, PRESETS[preset](), preset)


def _doc(fn: Callable) -> str:
    return " ".join((fn.__doc__ or "").split())


AGENTS: Mapping[str, tuple[Factory, str]] = MappingProxyType({
    "scripted": (lambda ctx: ScriptedAgent(ctx.plans, "scripted"), "follows the plan written in the scenario file"),
    "oracle": (lambda ctx: ScriptedAgent(ctx.oracle, "oracle"), "takes exactly the ticket's intended actions"),
    "null": (lambda ctx: NullAgent(), "does nothing"),
    "adversary": (lambda ctx: Adversary(ctx), "attacks the call boundary: credentials it does not hold, forged chains, "
                  "unknown fields, huge, nested and unicode arguments, floods (simenv.testing.adversary)"),
    "llm_stub": (_stub("default"), "LLM-stub with the default preset"),
    **{f"llm_stub:{p}": (_stub(p), f"LLM-stub, preset {p}: {_doc(fn)}") for p, fn in PRESETS.items()},
})
"""Every named agent: its factory and a one-line description."""
REPLAY = "replay:"
DEFAULT = "scripted"
"""The agent ``run``, ``run_episode``, ``bench``, ``run_matrix`` and ``regress`` use when none is named: the plans
written in the scenario file. ``llm_stub`` is the seeded behaviour model of a tool-calling model agent."""


def _outside(ref: str) -> Factory:
    """The factory of an outside agent class ``package.module:Class``."""
    mod_name, _, attr = ref.partition(":")
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as e:
        raise UnknownNameError(f"agent {ref!r}: cannot import {mod_name!r} ({e})") from None
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise UnknownNameError(f"agent {ref!r}: module {mod_name!r} has no {attr!r}")
    if not callable(obj):
        raise UnknownNameError(f"agent {ref!r} is not a class")
    try:
        takes_ctx = bool(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        takes_ctx = True
    return (lambda ctx: obj(ctx)) if takes_ctx else (lambda ctx: obj())


def factory(name: str) -> Factory:
    """The factory of agent ``name`` (see the module docstring); an :class:`UnknownNameError` says what is known."""
    if name.startswith(REPLAY):
        from simenv.agents.llm import replay_agent

        path = name[len(REPLAY):]
        if not Path(path).is_file():
            raise UnknownNameError(f"agent {name!r}: no transcript file {path!r}; record one with simenv record")
        return lambda ctx: replay_agent(path, ctx)
    if name in AGENTS:
        return AGENTS[name][0]
    if ":" in name and not name.startswith("llm_stub:"):
        return _outside(name)
    raise UnknownNameError(f"unknown agent {name!r}{suggest(name, AGENTS)} (known: {', '.join(sorted(AGENTS))}, "
                           "replay:PATH, or an outside class as package.module:Class)")


def is_known(name: str) -> bool:
    """Whether ``name`` names an agent that can be built (a registered name, a replay, an importable class)."""
    try:
        factory(name)
    except UnknownNameError:
        return False
    return True


def make_agent(name: str, ctx: AgentContext) -> Agent:
    """A fresh agent called ``name`` for the identity in ``ctx``."""
    return factory(name)(ctx)


def list_agents() -> list[dict[str, str]]:
    """Every registered agent name with a one-line description."""
    return [{"name": n, "description": d} for n, (_, d) in sorted(AGENTS.items())]
