"""The tool reference for scenario authors: each tool's spec, arguments and what it changes, as data, text or markdown.

Everything here is read from the :class:`~simenv.world.tools.ToolSpec` objects of
:data:`simenv.world.actions.TOOLS` (their ``changes`` line included), in that order.
``simenv tools`` prints it; ``docs/tools.md`` is :func:`markdown` of the whole catalog, and a
test checks that the committed file equals it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from simenv.errors import SimenvError
from simenv.world.actions import TOOLS
from simenv.world.catalog import CATALOG
from simenv.world.tools import ESCALATIONS, IDENTITY, LIFETIME, TEXT, Param, ToolSpec

REGENERATE = "simenv tools --markdown > docs/tools.md"
"""The command that writes ``docs/tools.md``."""


def lookup(name: str) -> ToolSpec:
    """The tool named ``name``; raise :class:`SimenvError` with a "did you mean" suggestion if there is none."""
    spec = CATALOG.get(name)
    if spec is not None:
        return spec
    close = difflib.get_close_matches(name, sorted(CATALOG), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"run simenv tools to list all {len(CATALOG)}"
    raise SimenvError(f"unknown tool {name!r}; {hint}")


def param_kind(spec: ToolSpec, p: Param) -> dict[str, Any]:
    """What argument ``p`` of ``spec`` takes, as JSON: its ``kind`` and, for a resource, the type and system."""
    if p.kind == IDENTITY:
        return {"kind": "identity"}
    if p.kind == TEXT:
        return {"kind": "text", "enum": list(p.enum)} if p.enum else {"kind": "text"}
    if p.kind == LIFETIME:
        return {"kind": "lifetime"}
    return {"kind": "resource", "type": p.kind, "system": str(spec.system)}


def param_text(spec: ToolSpec, p: Param) -> str:
    """What argument ``p`` of ``spec`` takes, in words: ``an identity``, ``one of on, off``, ``an idp group``."""
    if p.kind == IDENTITY:
        return "an identity ($self in a plan: the acting agent)"
    if p.kind == TEXT:
        return f"text, one of {', '.join(p.enum)}" if p.enum else "text"
    if p.kind == LIFETIME:
        return "a lifetime: ticks (a positive integer) or never"
    noun = f"{spec.system} {p.kind}"
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def tool_doc(spec: ToolSpec) -> dict[str, Any]:
    """One tool as a JSON object: name, system, risk, reversible, escalates (null if none), description, args, changes."""
    return {
        "name": spec.name, "system": str(spec.system), "risk": str(spec.risk), "reversible": spec.reversible,
        "escalates": spec.escalates or None, "description": spec.description,
        "args": [{"name": p.name, **param_kind(spec, p)} for p in spec.params], "changes": spec.changes,
    }


def tool_docs(specs: Iterable[ToolSpec] = TOOLS) -> list[dict[str, Any]]:
    """:func:`tool_doc` of each tool, in catalog order."""
    return [tool_doc(s) for s in specs]


def text(spec: ToolSpec, detail: bool = False) -> str:
    """A few readable lines about one tool; ``detail`` adds what its escalation kind means."""
    esc = f", escalates: {spec.escalates}" if spec.escalates else ""
    if detail and spec.escalates:
        esc += f" ({ESCALATIONS[spec.escalates]})"
    args = "; ".join(f"{p.name}: {param_text(spec, p)}" for p in spec.params)
    return "\n".join([f"{spec.name}  [{spec.system}/{spec.risk}] {'reversible' if spec.reversible else 'irreversible'}{esc}",
                      f"    {spec.description}", f"    args     {args}", f"    changes  {spec.changes}"])


def _cell(s: str) -> str:
    return s.replace("|", "\\|")


def markdown(specs: Iterable[ToolSpec] = TOOLS) -> str:
    """The reference table in markdown, one section per system (what ``docs/tools.md`` holds for every tool)."""
    specs = list(specs)
    out = [
        "# Tool reference",
        "",
        f"<!-- Generated from simenv/world/actions.py by `{REGENERATE}`; edit the tools, not this file. -->",
        "",
        "Every tool an agent can call, as scenario authors write it in plan and intent steps (`simenv tools NAME`",
        "shows one, `simenv tools --json` gives them all as data). A model sees each tool as an OpenAI function",
        "spec: its description and arguments, plus an optional `justification` every tool takes. A resource",
        "argument names a resource of that type on the tool's own system; every agent is also an `idp` resource",
        "of type `agent`, the target of `invoke_agent`.",
        "",
        "Escalation kinds (the edges potential blast radius follows):",
        "",
        "| escalates | meaning |",
        "| --- | --- |",
        *(f"| `{k}` | {_cell(v)} |" for k, v in ESCALATIONS.items()),
    ]
    for system in dict.fromkeys(s.system for s in specs):
        out += ["", f"## {system}", "",
                "| tool | description | arguments | risk | reversible | escalates | changes |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for s in (x for x in specs if x.system is system):
            args = "<br>".join(f"`{p.name}`: {param_text(s, p)}" for p in s.params)
            out.append(f"| `{s.name}` | {_cell(s.description)} | {_cell(args)} | {s.risk} | "
                       f"{'yes' if s.reversible else 'no'} | {s.escalates or '–'} | {_cell(s.changes)} |")
    return "\n".join(out) + "\n"
