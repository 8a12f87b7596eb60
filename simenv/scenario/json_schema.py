"""JSON Schemas of the files users write, generated from the pydantic models.

``simenv schema scenario`` prints :func:`scenario_schema`; its output is committed as
``scenarios/scenario.schema.json`` so that editors validate a scenario while it is typed
(``# yaml-language-server: $schema=./scenario.schema.json``). ``simenv schema profile``
prints :func:`profile_schema`. The schemas check shape and types; the loader also checks
references between entries, which a JSON Schema cannot express.

>>> s = scenario_schema()
>>> s["$schema"], s["title"], "ASI01" in [x["const"] for x in s["$defs"]["Tags"]["properties"]["asi"]["items"]["oneOf"]]
('https://json-schema.org/draft/2020-12/schema', 'simenv scenario file', True)
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from simenv.scenario.frameworks import CATALOGS, NIST, NIST_ID

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = "scenario.schema.json"


def _fill_descriptions(schema: dict[str, Any]) -> None:
    """Give a property that refers to a model (or a list of them) that model's description."""
    defs = schema.get("$defs", {})
    for node in [schema, *defs.values()]:
        for prop in node.get("properties", {}).values():
            if "description" in prop:
                continue
            ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
            if ref and ref.startswith("#/$defs/"):
                desc = defs.get(ref.removeprefix("#/$defs/"), {}).get("description")
                if desc:
                    prop["description"] = desc


def _model_schema(model: type[BaseModel], title: str, description: str) -> dict[str, Any]:
    body = model.model_json_schema()
    _fill_descriptions(body)
    body.pop("title", None)
    body.pop("description", None)
    return {"$schema": DRAFT, "title": title, "description": description, **body}


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (``scenarios/<name>.yaml``), framework ids included."""
    from simenv.scenario.schema import ScenarioSpec

    schema = _model_schema(
        ScenarioSpec, "simenv scenario file",
        "A simenv scenario: the estate, its identities, resources and grants, the tickets agents work "
        "(declared scope for governance, exact intent and done_when for scoring), scripted agents and "
        "scheduled events. Generated from simenv.scenario.schema.ScenarioSpec; regenerate with "
        "`simenv schema scenario`. References between entries are checked by `simenv validate`.")
    tags = schema["$defs"]["Tags"]["properties"]
    for key, cat in CATALOGS.items():
        if key == "nist":
            tags[key]["items"] = {
                "type": "string", "pattern": f"^{NIST_ID.pattern}$",
                "description": "FUNCTION N.N, FUNCTION one of GOVERN, MAP, MEASURE, MANAGE (one space)",
                "examples": list(NIST),
            }
        else:
            tags[key]["items"] = {"type": "string", "oneOf": [{"const": i, "description": t} for i, t in cat.ids.items()]}
        tags[key]["uniqueItems"] = True
    return schema


def _options(ref: str, skip: tuple[str, ...], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema of a built-in seam's options (its constructor's keyword arguments)."""
    from simenv.governance.plugins import _import, _options_model

    model, _, _ = _options_model(_import(ref, ""), skip)
    body = model.model_json_schema()
    body.pop("title", None)
    if extra:
        body.setdefault("properties", {}).update(extra)
    return body


def profile_schema() -> dict[str, Any]:
    """The JSON Schema of governance profile files (``policies/<name>.yaml``).

    The options of the built-in seams are described from their constructors: the JIT brokers'
    ``credentials.options``, the simulated approvers' ``approvals`` block (its ``quorum_for``
    sets a quorum per resource mark, e.g. ``{break_glass: 2}``) and the window monitors'
    entries. An outside class (``package.module:Class``) takes the options its own constructor
    does, so ``kind``/``mode``/``engine`` may name one and the schema does not constrain its options.
    """
    from simenv.governance.plugins import APPROVERS, BROKERS, MONITORS
    from simenv.governance.profile import ProfileSpec

    schema = _model_schema(
        ProfileSpec, "simenv governance profile",
        "A simenv governance profile: credential mode, one authorizer (native rules, Cedar or Rego), "
        "approval rules and monitors. Generated from simenv.governance.profile.ProfileSpec and the "
        "built-in seams' constructors; regenerate with `simenv schema profile`.")
    kind = {"type": "string", "description": "a built-in kind, or an outside class as 'package.module:Class'"}
    jit = _options(BROKERS["jit"], ("ttl",))
    schema["$defs"]["CredentialsSpec"]["properties"]["options"] = {
        **jit, "description": "options of the jit and session_bound modes (other built-in modes take none)"}
    approvals = _options(APPROVERS["simulated"], ("rng",), {"kind": {**kind, "default": "simulated"}})
    schema["properties"]["approvals"] = {"anyOf": [approvals, {"type": "null"}], "default": None,
                                         "description": "the simulated approvers (see simenv.governance.approvals)"}
    monitor = _options(MONITORS["denials"], ())
    monitor["properties"]["kind"] = {"anyOf": [monitor["properties"]["kind"], kind]}
    schema["properties"]["monitors"] = {"type": "array", "items": monitor,
                                        "description": "window monitors (see simenv.governance.monitors)"}
    return schema


SCHEMAS = {"scenario": scenario_schema, "profile": profile_schema}


def dumps(schema: dict[str, Any]) -> str:
    """The text form that ``simenv schema`` prints and the committed file holds."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
