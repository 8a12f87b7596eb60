"""Validate any file a user writes, by its kind: scenarios, profiles, rule sets, Cedar, Rego, AGT manifests, cases, schemas.

:func:`validate_file` is what ``simenv validate`` runs on each file; it raises a
:class:`~simenv.errors.SpecError` (file and field) or another :class:`~simenv.errors.SimenvError`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from simenv import files
from simenv.errors import SpecError


def _policy_file(path: Path) -> None:
    from simenv.governance.cases import validate_policy_file

    validate_policy_file(path)


def _cases_file(path: Path) -> None:
    from simenv.governance.cases import validate_cases_file

    validate_cases_file(path)


def _cedar_schema(path: Path) -> None:
    from simenv.governance.cedar import validate_schema_file

    validate_schema_file(path)


BY_SUFFIX: dict[str, Callable[[Path], None]] = {".cedar": _policy_file, ".rego": _policy_file,
                                                ".cedarschema": _cedar_schema}


def validate_file(path: Path) -> None:
    """Validate one file by its kind (suffix, then content); raise SpecError if it is invalid."""
    from simenv.governance.profile import validate_profile
    from simenv.scenario.loader import load_scenario

    if path.suffix in BY_SUFFIX:
        BY_SUFFIX[path.suffix](path)
        return
    if not path.exists():
        raise SpecError(str(path), [("", "no such file")])
    data = files.load_yaml(path)
    if isinstance(data, dict) and "agent_control_specification_version" in data:
        from simenv.governance.agt import validate_manifest_file

        validate_manifest_file(path)  # an Agent Governance Toolkit manifest and its Rego policy
    elif isinstance(data, dict) and ("authorizer" in data or "credentials" in data):
        validate_profile(path)  # a Cedar or Rego policy it names is compiled in a child process first
    elif isinstance(data, dict) and "rules" in data:
        _policy_file(path)
    elif isinstance(data, dict) and "cases" in data:
        _cases_file(path)
    else:
        load_scenario(path)
