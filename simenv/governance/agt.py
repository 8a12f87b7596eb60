"""The Agent Governance Toolkit (AGT) authorizer. The only module that imports the toolkit.

``authorizer: {engine: agt, manifest: agt/NAME.yaml}`` (or ``policy:``) names an AGT manifest. Every request is
evaluated as AGT's ``pre_tool_call`` intervention point, in-process: the toolkit's native runtime
(``agent_control_specification._native.NativeRuntime``, the Rust core under ``agt.policies.runtime``)
selects the policy target, projects the tool from the manifest's catalog, collects annotations,
calls the bound policy and normalizes its verdict. simenv is the host: it builds the snapshot,
supplies the ``simenv`` annotator (the request, see below) and the policy dispatcher, and acts on
the verdict.

Why not ``agt.policies.runtime.AgtRuntime``: it runs ``asyncio.run`` per evaluation (and
``AgentControl`` hands the native call to a thread-pool executor), and toolkit 5.0.0 / ACS 0.3.1
has no bundled Cedar dispatcher; its bundled Rego dispatcher runs an ``opa`` binary per call. simenv
calls the same native ``evaluate`` synchronously and dispatches ``rego`` policies itself, with
rego-cpp (regopy): compiled once per policy text into a resident bundle, and vetted by simenv's
Rego sandbox (:mod:`simenv.governance.rego_sandbox`) like the ``rego`` engine's policies.

The snapshot (AGT-SNAPSHOT-1.0 §1 and §2.5; keys and values are deterministic)::

    envelope.agent          {id: principal.spiffe_id (or its name), name: principal.name, version: "1"}
    envelope.session        {id: "session-<session>", started_at: the simenv epoch}
    envelope.timestamp      the epoch + tick minutes (ISO-8601 UTC)
    envelope.budgets        {tool_call_count: 0, token_count: 0, elapsed_seconds: 60 * tick, cost_usd: 0}
    envelope.tenant         {id: principal.tenant, name: principal.tenant}
    tool_call               {name: action, args: the call's arguments, id: "<session>-<tick>-<n>"}

and the ``simenv`` annotation (``input.annotations.simenv``) is ``AccessRequest.to_input()``
without ``action`` (which is ``tool_call.name`` and, with its risk and system, ``input.tool``):
``principal``, ``represents``, ``resource``, ``target_identity`` and ``context`` (declared scope,
approval, credential, the delegation ``chain``, ``justification``, ``lifetime``, ...).

Verdicts: ``allow`` → allow; ``deny`` → deny; ``escalate`` → require_approval; ``warn`` → allow,
the warning in the reasons; ``transform`` → deny (simenv does not model a rewritten call), the
reason says so. A verdict's ``reason`` holds the ids of the rules that decided, comma-separated
(the decision's policy ids; the bound policy's id if empty), its ``message`` their reasons, one a
line. Any error or timeout fails closed: a deny with policy id ``agt.error`` whose reason is the
toolkit's ``runtime_error:*`` and the exception behind it. ``authorize`` never raises.

Manifests are untrusted, so simenv refuses at load time (file and field) what would reach outside
the profile's folder: ``extends``, an ``approval`` block (approvals are the profile's), annotators
other than ``simenv``, a policy other than ``rego`` with a ``bundle`` file in the manifest's folder.
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from simenv import files
from simenv.errors import SimenvError, SpecError
from simenv.governance import bounds
from simenv.governance.rego import Compiled, Input, _regopy, compile_policy, parse_output, read_policy, run_query
from simenv.governance.request import AccessRequest, Decision
from simenv.governance.views import EstateView
from simenv.types import Effect
from simenv.world.model import Ticket

POINT = "pre_tool_call"
ANNOTATOR = "simenv"
ERROR_ID = "agt.error"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
"""The simulated clock's origin: tick ``t`` is ``EPOCH + t`` minutes in the snapshot."""
TIMEOUT_MS = 1000
"""The default time limit of one evaluation; a slower one fails closed (no healthy evaluation comes near it)."""
_INSTALL = "the agt engine needs the Agent Governance Toolkit: pip install simenv[agt] (or simenv[all])"
_REGOPY = "the agt engine runs Rego policies with regopy: pip install simenv[agt]"
_QUERY = re.compile(r"data((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_ERROR_PREFIX = "runtime_error:"


def _native() -> Any:
    try:
        import agt.policies  # noqa: F401 - the toolkit's policy layer; its runtime wraps this native core
        from agent_control_specification import _native
    except ImportError:
        raise SimenvError(_INSTALL) from None
    return _native


# --------------------------------------------------------------------------- the manifest
@dataclass(frozen=True)
class Manifest:
    """A checked manifest: the text the runtime gets, the bound policy and its Rego module."""

    file: str
    text: str
    policy_id: str
    entrypoint: str  # the query as a rego-cpp entry point: data.agt.simenv.intent.decision -> agt/simenv/intent/decision
    bundle: Path


def _get(doc: Any, key: str) -> Any:
    return doc.get(key) if isinstance(doc, Mapping) else None


def _problems(path: Path, doc: Any, text: str) -> tuple[list[tuple[str, str]], str, str, Path | None]:
    """What is wrong with a manifest, as (field, message); and the bound policy id, its entry point, its bundle."""
    problems: list[tuple[str, str]] = []
    if not isinstance(doc, Mapping):
        return [("", "an AGT manifest is a mapping (agent_control_specification_version, policies, "
                     "intervention_points, ...)")], "", "", None
    native: tuple[str, str] | None = None
    try:
        _native().validate_manifest(text)
    except SimenvError:
        raise
    except Exception as e:  # noqa: BLE001 - the toolkit's own check, reported as it words it
        msg = str(e).removeprefix(f"{_ERROR_PREFIX}manifest_invalid: ")
        native = (_native_field(msg), f"AGT rejects the manifest: {msg}")
    if _get(doc, "extends"):
        problems.append(("extends", "simenv loads one manifest file (extends reaches other files and the network): "
                                    "merge the parents into it"))
    if "approval" in doc:
        problems.append(("approval", "approvals come from the profile's approvals block (an escalate verdict is "
                                     "require_approval): remove the manifest's approval section"))
    annotators = _get(doc, "annotators") or {}
    for name, a in annotators.items() if isinstance(annotators, Mapping) else ():
        if name != ANNOTATOR:
            problems.append((f"annotators.{name}", f"simenv supplies only the {ANNOTATOR!r} annotator (the request); "
                                                   "others would reach a model or the network: remove it"))
        elif _get(a, "type") != "endpoint":
            problems.append((f"annotators.{name}.type", "the simenv annotator is type: endpoint"))
    points = _get(doc, "intervention_points") or {}
    for name in points if isinstance(points, Mapping) else ():
        if name != POINT:
            problems.append((f"intervention_points.{name}", f"simenv evaluates each tool call at {POINT} only: "
                                                           "remove the other intervention points"))
    binding = _get(_get(points, POINT), "policy")
    policy_id = _get(binding, "id")
    if not isinstance(policy_id, str) or not policy_id:
        problems.append((f"intervention_points.{POINT}.policy.id", "required: the policy that decides tool calls"))
        return _with(native, problems), "", "", None
    policies = _get(doc, "policies") or {}
    pol = _get(policies, policy_id)
    where = f"policies.{policy_id}"
    if not isinstance(pol, Mapping):
        problems.append((f"intervention_points.{POINT}.policy.id", f"no policy {policy_id!r} in policies: "
                                                                  "name one of the manifest's policies"))
        return _with(native, problems), "", "", None
    if pol.get("type") != "rego":
        problems.append((f"{where}.type", f"simenv runs rego policies in-process (toolkit 5.0.0 has no in-process "
                                          f"{pol.get('type')!r} dispatcher): write it in Rego, or use engine cedar"))
        return _with(native, problems), "", "", None
    for key in ("bundle_url", "data_paths", "data"):
        if key in pol:
            problems.append((f"{where}.{key}", "not supported: put the whole policy in the bundle file"))
    query = _get(binding, "query") or pol.get("query")
    entrypoint = ""
    if not isinstance(query, str) or (m := _QUERY.fullmatch(query.strip())) is None:
        problems.append((f"{where}.query", f"{files.quote(query)} is not a Rego rule reference such as "
                                           "data.agt.simenv.intent.decision"))
    else:
        entrypoint = m.group(1)[1:].replace(".", "/")
    bundle = pol.get("bundle")
    found: Path | None = None
    if not isinstance(bundle, str) or not bundle:
        problems.append((f"{where}.bundle", "required: the .rego file of the policy, beside the manifest"))
    else:
        try:
            found = files.confined(path, bundle)
        except ValueError as e:
            problems.append((f"{where}.bundle", str(e)))
    return _with(native, problems), policy_id, entrypoint, found


def _with(native: tuple[str, str] | None, problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The toolkit's own finding first, unless simenv's checks already report on its field."""
    if native is not None and all(f != native[0] for f, _ in problems):
        return [native, *problems]
    return problems


_NATIVE_FIELDS = ((re.compile(r"unknown field `([^`]+)`"), "{0}"),
                  (re.compile(r"intervention point (\w+) references unknown policy"), "intervention_points.{0}.policy.id"),
                  (re.compile(r"unknown intervention_point '([^']+)'"), "intervention_points.{0}"))


def _native_field(msg: str) -> str:
    """The field a message of the toolkit's manifest check is about, where it says ("" otherwise)."""
    for pattern, field in _NATIVE_FIELDS:
        if m := pattern.search(msg):
            return field.format(m.group(1))
    return ""


def _parse(path: Path, text: str) -> Manifest:
    doc = files.parse_yaml(text, str(path))
    problems, policy_id, entrypoint, bundle = _problems(path, doc, text)
    if problems:
        raise SpecError(str(path), problems)
    assert bundle is not None
    return Manifest(str(path), text, policy_id, entrypoint, bundle)


_load = files.cached(_parse, immutable=True)  # a frozen Manifest, parsed once per file content


def load_manifest(path: Path | str) -> Manifest:
    """Load and check an AGT manifest (parsed once per process for each distinct content)."""
    p = Path(path)
    if not p.exists():
        raise SpecError(str(p), [("", "no such file")])
    return _load(p)


# --------------------------------------------------------------------------- the Rego policy, compiled once
def _compile(file: Path, entrypoint: str) -> Compiled:
    """The interpreter, bundle and lock of a manifest's policy file (the rego engine's, compiled and vetted once)."""
    return compile_policy(read_policy(file), str(file), entrypoint, install=_REGOPY)


class _Host(threading.local):
    """The authorizer evaluating on this thread: the shared runtime's two dispatchers call into it."""

    authz: AgtAuthorizer | None = None

    def annotate(self, name: str, config: Mapping[str, Any], preliminary: Mapping[str, Any]) -> Any:
        if self.authz is None:
            raise PolicyFailure("the toolkit called the annotator outside an evaluation")
        return self.authz._annotate(name, config, preliminary)

    def evaluate(self, invocation: Mapping[str, Any]) -> Any:
        if self.authz is None:
            raise PolicyFailure("the toolkit called the policy dispatcher outside an evaluation")
        return self.authz._evaluate(invocation)


_HOST = _Host()
RUNTIMES = 32
"""How many toolkit runtimes a process keeps, one per manifest text."""
_runtimes: collections.OrderedDict[str, tuple[Any, threading.Lock]] = collections.OrderedDict()


def _runtime_for(native: Any, text: str) -> tuple[Any, threading.Lock]:
    """The toolkit's runtime of a manifest, made once per manifest text and process.

    The runtime is the toolkit's deterministic core: what it evaluates arrives in the snapshot
    (budgets included) and its dispatchers are simenv's, which hand each call to the authorizer
    evaluating on the calling thread, so no evaluation sees another episode's state (tested).
    """
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    hit = _runtimes.get(key)
    if hit is None:
        hit = _runtimes[key] = (native.NativeRuntime(text, _HOST.annotate, _HOST.evaluate, 0), threading.Lock())
        if len(_runtimes) > RUNTIMES:
            _runtimes.popitem(last=False)
    _runtimes.move_to_end(key)
    return hit


class PolicyFailure(Exception):
    """The Rego policy gave no usable verdict (undefined, an evaluation error)."""


# --------------------------------------------------------------------------- the authorizer
def _timestamp(tick: int) -> str:
    try:
        return (EPOCH + timedelta(minutes=tick)).isoformat()
    except OverflowError:  # a tick past year 9999: still a deterministic, ordered label
        return f"{EPOCH.isoformat()}+{tick}min"


def snapshot(request: AccessRequest, call_id: str) -> dict[str, Any]:
    """The AGT ``pre_tool_call`` snapshot of a request (see the module docstring)."""
    p = request.principal
    return {
        "envelope": {
            "agent": {"id": p.spiffe_id or p.name, "name": p.name, "version": "1"},
            "session": {"id": f"session-{request.session}", "started_at": EPOCH.isoformat()},
            "intervention_point": POINT,
            "timestamp": _timestamp(request.tick),
            "budgets": {"tool_call_count": 0, "token_count": 0, "elapsed_seconds": 60.0 * max(request.tick, 0),
                        "cost_usd": 0.0},
            "tenant": {"id": p.tenant, "name": p.tenant},
        },
        "tool_call": {"name": request.action, "args": dict(request.args), "id": call_id},
    }


def annotation(request: AccessRequest) -> dict[str, Any]:
    """The ``simenv`` annotation: the request document without its action (the tool call carries it)."""
    doc = request.to_input()
    del doc["action"]
    return doc


def _ids(reason: str, default: str) -> tuple[str, ...]:
    return tuple(sorted({x.strip() for x in reason.split(",") if x.strip()})) or (default,)


class AgtAuthorizer:
    """An AGT manifest evaluated at ``pre_tool_call`` by the toolkit's native runtime, Rego policies in-process."""

    name = "agt"

    def __init__(self, policy: Path | str | None = None, timeout_ms: int = TIMEOUT_MS):
        if policy is None:
            raise SimenvError("the agt engine needs a manifest: set authorizer.policy to agt/NAME.yaml in the profile")
        if timeout_ms < 1:
            raise ValueError(f"timeout_ms must be at least 1, not {timeout_ms}")
        self.manifest = load_manifest(policy)
        self._limit = timeout_ms / 1000
        native = _native()
        _, self._c = _regopy(_REGOPY)
        self._policy = _compile(self.manifest.bundle, self.manifest.entrypoint)
        self._rego, self._bundle, _ = self._policy  # shared by every authorizer of the manifest
        self._runtime, self._runtime_lock = _runtime_for(native, self.manifest.text)
        self._current: AccessRequest | None = None
        self._call_id = ""
        self._calls = 0
        self._error: BaseException | None = None
        self._cache: dict[tuple[str, str, str], Decision] = {}

    def prepare(self, estate: EstateView, tickets: Sequence[Ticket]) -> None:
        """Nothing to prepare: the manifest and its policy were loaded when the authorizer was built."""

    # the two host dispatchers the native runtime calls during one evaluation
    def _annotate(self, name: str, config: Mapping[str, Any], preliminary: Mapping[str, Any]) -> Any:
        try:
            r = self._current
            if name != ANNOTATOR or r is None or preliminary["snapshot"]["tool_call"]["id"] != self._call_id:
                raise PolicyFailure(f"annotator {name!r} called for a call simenv is not evaluating")
            return annotation(r)
        except BaseException as e:
            self._error = e
            raise

    def _evaluate(self, invocation: Mapping[str, Any]) -> Any:
        try:
            text = run_query(self._c, self._policy, self.manifest.entrypoint, Input(self._c, invocation["input"]))
            query = "data." + self.manifest.entrypoint.replace("/", ".")
            if text == "undefined" or not text:
                raise PolicyFailure(f"{query} is undefined for this request")
            if text.startswith("("):
                raise PolicyFailure(parse_output(text).reasons[0])
            return json.loads(text)["expressions"][0]
        except BaseException as e:
            self._error = e
            raise

    def authorize(self, request: AccessRequest) -> Decision:
        """Evaluate the request as a ``pre_tool_call`` intervention; never raises."""
        problem = bounds.request_problem(request)
        if problem is not None:
            return bounds.invalid(problem)
        self._calls += 1
        self._call_id = f"{request.session}-{request.tick}-{self._calls}"
        self._current, self._error = request, None
        _HOST.authz = self  # the shared runtime's dispatchers call back into this authorizer, on this thread
        start = time.perf_counter()
        try:
            with self._runtime_lock:  # one evaluation at a time on a runtime shared by threads
                raw = self._runtime.evaluate({"intervention_point": POINT, "snapshot": snapshot(request, self._call_id),
                                              "mode": "enforce"})
            verdict = raw["verdict"]
        except Exception as e:  # noqa: BLE001 - whatever the toolkit does, the call gets a decision
            return _failed(f"the toolkit raised {type(e).__name__}: {e}", self._error)
        finally:
            self._current = _HOST.authz = None
        took = time.perf_counter() - start
        if took > self._limit:
            return _failed(f"the evaluation took {took * 1000:.0f} ms, over the limit of {self._limit * 1000:.0f} ms "
                           "(authorizer.options.timeout_ms)", None)
        return self._decision(verdict)

    def _decision(self, verdict: Mapping[str, Any]) -> Decision:
        decision, reason, message = (str(verdict.get(k) or "") for k in ("decision", "reason", "message"))
        if reason.startswith(_ERROR_PREFIX):
            return _failed(f"{reason}: {message}" if message else reason, self._error)
        if decision == "transform":
            where = verdict.get("transform") or {}
            return Decision(Effect.DENY, (f"the policy asked to transform the tool call at {where.get('path', '$target')} "
                                          "(simenv does not model a rewritten call, so it is refused)",),
                            _ids(reason, self.manifest.policy_id))
        key = (decision, reason, message)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._make(decision, reason, message)
        return hit

    def _make(self, decision: str, reason: str, message: str) -> Decision:
        ids = _ids(reason, self.manifest.policy_id)
        reasons = tuple(sorted({m for m in message.split("\n") if m})) or (reason or decision,)
        if decision == "warn":
            return Decision(Effect.ALLOW, tuple(f"warning: {m}" for m in reasons), ids)
        effect = {"allow": Effect.ALLOW, "deny": Effect.DENY, "escalate": Effect.REQUIRE_APPROVAL}.get(decision)
        if effect is None:
            return _failed(f"unknown verdict {files.quote(decision)}", None)
        return Decision(effect, reasons, ids)


def _failed(what: str, error: BaseException | None) -> Decision:
    cause = f" ({type(error).__name__}: {str(error)[:300]})" if error is not None else ""
    return Decision(Effect.DENY, (f"AGT failed closed: {what[:300]}{cause}",), (ERROR_ID,))


def validate_manifest_file(path: Path) -> None:
    """Check a manifest as ``simenv validate`` does: the manifest, then its Rego policy compiled and vetted."""
    m = load_manifest(path)
    _compile(m.bundle, m.entrypoint)
