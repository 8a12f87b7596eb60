"""Governance profiles: a YAML file composes a broker mode, one authorizer, approvers, monitors.

Schema (``policies/<name>.yaml``)::

    name: static_rbac
    description: the agent holds a broad standing role
    credentials: {mode: standing_broad}            # see simenv.governance.broker.BROKERS
    authorizer: {engine: rbac}                     # see AUTHORIZERS
    approvals: null                                # simulated approvers, or null
    monitors: []                                   # rules over the audit stream
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from simenv import files
from simenv.errors import SpecError
from simenv.governance.broker import BROKERS
from simenv.governance.protocols import ApprovalGate, Authorizer, Broker, Monitor


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CredentialsSpec(_Strict):
    """How credentials are issued."""

    mode: str
    ttl: int = Field(default=60, ge=1, description="JIT time to live, in ticks")
    options: dict[str, Any] = Field(default_factory=dict)


class AuthorizerSpec(_Strict):
    """Which authorizer decides, and its policy file (relative to the profile file)."""

    engine: str
    policy: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class ProfileSpec(_Strict):
    """A governance profile file."""

    name: str
    description: str = ""
    credentials: CredentialsSpec
    authorizer: AuthorizerSpec
    approvals: dict[str, Any] | None = None
    monitors: list[dict[str, Any]] = Field(default_factory=list)


# engine name -> "module:factory"; a factory takes (AuthorizerSpec, policy path or None).
AUTHORIZERS: dict[str, str] = {
    "allow_all": "simenv.governance.basic:AllowAll",
    "deny_all": "simenv.governance.basic:DenyAll",
    "rbac": "simenv.governance.basic:StaticRbac",
    "native": "simenv.governance.native:NativeRules",
    "cedar": "simenv.governance.cedar:CedarAuthorizer",
    "rego": "simenv.governance.rego:RegoAuthorizer",
}
APPROVALS = ("simenv.governance.approvals:SimulatedApprovers", "simenv.governance.approvals:ApprovalSpec")
MONITOR = ("simenv.governance.monitors:WindowMonitor", "simenv.governance.monitors:MonitorSpec")


@dataclass
class Governance:
    """A built profile: one of each seam."""

    name: str
    broker: Broker
    authorizer: Authorizer
    approvals: ApprovalGate | None = None
    monitors: list[Monitor] = field(default_factory=list)
    spec: ProfileSpec | None = None


def _load(ref: str) -> Any:
    mod, _, attr = ref.partition(":")
    return getattr(importlib.import_module(mod), attr)


def _sub_errors(model: Any, data: Any, where: str) -> list[tuple[str, str]]:
    """Validate a nested block with its own model; errors carry the block's path."""
    try:
        files.validate(model, data, "")
    except SpecError as e:
        return [(f"{where}.{path}" if path else where, msg) for path, msg in e.problems]
    return []


def load_profile(name_or_path: str | Path) -> tuple[ProfileSpec, Path]:
    """Load and validate a profile file (a shipped name or a path); parsed once per process."""
    path = files.resolve(name_or_path, "policies")
    return _load_profile(path), path


@files.cached
def _load_profile(path: Path, text: str) -> ProfileSpec:
    spec = files.validate(ProfileSpec, files.parse_yaml(text, str(path)), str(path))
    problems = []
    if spec.credentials.mode not in BROKERS:
        problems.append(("credentials.mode", f"unknown mode {spec.credentials.mode!r}; known: {sorted(BROKERS)}"))
    if spec.authorizer.engine not in AUTHORIZERS:
        problems.append(("authorizer.engine", f"unknown engine {spec.authorizer.engine!r}; known: {sorted(AUTHORIZERS)}"))
    if spec.authorizer.policy is not None and not (path.parent / spec.authorizer.policy).exists():
        problems.append(("authorizer.policy", f"no such file: {path.parent / spec.authorizer.policy}"))
    if spec.approvals is not None:
        problems += _sub_errors(_load(APPROVALS[1]), spec.approvals, "approvals")
    for i, m in enumerate(spec.monitors):
        problems += _sub_errors(_load(MONITOR[1]), m, f"monitors[{i}]")
    if problems:
        raise SpecError(str(path), problems)
    return spec


def build_governance(name_or_path: str | Path, seed_streams: Any = None) -> Governance:
    """Build a fresh :class:`Governance` (new broker state, new authorizer) for one episode.

    ``seed_streams`` is the episode's :class:`simenv.rng.Streams` (approvers draw from it).
    """
    if seed_streams is None:
        from simenv.rng import Streams

        seed_streams = Streams(0)
    spec, path = load_profile(name_or_path)
    broker = BROKERS[spec.credentials.mode]({"ttl": spec.credentials.ttl, **spec.credentials.options})
    policy = path.parent / spec.authorizer.policy if spec.authorizer.policy else None
    factory = _load(AUTHORIZERS[spec.authorizer.engine])
    authorizer = factory(spec.authorizer, policy) if policy is not None or spec.authorizer.options else factory()
    approvals = _load(APPROVALS[0])(spec.approvals, seed_streams) if spec.approvals is not None else None
    monitors = [_load(MONITOR[0])(m) for m in spec.monitors]
    return Governance(spec.name, broker, authorizer, approvals, monitors, spec)
