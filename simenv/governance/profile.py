"""Governance profiles: a YAML file composes a broker mode, one authorizer, approvers, monitors.

Schema (``policies/<name>.yaml``)::

    name: static_rbac
    description: the agent holds a broad standing role
    credentials: {mode: standing_broad}            # see simenv.governance.plugins.BROKERS
    authorizer: {engine: rbac}                     # see simenv.governance.plugins.AUTHORIZERS
    approvals: null                                # simulated approvers, or null
    monitors: []                                   # rules over the stream of settled calls

Each seam may also be an outside class, ``"package.module:Class"`` (see
:mod:`simenv.governance.plugins` for how it is built and how its options are checked).
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from simenv import files
from simenv.errors import SpecError
from simenv.governance import isolate, plugins
from simenv.governance.protocols import ApprovalGate, Authorizer, Broker, Monitor
from simenv.rng import Streams


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CredentialsSpec(_Strict):
    """How credentials are issued: a broker mode (or 'package.module:Class'), its TTL and options."""

    mode: str
    ttl: int = Field(default=60, ge=1, le=1_000_000, description="JIT time to live, in ticks (at most 10^6)")
    options: dict[str, Any] = Field(default_factory=dict)


class AuthorizerSpec(_Strict):
    """Which authorizer decides (an engine name or 'package.module:Class'), its policy file and options.

    The policy file's path is relative to the profile file.
    """

    engine: str
    policy: str | None = None
    manifest: str | None = None  # the agt engine's Agent Governance Toolkit manifest (or give it as policy)
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def file_field(self) -> tuple[str | None, str]:
        """The file the engine reads, and the field that names it (``authorizer.manifest`` or ``authorizer.policy``)."""
        if self.manifest is not None:
            return self.manifest, "authorizer.manifest"
        return self.policy, "authorizer.policy"


class ProfileSpec(_Strict):
    """A governance profile file."""

    name: str
    description: str = ""
    credentials: CredentialsSpec
    authorizer: AuthorizerSpec
    approvals: dict[str, Any] | None = None
    monitors: list[dict[str, Any]] = Field(default_factory=list)


@dataclass
class Governance:
    """A built profile: one of each seam."""

    name: str
    broker: Broker
    authorizer: Authorizer
    approvals: ApprovalGate | None = None
    monitors: list[Monitor] = field(default_factory=list)
    spec: ProfileSpec | None = None


@dataclass(frozen=True)
class _Plan:
    """How to build each seam of a profile: classes and checked options (made once per file content)."""

    broker: tuple[type, dict[str, Any]]
    authorizer: tuple[type, dict[str, Any]]
    approvals: tuple[type, dict[str, Any]] | None
    monitors: tuple[tuple[type, dict[str, Any]], ...]
    file_field: str = "authorizer.policy"  # the profile's field that names the authorizer's file


def _takes(cls: type, name: str) -> bool:
    try:
        return name in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def _plan(spec: ProfileSpec, path: Path) -> _Plan:
    """Resolve every seam's class and check its options; raise :class:`SpecError` naming each bad field."""
    problems: list[tuple[str, str]] = []

    def attempt(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except plugins.PluginError as e:
            problems.extend(e.problems)
            return None

    c = spec.credentials
    broker = None
    cls = attempt(plugins.resolve_class, c.mode, plugins.BROKERS, "credentials.mode")
    if cls is not None:
        opts = dict(c.options)
        if "ttl" in opts:
            problems.append(("credentials.options.ttl", "set the time to live as credentials.ttl"))
        elif attempt(plugins.check_options, cls, opts, "credentials.options", ("ttl",)) is not None:
            broker = (cls, {**opts, "ttl": c.ttl} if _takes(cls, "ttl") else opts)
    a = spec.authorizer
    authorizer = None
    cls = attempt(plugins.resolve_class, a.engine, plugins.AUTHORIZERS, "authorizer.engine")
    if cls is not None:
        opts = dict(a.options)
        ref, where = a.file_field
        if a.manifest is not None and a.engine != "agt":
            problems.append((where, f"only the agt engine reads a manifest; give engine {a.engine!r} its file as "
                                    "authorizer.policy"))
        elif a.manifest is not None and a.policy is not None:
            problems.append((where, "give the manifest or authorizer.policy, not both"))
        elif ref is not None:
            policy = path.parent / ref
            if not _takes(cls, "policy"):
                problems.append((where, f"engine {a.engine!r} takes no policy file"))
            else:
                try:
                    policy = files.confined(path, ref)
                except ValueError as e:
                    problems.append((where, str(e)))
            opts["policy"] = policy
        if attempt(plugins.check_options, cls, {k: v for k, v in opts.items() if k != "policy"},
                   "authorizer.options", ("policy",)) is not None:
            authorizer = (cls, opts)
    approvals = None
    if spec.approvals is not None:
        opts = dict(spec.approvals)
        kind = opts.pop("kind", "simulated")
        cls = attempt(plugins.resolve_class, str(kind), plugins.APPROVERS, "approvals.kind")
        if cls is not None and attempt(plugins.check_options, cls, opts, "approvals", ("rng",)) is not None:
            approvals = (cls, opts)
    monitors = []
    for i, m in enumerate(spec.monitors):
        opts = dict(m)
        kind = opts.get("kind")
        if not isinstance(kind, str):
            problems.append((f"monitors[{i}].kind", "required: a built-in kind or 'package.module:Class'"))
            continue
        cls = attempt(plugins.resolve_class, kind, plugins.MONITORS, f"monitors[{i}].kind")
        if cls is None:
            continue
        if plugins.is_reference(kind):
            opts.pop("kind")
        if attempt(plugins.check_options, cls, opts, f"monitors[{i}]") is not None:
            monitors.append((cls, opts))
    if problems:
        raise SpecError(str(path), problems)
    assert broker is not None and authorizer is not None
    return _Plan(broker, authorizer, approvals, tuple(monitors), spec.authorizer.file_field[1])


def load_profile(name_or_path: str | Path) -> tuple[ProfileSpec, Path]:
    """Load and validate a profile file (a shipped name or a path); parsed once per file content."""
    path = files.resolve(name_or_path, "policies")
    return copy.deepcopy(_load_profile(path)[0]), path


def _untrusted(spec: ProfileSpec) -> list[tuple[str, str]]:
    """The seams of ``spec`` that name outside code while plug-ins are not allowed."""
    named = [("credentials.mode", spec.credentials.mode), ("authorizer.engine", spec.authorizer.engine)]
    if spec.approvals is not None:
        named.append(("approvals.kind", str(spec.approvals.get("kind", "simulated"))))
    named += [(f"monitors[{i}].kind", str(m.get("kind"))) for i, m in enumerate(spec.monitors)]
    return [p for field_, name in named if (p := plugins.untrusted_reference(name, field_)) is not None]


def _loader(allowed: bool):
    def load(path: Path, text: str) -> tuple[ProfileSpec, _Plan]:
        spec = files.validate(ProfileSpec, files.parse_yaml(text, str(path)), str(path))
        if not allowed and (problems := _untrusted(spec)):
            raise SpecError(str(path), problems)  # before anything is imported
        plan = _plan(spec, path)
        _built(path, plan)  # build once: a constructor that rejects its options is a file error now, not at run time
        return spec, plan

    return files.cached(load, immutable=True)  # a frozen spec and a plan whose options each build copies


_LOADERS = {True: _loader(True), False: _loader(False)}


def _load_profile(path: Path) -> tuple[ProfileSpec, _Plan]:
    """The parsed profile and its plan, cached per file content and per whether plug-ins are allowed."""
    return _LOADERS[plugins.plugins_allowed()](path)


def validate_profile(name_or_path: str | Path) -> tuple[ProfileSpec, Path]:
    """Load a profile as ``simenv validate`` does: its Cedar or Rego policy (or AGT manifest's) is compiled in a child first.

    The child (:mod:`simenv.governance.isolate`) may crash where this process must not: a crash
    becomes an error on the profile's ``authorizer.policy`` (or ``authorizer.manifest``).
    """
    path = files.resolve(name_or_path, "policies")
    spec = files.validate(ProfileSpec, files.load_yaml(path), str(path))
    policy, where = spec.authorizer.file_field
    if policy is not None and (Path(policy).suffix in (".cedar", ".rego") or spec.authorizer.engine == "agt"):
        # an AGT manifest binds a Rego policy, which rego-cpp compiles: in the child too
        isolate.check_in_child("simenv.governance.profile:load_profile", path, field=where,
                               what=f"the {spec.authorizer.engine} engine, compiling {policy}")
    return load_profile(path)


_FLAT = (str, int, float, bool, type(None), Path)


def _own(options: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``options`` that a constructor may keep and change (flat values are shared: they cannot change)."""
    own = dict(options)
    for k, v in options.items():
        if not isinstance(v, _FLAT):
            own[k] = _copied(v)
    return own


def _copied(v: Any) -> Any:
    """``copy.deepcopy(v)``, walking the dicts and lists a profile file holds itself (three times faster)."""
    if isinstance(v, _FLAT):
        return v
    if type(v) is dict:
        return {k: _copied(x) for k, x in v.items()}
    if type(v) is list:
        return [_copied(x) for x in v]
    return copy.deepcopy(v)


def _built(path: Path, plan: _Plan, streams: Streams | None = None) -> tuple[Any, Any, Any, list[Any]]:
    where = ("credentials", "authorizer", "approvals", "monitors")
    try:
        # each seam gets its own copy of its options: the plan is shared by every episode of the process
        broker = plugins.build(plan.broker[0], (), _own(plan.broker[1]), where[0])
        authorizer = plugins.build(plan.authorizer[0], (), _own(plan.authorizer[1]), where[1])
        approvals = None
        if plan.approvals is not None:
            rng = (streams or Streams(0)).deferred("approvals")  # seeded when a review first draws
            approvals = plugins.build(plan.approvals[0], (rng,), _own(plan.approvals[1]), where[2])
        monitors = [plugins.build(cls, (), _own(opts), f"monitors[{i}]") for i, (cls, opts) in enumerate(plan.monitors)]
    except plugins.PluginError as e:
        raise SpecError(str(path), e.problems) from None
    except SpecError as e:  # the policy file is bad: reported against the profile's field that names it
        if e.file == str(path):
            raise
        raise SpecError(str(path), [(plan.file_field, f"{e.file}: {field or '<root>'}: {msg}")
                                    for field, msg in e.problems]) from None
    return broker, authorizer, approvals, monitors


def build_governance(name_or_path: str | Path, seed_streams: Streams | None = None) -> Governance:
    """Build a fresh :class:`Governance` (new broker state, new authorizer) for one episode.

    ``seed_streams`` is the episode's :class:`simenv.rng.Streams` (approvers draw from it).
    """
    path = files.resolve(name_or_path, "policies")
    spec, plan = _load_profile(path)
    broker, authorizer, approvals, monitors = _built(path, plan, seed_streams)
    return Governance(spec.name, broker, authorizer, approvals, monitors, spec)
