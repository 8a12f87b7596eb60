"""Typed audit records: one slotted dataclass per kind, serialized in one place.

Kinds (:class:`~simenv.types.RecordKind`):

* :class:`EpisodeHeader` (``episode``): scenario, profile, seed, agent, estate size, agents,
  tickets' declared scopes, and the estate's sensitivity weights, so that scores can be
  recomputed from the log alone;
* :class:`CallRecord` (``call``): one tool call's whole decision path: agent, ticket, tool and
  arguments, credential, request, decision with reasons and policy ids, approval, outcome,
  changes and their inverses;
* :class:`ApprovalRecord` (``approval``): a pending call settling when its approval comes due
  (or at the end), and what was then applied;
* :class:`CredentialRecord` (``credential``): a credential an agent holds issued, revoked,
  expired, dropped, or whose reach changed;
* :class:`ControlRecord` (``control``): an agent completing or aborting its ticket;
  :class:`TicketRecord` (``ticket``): a ticket opening or being delegated;
* :class:`MonitorRecord` (``monitor``): a monitor revoking or halting;
  :class:`EventRecord` (``event``): a scheduled event and its result;
* :class:`EndRecord` (``end``): final tick, which tickets are done, the world fingerprint.

Fields ``in_intent``, ``affected`` and ``affected_weight`` of calls and approvals are
ground-truth labels written for scoring; monitors see a
:class:`~simenv.governance.protocols.MonitorEvent` instead, which has none of them.

Serialization lives here and only here: :func:`to_json` (a record as a JSON object; optional
fields that are ``None`` are left out), :func:`from_json` (the inverse, checked), and
:func:`line` (the canonical JSON line that :meth:`Audit.fingerprint` hashes and JSONL files
hold). Lists, not tuples, so that a record read back from JSONL equals the one written.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar

from simenv.errors import SimenvError
from simenv.types import EXECUTED, CredOp, Effect, Outcome, RecordKind


@dataclass(slots=True, kw_only=True)
class Record:
    """Base of every audit record: its position in the log (``seq``) and its tick."""

    KIND: ClassVar[RecordKind]
    seq: int = -1
    tick: int = 0

    @property
    def kind(self) -> RecordKind:
        return self.KIND


@dataclass(slots=True, kw_only=True)
class EpisodeHeader(Record):
    """The first record: what the episode is and how the estate is weighted."""

    KIND = RecordKind.EPISODE
    seed: int = 0
    scenario: str = ""
    profile: str = ""
    agent: str = ""
    size: int | None = None
    max_ticks: int = 0
    exposure_horizon: int = 0  # credentials live at the end are charged exposure up to this tick
    agents: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    weights: dict[str, Any] = field(default_factory=dict)
    identities: int = 0
    resources: int = 0


@dataclass(slots=True, kw_only=True)
class Settled(Record):
    """What a call and an approval record share: the decision, the outcome, and the labels."""

    agent: str = ""
    ticket: str | None = None
    tool: Any = None
    actor: str | None = None  # "attacker" for an outside attacker's call
    decision: Effect = Effect.DENY
    effect: Outcome = Outcome.DENIED
    reasons: list[str] = field(default_factory=list)
    policy_ids: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    inverse: list[dict[str, Any]] = field(default_factory=list)
    native: str | None = None  # why the system's own check refused an allowed call
    reversible: bool | None = None
    output: dict[str, Any] | None = None
    justification: str | None = None  # the agent's own reason for the call
    flags: list[str] = field(default_factory=list)  # discrepancies a reviewer sees (simenv.governance.review)
    # ground-truth labels, for scoring only
    in_intent: bool = False
    intent_step: int | None = None  # which of the ticket's intended actions it is
    affected: dict[str, Any] | None = None  # realized damage of an executed out-of-intent call
    affected_weight: float | None = None
    potential: dict[str, Any] | None = None  # what the privilege or credentials it created could reach
    potential_weight: float | None = None

    @property
    def executed(self) -> bool:
        """Whether the call ran (:data:`simenv.types.EXECUTED`)."""
        return self.effect in EXECUTED


@dataclass(slots=True, kw_only=True)
class CallRecord(Settled):
    """One tool call, as first decided (a pending call settles in an :class:`ApprovalRecord`)."""

    KIND = RecordKind.CALL
    session: int = 0
    impersonates: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    credential: str | None = None
    represents: str | None = None
    credential_kind: str | None = None
    chain: list[str] | None = None
    risk: str | None = None
    system: str | None = None
    resource: str | None = None
    in_scope: bool | None = None
    covers: bool | None = None
    approval: str = "none"  # "pending" when the call went to an approver


@dataclass(slots=True, kw_only=True)
class ApprovalRecord(Settled):
    """A pending call settling: the approvers' answer, the wait, and what was then done."""

    KIND = RecordKind.APPROVAL
    call_seq: int = -1
    granted: bool = False
    wait_ticks: int = 0
    review_minutes: float = 0.0
    approvers: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class CredentialRecord(Record):
    """A credential an agent holds: issued, its reach changed, revoked, expired or dropped."""

    KIND = RecordKind.CREDENTIAL
    op: CredOp = CredOp.ISSUE
    credential: str = ""
    reach: float = 0.0
    covers: dict[str, Any] | None = None  # what it can reach (a coverage), on issue and reach records
    cause: str = ""
    cred_kind: str | None = None
    holder: str | None = None
    represents: str | None = None
    source: str | None = None
    expires_at: int | None = None
    ticket: str | None = None


@dataclass(slots=True, kw_only=True)
class ControlRecord(Record):
    """An agent completing or aborting its ticket."""

    KIND = RecordKind.CONTROL
    agent: str = ""
    session: int = 0
    ticket: str | None = None
    tool: str = ""
    op: str = ""


@dataclass(slots=True, kw_only=True)
class TicketRecord(Record):
    """A ticket opening (``open``) or handed to another agent (``delegate``)."""

    KIND = RecordKind.TICKET
    agent: str = ""
    ticket: str = ""
    op: str = "open"
    text: str = ""
    parent: str | None = None
    chain: list[str] | None = None


@dataclass(slots=True, kw_only=True)
class MonitorRecord(Record):
    """A monitor's response: the credentials it revoked, and whether it halted the agent."""

    KIND = RecordKind.MONITOR
    monitor: str = ""
    action: str = ""
    agent: str = ""
    reason: str = ""
    revoked: list[str] = field(default_factory=list)
    quarantine_until: int | None = None  # no credential is issued to the agent before this tick
    release: str | None = None  # "approval": only an approver re-enables the agent


@dataclass(slots=True, kw_only=True)
class EventRecord(Record):
    """A scheduled event, its parameters, and what it did (``result``)."""

    KIND = RecordKind.EVENT
    event: str = ""
    agent: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class EndRecord(Record):
    """The last record: which tickets are done, the world fingerprint, the credentials still live."""

    KIND = RecordKind.END
    tickets: dict[str, bool] = field(default_factory=dict)
    world_fingerprint: str = ""
    live_credentials: list[str] = field(default_factory=list)


CLASSES: dict[RecordKind, type[Record]] = {c.KIND: c for c in (
    EpisodeHeader, CallRecord, ApprovalRecord, CredentialRecord, ControlRecord, TicketRecord, MonitorRecord,
    EventRecord, EndRecord)}


# --------------------------------------------------------------------------- serialization
Layout = tuple[tuple[str, bool, "type[Enum] | None"], ...]
_LAYOUTS: dict[RecordKind, Layout] = {}


def _layout(cls: type[Record]) -> Layout:
    """Per field: its name, whether ``None`` is left out of the JSON, and the enum it holds (if any)."""
    got = _LAYOUTS.get(cls.KIND)
    if got is None:
        hints = typing.get_type_hints(cls)
        out = []
        for f in fields(cls):
            enum = hints.get(f.name)
            out.append((f.name, f.default is None, enum if isinstance(enum, type) and issubclass(enum, Enum) else None))
        got = _LAYOUTS[cls.KIND] = tuple(out)
    return got


def to_json(rec: Record) -> dict[str, Any]:
    """A record as a JSON object: ``seq``, ``kind``, then its fields (``None`` optionals left out)."""
    out: dict[str, Any] = {"kind": str(rec.KIND)}
    for name, omit_none, enum in _layout(type(rec)):
        v = getattr(rec, name)
        if v is None and omit_none:
            continue
        out[name] = str(v) if enum is not None else v
    return out


def from_json(doc: dict[str, Any]) -> Record:
    """The record a :func:`to_json` object describes; raise :class:`SimenvError` naming what is wrong."""
    try:
        cls = CLASSES[RecordKind(str(doc.get("kind")))]
    except ValueError:
        raise SimenvError(f"record {doc.get('seq')}: unknown kind {doc.get('kind')!r}") from None
    layout = {name: enum for name, _, enum in _layout(cls)}
    kwargs: dict[str, Any] = {}
    for k, v in doc.items():
        if k == "kind":
            continue
        if k not in layout:
            raise SimenvError(f"record {doc.get('seq')} ({doc['kind']}): unknown field {k!r}; not a log of this version")
        enum = layout[k]
        if enum is None:
            kwargs[k] = v
            continue
        try:
            kwargs[k] = enum(v)
        except ValueError:
            raise SimenvError(f"record {doc.get('seq')} ({doc['kind']}): {k}={v!r} is not a {enum.__name__}") from None
    return cls(**kwargs)


def line(rec: Record) -> str:
    """The canonical JSON line of a record (sorted keys, ASCII, no NaN): what JSONL holds and fingerprints hash.

    The text of ``_CANONICAL.encode(to_json(rec))``, written without building the dict and sorting its keys: the
    fields in their sorted order (computed once per kind), text, integers, booleans and nulls written directly,
    and every other value (numbers with a fraction, lists, objects) by the C encoder with the same options.
    """
    parts = []
    for name, key, omit_none, enum in _LINES.get(type(rec)) or _line_layout(type(rec)):
        if name is None:  # the kind, whose text is the key's own
            parts.append(key)
            continue
        v = getattr(rec, name)
        if v is None and omit_none:
            continue
        if enum is not None:  # as to_json writes it, None included
            v = str(v)
        t = type(v)
        if v is None:
            parts.append(key + "null")
        elif t is str:
            parts.append(key + _text(v))
        elif t is int:
            parts.append(key + int.__repr__(v))
        elif t is bool:
            parts.append(key + ("true" if v else "false"))
        else:
            parts.append(key + _value(v))
    return "{" + ",".join(parts) + "}"


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
"""One shared encoder (it keeps no state): ``json.dumps`` with these options would build one per call. Same bytes."""
_text = json.encoder.encode_basestring_ascii
_LINES: dict[type[Record], tuple[tuple[str | None, str, bool, type | None], ...]] = {}


def _line_layout(cls: type[Record]) -> tuple[tuple[str | None, str, bool, type | None], ...]:
    """Per key of a record's JSON object, in sorted order: its field (``None`` for the kind), ``"key":``, and its layout."""
    keyed: list[tuple[str | None, str, bool, type | None]] = [
        (name, f"{_text(name)}:", omit, enum) for name, omit, enum in _layout(cls)]
    keyed.append((None, f'"kind":{_text(str(cls.KIND))}', False, None))
    got = _LINES[cls] = tuple(sorted(keyed, key=lambda k: k[0] or "kind"))
    return got


def _encoder() -> typing.Callable[[Any], str]:
    """A nested value's canonical text: the C encoder made once (``JSONEncoder.encode`` makes one per call)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator in this Python: the shared encoder, the same text
        return _CANONICAL.encode
    # no check for cycles (a record is a tree of JSON values, and a cycle would still raise): markers=None
    chunks = make(None, _CANONICAL.default, _text, None, ":", ",", True, False, False)
    return lambda v: "".join(chunks(v, 0))


_value = _encoder()
