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


def profile_schema() -> dict[str, Any]:
    """The JSON Schema of governance profile files (``policies/<name>.yaml``)."""
    from simenv.governance.profile import ProfileSpec

    return _model_schema(
        ProfileSpec, "simenv governance profile",
        "A simenv governance profile: credential mode, one authorizer (native rules, Cedar or Rego), "
        "approval rules and monitors. Generated from simenv.governance.profile.ProfileSpec; regenerate "
        "with `simenv schema profile`.")


SCHEMAS = {"scenario": scenario_schema, "profile": profile_schema}


def dumps(schema: dict[str, Any]) -> str:
    """The text form that ``simenv schema`` prints and the committed file holds."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
