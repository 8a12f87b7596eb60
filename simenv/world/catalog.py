"""The tool catalog: every tool of :data:`simenv.world.actions.TOOLS` by name, its schemas, and call resolution."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from simenv.errors import ToolCallError
from simenv.frozen import fast_init
from simenv.world.actions import TOOLS
from simenv.world.inputs import quote, safe_key
from simenv.world.model import Resource
from simenv.world.state import World
from simenv.world.tools import IDENTITY, LIFETIME, NEVER, TEXT, ToolSpec

CATALOG: MappingProxyType[str, ToolSpec] = MappingProxyType({t.name: t for t in TOOLS})
"""Every tool, by name (read-only)."""
TOOL_NAMES: tuple[str, ...] = tuple(sorted(CATALOG))


def tool_schemas(names: list[str] | None = None) -> list[dict[str, Any]]:
    """OpenAI-style function specs for the catalog (or the named tools), in name order."""
    return [CATALOG[n].schema() for n in sorted(names or CATALOG)]


def parse_lifetime(v: str) -> int | None:
    """``"never"`` → :data:`NEVER`; ``"60"`` → 60 (ASCII digits only); anything else → ``None``.

    >>> parse_lifetime("60"), parse_lifetime("never"), parse_lifetime("²"), parse_lifetime("٦٠"), parse_lifetime("9" * 5000)
    (60, 1000000000, None, None, None)
    """
    if v == "never":
        return NEVER
    return int(v) if len(v) <= _LIFETIME_DIGITS and v.isascii() and v.isdigit() and 0 < int(v) < NEVER else None


_LIFETIME_DIGITS = len(str(NEVER))


@fast_init
@dataclass(frozen=True, slots=True)
class ResolvedCall:
    """A validated call: its spec, arguments resolved to indices, and its target resource."""

    spec: ToolSpec
    args: dict[str, Any]
    names: dict[str, str]
    target: Resource


def resolve(world: World, tool_name: Any, args: Any, self_name: str) -> ResolvedCall:
    """Validate a raw call against the catalog and the world; raise ToolCallError if malformed.

    The call's envelope (sizes, valid text) is checked before, by :func:`simenv.world.inputs.check_call`;
    this checks the tool, the arity, each argument's type and what it names.
    """
    if not isinstance(tool_name, str) or tool_name not in CATALOG:
        raise ToolCallError(f"unknown tool {quote(tool_name)}")
    spec = CATALOG[tool_name]
    if not isinstance(args, dict):
        raise ToolCallError(f"{tool_name}: arguments must be an object, not {type(args).__name__}")
    if len(args) > len(spec.params):  # else an unknown argument comes with a missing one (checked there)
        _no_extra(spec, args)
    out: dict[str, Any] = {}
    names: dict[str, str] = {}
    for p in spec.params:
        if p.name not in args:
            _no_extra(spec, args)
            raise ToolCallError(f"{tool_name}: missing argument {p.name!r}")
        v = args[p.name]
        if not isinstance(v, str):
            raise ToolCallError(f"{tool_name}.{p.name}: expected a string, got {type(v).__name__}")
        if p.kind == IDENTITY:
            v = self_name if v == "$self" else v
            if v not in world.ident_index:
                raise ToolCallError(f"{tool_name}.{p.name}: unknown identity {quote(v)}")
            out[p.name] = world.ident_index[v]
        elif p.kind == TEXT:
            if p.enum and v not in p.enum:
                raise ToolCallError(f"{tool_name}.{p.name}: {quote(v)} is not one of {list(p.enum)}")
            out[p.name] = v
        elif p.kind == LIFETIME:
            out[p.name] = parse_lifetime(v)
            if out[p.name] is None:
                raise ToolCallError(f"{tool_name}.{p.name}: {quote(v)} is not a lifetime; give ticks (a positive integer) "
                                    "or never")
        else:
            idx = world.res_index.get(v)
            if idx is None:
                raise ToolCallError(f"{tool_name}.{p.name}: unknown {p.kind} {quote(v)}")
            res = world.resources[idx]
            if res.type.value != p.kind or res.system is not spec.system:
                raise ToolCallError(f"{tool_name}.{p.name}: {v!r} is a {res.system} {res.type}, not a {spec.system} {p.kind}")
            out[p.name] = idx
        names[p.name] = v
    return ResolvedCall(spec, out, names, world.resources[out[spec.target.name]])


def _no_extra(spec: ToolSpec, args: dict[Any, Any]) -> None:
    """Raise if ``args`` names an argument ``spec`` does not take (the first few named)."""
    params = {p.name for p in spec.params}
    extra = sorted(safe_key(k) for k in args if k not in params)
    if extra:
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        raise ToolCallError(f"{spec.name}: unknown argument(s) {extra[:5]}{more}")
