"""The implementations of each governance seam, by name; outside classes by ``"package.module:Class"``.

A profile names a built-in implementation (``credentials.mode: jit``, ``authorizer.engine:
cedar``, a monitor's ``kind: denials``) or an outside class, written ``"package.module:Class"``
(the module must be importable). Either way the class is built the same way, with the block's
options as keyword arguments:

============  =====================================================  ==========================
seam          profile block                                          constructor
============  =====================================================  ==========================
broker        ``credentials: {mode, ttl, options}``                  ``Cls(**options)`` (+ ``ttl=`` if it takes one)
authorizer    ``authorizer: {engine, policy, options}``              ``Cls(policy=PATH|None, **options)``
approver      ``approvals: {kind, ...options}``                      ``Cls(rng, **options)``
monitor       ``monitors: [{kind, ...options}]``                     ``Cls(**options)`` (built-ins also get ``kind``)
============  =====================================================  ==========================

Outside classes named in a *file* run code, and profile files may come from pull requests: a profile file may
name one only when plug-ins are allowed (``--allow-plugins`` on the command line, ``SIMENV_ALLOW_PLUGINS=1`` in the
environment, or :func:`allow_plugins`); otherwise the reference is a file:field error and nothing is imported. A
reference given in code (``check_authorizer("pkg.mod:Cls")``, ``--agent pkg.mod:Cls``) is the caller's own choice.

Options are checked against the constructor's signature when the profile is loaded (so
``simenv validate`` catches them): an unknown option is an error that names it and lists the
valid ones, and a value of the wrong type is an error naming the option (strict: ``"2"`` is not
an int). A constructor that raises ``ValueError`` or ``TypeError`` has its message reported
against the block. Built-in names map to strings, not classes, so this module imports none of
the implementations it names.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, ValidationError, create_model

from simenv import files

BROKERS: Mapping[str, str] = {
    "none": "simenv.governance.broker:NoBroker",
    "unrestricted": "simenv.governance.broker:UnrestrictedBroker",
    "standing_broad": "simenv.governance.broker:StandingBroker",
    "standing_least": "simenv.governance.brokers:StandingLeastBroker",
    "jit": "simenv.governance.brokers:JitBroker",
    "session_bound": "simenv.governance.brokers:SessionBoundBroker",
}
AUTHORIZERS: Mapping[str, str] = {
    "allow_all": "simenv.governance.basic:AllowAll",
    "deny_all": "simenv.governance.basic:DenyAll",
    "rbac": "simenv.governance.basic:StaticRbac",
    "native": "simenv.governance.native:NativeRules",
    "cedar": "simenv.governance.cedar:CedarAuthorizer",
    "rego": "simenv.governance.rego:RegoAuthorizer",
    "agt": "simenv.governance.agt:AgtAuthorizer",
}
APPROVERS: Mapping[str, str] = {"simulated": "simenv.governance.approvals:SimulatedApprovers"}
MONITORS: Mapping[str, str] = {k: "simenv.governance.monitors:WindowMonitor"
                               for k in ("denials", "out_of_scope", "invalid_calls", "high_risk")}


ALLOW_ENV = "SIMENV_ALLOW_PLUGINS"
"""The environment variable that lets profile files load outside classes (``1``); worker processes inherit it."""


def plugins_allowed() -> bool:
    """Whether profile files may name outside classes (see the module docstring)."""
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


def allow_plugins(allowed: bool = True) -> None:
    """Let profile files load outside classes in this process and the workers it starts (or stop letting them)."""
    os.environ[ALLOW_ENV] = "1" if allowed else "0"


def untrusted_reference(name: str, field: str) -> tuple[str, str] | None:
    """The problem with a file naming outside code when plug-ins are not allowed, else ``None``."""
    if is_reference(name) and not plugins_allowed():
        return (field, f"{name!r} is outside code, which a profile file may load only when plug-ins are allowed: "
                       f"pass --allow-plugins (or set {ALLOW_ENV}=1) if you trust this file")
    return None


class PluginError(Exception):
    """A seam's class or options are wrong: ``problems`` are ``(field, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))


def is_reference(name: str) -> bool:
    """Whether ``name`` is an outside class reference (``package.module:Class``) rather than a built-in name."""
    return ":" in name


def resolve_class(name: str, builtins: Mapping[str, str], field: str) -> type:
    """The class a built-in name or a ``"package.module:Class"`` reference denotes.

    Raises:
        PluginError: naming ``field``: an unknown name, a module that does not import, a missing class.
    """
    ref = name if is_reference(name) else builtins.get(name)
    if ref is None:
        known = ", ".join(sorted(builtins))
        raise PluginError([(field, f"unknown {name!r}; known: {known}, or an outside class as 'package.module:Class'")])
    return _import(ref, field)


def _import(ref: str, field: str) -> type:
    mod_name, _, attr = ref.partition(":")
    if not mod_name or not attr:
        raise PluginError([(field, f"{ref!r} is not a 'package.module:Class' reference")])
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise PluginError([(field, f"cannot import {mod_name!r} for {ref!r}: {e}")]) from None
    obj: Any = mod
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise PluginError([(field, f"module {mod_name!r} has no {attr!r}")])
    if not callable(obj):
        raise PluginError([(field, f"{ref!r} is not a class or factory")])
    return obj


@functools.lru_cache(maxsize=128)
def _options_model(cls: type, skip: tuple[str, ...]) -> tuple[Any, tuple[str, ...], bool]:
    """A strict pydantic model of ``cls``'s keyword options (its signature, minus ``skip``)."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return None, (), True
    fields: dict[str, Any] = {}
    open_ended = False
    hints = _hints(cls)
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            open_ended = True
            continue
        if p.name in skip or p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY):
            continue
        typ = hints.get(p.name, Any)
        fields[p.name] = (typ, ... if p.default is p.empty else p.default)
    config = ConfigDict(strict=True, extra="allow" if open_ended else "forbid", arbitrary_types_allowed=True)
    model = create_model(f"{getattr(cls, '__name__', 'Plugin')}Options", __config__=config, **fields)
    return model, tuple(fields), open_ended


def _hints(cls: type) -> dict[str, Any]:
    import typing

    target: Any = getattr(cls, "__init__") if isinstance(cls, type) else cls  # noqa: B009 - the class's own __init__
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve is checked as Any
        return {}


def check_options(cls: type, options: Mapping[str, Any], field: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """``options`` validated against ``cls``'s signature; raise :class:`PluginError` naming each bad option."""
    model, names, _ = _options_model(cls, skip)
    if model is None:
        return dict(options)
    try:
        model.model_validate(dict(options), strict=True)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            where = f"{field}.{files.field_path(err['loc'])}" if err["loc"] else field
            if err["type"] == "extra_forbidden":
                valid = ", ".join(names) or "none"
                problems.append((where, f"unknown option; valid options: {valid}"))
            else:
                problems.append((where, err["msg"]))
        raise PluginError(problems) from None
    return dict(options)


def build(cls: type, args: tuple[Any, ...], options: Mapping[str, Any], field: str) -> Any:
    """``cls(*args, **options)``; a ``ValueError`` or ``TypeError`` it raises becomes a :class:`PluginError`."""
    try:
        return cls(*args, **options)
    except (ValueError, TypeError) as e:
        raise PluginError([(field, str(e))]) from None
