"""One episode's audit log for the viewer: an offset index to page it, and what the episode view draws.

A :class:`Trail` is opened from a JSONL file (``simenv run --audit``, ``simenv bench --audit``)
or from an :class:`~simenv.sim.audit.Audit` in memory (an episode re-run by name). Opening a
file reads it once as bytes and keeps only where each line starts (a numpy array), so that
:meth:`Trail.page` reads just the lines a page shows: a 100,000-record log is paged, never sent
whole. :meth:`Trail.summary` reads the log once, a page of lines at a time (a line that is not a
record is an error naming the file and line), and derives the credential lifetimes, exposure
over time (:func:`simenv.bench.timeline.exposure_series` over the typed header, credential and
end records), the touched part of the estate as a graph, and an index from each pending call to
the approval record that settled it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simenv.errors import SimenvError
from simenv.scenario.schema import MAX_TICK
from simenv.sim.audit import Audit
from simenv.sim.records import CLASSES, line

KINDS = {str(k) for k in CLASSES}

SYSTEM = "·system"
"""The timeline column of records that belong to no agent (the header, events, the end)."""
PAGE = 500
"""The most records one :meth:`Trail.page` returns."""
GRAPH_NODES = 300
"""The graph keeps at most this many identities and resources (the most touched)."""
EXPOSURE_POINTS = 2000
"""Exposure over time is sent as at most this many points (the maximum over each run of ticks)."""
CREDENTIAL_BARS = 200
"""The credential lifetimes sent to the page (the first issued)."""
MAX_LOG_TICK = 10 * MAX_TICK
"""No episode's record or exposure horizon lies past this tick (a scenario's ``exposure_horizon`` limit)."""


def _cls(rec: dict[str, Any]) -> str:
    """The display class of a record: ``allow``, ``deny``, ``pending``, ``invalid`` or ``info``."""
    kind = rec.get("kind")
    if kind not in ("call", "approval"):
        return "info"
    effect = rec.get("effect")
    if effect in ("applied", "noop", "delegated"):
        return "allow"
    if effect == "pending":
        return "pending"
    if effect == "invalid":
        return "invalid"
    return "deny"


def _text(rec: dict[str, Any]) -> str:
    """One line that says what a record is (the timeline's cell text)."""
    k = rec.get("kind")
    if k == "call":
        target = rec.get("resource") or ", ".join(f"{a}={v}" for a, v in list((rec.get("args") or {}).items())[:2])
        ids = ", ".join(rec.get("policy_ids") or [])
        then = f" → {rec['settled']} after approval" if rec.get("settled") else ""
        return f"{rec.get('tool')} {target} · {rec.get('decision')} → {rec.get('effect')}{then}" + (f" · {ids}" if ids else "")
    if k == "approval":
        who = ", ".join(rec.get("approvers") or []) or "no approver"
        verdict = "granted" if rec.get("granted") else "refused"
        return (f"approval of #{rec.get('call_seq')} {verdict} by {who} after {rec.get('wait_ticks')} ticks "
                f"({rec.get('review_minutes')} min) → {rec.get('effect')}")
    if k == "credential":
        rep = rec.get("represents")
        via = f" as {rep}" if rep and rep != rec.get("holder") else ""
        exp = f" · expires at {rec['expires_at']}" if rec.get("expires_at") is not None else ""
        return f"credential {rec.get('op')} {rec.get('credential')} ({rec.get('cred_kind')}){via} · {rec.get('cause')}{exp}"
    if k == "monitor":
        revoked = f" · revoked {', '.join(rec.get('revoked') or [])}" if rec.get("revoked") else ""
        return f"monitor {rec.get('monitor')}: {rec.get('action')} {rec.get('agent')} ({rec.get('reason')}){revoked}"
    if k == "event":
        params, result = json.dumps(rec.get("params") or {})[:80], json.dumps(rec.get("result") or {})[:80]
        return f"event {rec.get('event')} {params} → {result}"
    if k == "ticket":
        return f"ticket {rec.get('op')} {rec.get('ticket')}: {str(rec.get('text') or '')[:100]}"
    if k == "control":
        return f"{rec.get('tool')} {rec.get('ticket')}"
    if k == "episode":
        return f"episode {rec.get('scenario')} / {rec.get('profile')} / seed {rec.get('seed')} / agent {rec.get('agent')}"
    if k == "end":
        done = ", ".join(f"{t} {'done' if ok else 'not done'}" for t, ok in (rec.get("tickets") or {}).items())
        return f"end at tick {rec.get('tick')}: {done}"
    return str(k)


def _column(rec: dict[str, Any]) -> str:
    k = rec.get("kind")
    if k == "credential":
        return str(rec.get("holder") or SYSTEM)
    if k in ("call", "approval", "control", "ticket", "monitor"):
        return str(rec.get("agent") or SYSTEM)
    if k == "event" and rec.get("agent"):
        return str(rec["agent"])
    return SYSTEM


def row(rec: dict[str, Any]) -> dict[str, Any]:
    """A record as one timeline row: seq, tick, kind, column, class, text, and the marks the page shows."""
    out = {"seq": rec.get("seq"), "tick": rec.get("tick"), "kind": rec.get("kind"), "col": _column(rec),
           "cls": _cls(rec), "text": _text(rec)}
    if rec.get("kind") in ("call", "approval"):
        out["out"] = not rec.get("in_intent", False)
        out["policy_ids"] = rec.get("policy_ids") or []
        if rec.get("actor"):
            out["actor"] = rec["actor"]
    return out


class Trail:
    """An audit log, indexed: :meth:`page` for the timeline, :meth:`record` for one record, :meth:`summary` for the rest."""

    def __init__(self, *, path: Path | None = None, lines: list[str] | None = None, source: str = "file"):
        self.path, self._lines, self.source = path, lines, source
        self._offsets: np.ndarray | None = None
        self._summary: dict[str, Any] | None = None
        self._lock = threading.Lock()
        if path is not None:
            self._index(path)

    @classmethod
    def from_audit(cls, audit: Audit, source: str = "re-run") -> Trail:
        return cls(lines=[line(r) for r in audit], source=source)

    def _index(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise SimenvError(f"{path}: cannot read: {e.strerror or e}") from None
        if not data.strip():
            raise SimenvError(f"{path}: empty file, not an audit log; pass a log written by simenv run --audit")
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        starts = np.concatenate(([0], ends + 1))
        stops = np.concatenate((ends, [len(data)]))
        keep = stops - starts > 0
        starts, stops = starts[keep], stops[keep]
        blank = np.array([not data[a:b].strip() for a, b in zip(starts.tolist(), stops.tolist(), strict=True)], dtype=bool)
        starts, stops = starts[~blank], stops[~blank]
        self._offsets = np.stack([starts, stops], axis=1)
        first = self._raw(0)
        try:
            head = json.loads(first)
        except ValueError:
            raise SimenvError(f"{path}: line 1: not a JSON record, so not an audit log; pass a log written by "
                              f"simenv run --audit") from None
        if not isinstance(head, dict) or head.get("kind") != "episode":
            raise SimenvError(f"{path}: line 1 is not an episode header, so this is not an audit log; pass a log "
                              f"written by simenv run --audit or simenv bench --audit")

    def __len__(self) -> int:
        return len(self._lines) if self._lines is not None else len(self._offsets) if self._offsets is not None else 0

    def _raw(self, i: int) -> str:
        if self._lines is not None:
            return self._lines[i]
        assert self._offsets is not None and self.path is not None
        a, b = (int(x) for x in self._offsets[i])
        with open(self.path, "rb") as f:
            f.seek(a)
            return f.read(b - a).decode("utf-8", errors="replace")

    def _raws(self, start: int, stop: int) -> list[str]:
        if self._lines is not None:
            return self._lines[start:stop]
        assert self._offsets is not None and self.path is not None
        if start >= stop:
            return []
        a, b = int(self._offsets[start][0]), int(self._offsets[stop - 1][1])
        with open(self.path, "rb") as f:
            f.seek(a)
            chunk = f.read(b - a)
        base = self._offsets[start:stop] - a
        return [chunk[int(x):int(y)].decode("utf-8", errors="replace") for x, y in base]

    def _doc(self, i: int, text: str) -> dict[str, Any]:
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            return {"seq": i, "kind": "unreadable", "error": f"line {i + 1}: not a JSON record"}
        return doc

    def page(self, offset: int, limit: int = PAGE) -> list[dict[str, Any]]:
        """Timeline rows of records ``offset .. offset + limit`` (at most :data:`PAGE`)."""
        offset = max(0, int(offset))
        stop = min(len(self), offset + max(0, min(int(limit), PAGE)))
        return [row(self._doc(offset + j, t)) for j, t in enumerate(self._raws(offset, stop))]

    def record(self, seq: int) -> dict[str, Any]:
        """Record ``seq`` as written, with the approval that settled it (a pending call) under ``settled_by``."""
        if not 0 <= seq < len(self):
            raise SimenvError(f"no record {seq}: the log holds {len(self)}")
        doc = self._doc(seq, self._raw(seq))
        later = self.summary()["approval_of"].get(str(seq))
        if later is not None:
            doc = {**doc, "settled_by": self._doc(later, self._raw(later))}
        return doc

    def docs(self) -> Iterator[dict[str, Any]]:
        """Every record as JSON, read a page at a time; a line that is not a record is a one-line :class:`SimenvError`."""
        where = self.path or "the log"
        for start in range(0, len(self), 4 * PAGE):
            for j, text in enumerate(self._raws(start, min(len(self), start + 4 * PAGE))):
                try:
                    doc = json.loads(text, parse_constant=_no_constant)
                except (ValueError, RecursionError):
                    raise SimenvError(f"{where}: line {start + j + 1}: not a JSON record, so not an audit log of "
                                      f"simenv run --audit") from None
                if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
                    raise SimenvError(f"{where}: line {start + j + 1}: not an audit record (no known kind); pass a log "
                                      f"written by simenv run --audit")
                yield doc

    def calls(self) -> list[dict[str, Any]]:
        """Every call record as JSON (for :func:`simenv.view.diff.align`); a pending call's outcome under ``settled``."""
        out: dict[int, dict[str, Any]] = {}
        for d in self.docs():
            if d["kind"] == "call":
                out[int(d.get("seq", -1))] = d
            elif d["kind"] == "approval" and d.get("call_seq") in out:
                out[d["call_seq"]]["settled"] = d.get("effect")
        return list(out.values())

    def summary(self) -> dict[str, Any]:
        """Header, end, columns, counts, credential lifetimes, exposure per tick, the estate graph (computed once)."""
        with self._lock:
            if self._summary is None:
                self._summary = summarize(self.docs(), len(self), self.path or "the log")
        return self._summary


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a value an audit log holds")


def _is_tick(v: Any) -> bool:
    """Whether ``v`` is a tick some episode could reach (an int, not a bool, from 0 to :data:`MAX_LOG_TICK`)."""
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_LOG_TICK


def _credentials(recs: Sequence[dict[str, Any]], uses: dict[str, list[int]], horizon: int,
                 live: str = "live at the end") -> list[dict[str, Any]]:
    """One bar per credential: issued, used, and how it ended (revoked, expired, dropped, or live at the end)."""
    bars: dict[str, dict[str, Any]] = {}
    for r in recs:
        cid, op = r["credential"], r["op"]
        if op == "issue":
            bars[cid] = {"id": cid, "holder": r.get("holder"), "represents": r.get("represents"),
                         "kind": r.get("cred_kind"), "source": r.get("source"), "cause": r.get("cause"),
                         "derived": r.get("source") not in (None, "broker"), "ticket": r.get("ticket"),
                         "issued": r["tick"], "expires_at": r.get("expires_at"), "end": None, "how": live,
                         "reach": r.get("reach")}
        elif cid in bars and op in ("revoke", "expire", "drop") and bars[cid]["end"] is None:
            bars[cid].update(end=r["tick"], how={"revoke": "revoked", "expire": "expired", "drop": "dropped"}[op],
                             end_cause=r.get("cause"))
    for b in bars.values():
        if b["end"] is None:
            b["end"] = min(b["expires_at"], horizon) if b["expires_at"] is not None else horizon
        b["uses"] = uses.get(b["id"], [])[:100]
    return list(bars.values())


def _graph(calls: Sequence[dict[str, Any]], creds: Sequence[dict[str, Any]], agents: Sequence[str]) -> dict[str, Any]:
    """Identities and resources the episode touched, the calls between them, delegation and representation."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}

    def node(nid: str, kind: str, label: str, **marks: Any) -> None:
        n = nodes.setdefault(nid, {"id": nid, "kind": kind, "label": label, "touches": 0})
        n["touches"] += 1
        for k, v in marks.items():
            n[k] = n.get(k) or v

    def edge(a: str, b: str, kind: str, label: str, seq: int | None = None) -> None:
        e = edges.setdefault((a, b, kind), {"source": a, "target": b, "kind": kind, "label": label, "count": 0, "seqs": []})
        e["count"] += 1
        if seq is not None and len(e["seqs"]) < 20:
            e["seqs"].append(seq)

    for a in agents:
        node(f"id:{a}", "agent", a)
    for c in calls:
        who = f"id:{c.get('agent')}"
        node(who, "agent", str(c.get("agent")))
        if c.get("actor"):
            node(f"id:{c['actor']}", "attacker", str(c["actor"]))
            edge(f"id:{c['actor']}", who, "acts", "uses the credential of")
        executed = c.get("effect") in ("applied", "noop", "delegated")
        changed = executed and bool(c.get("changes"))
        res = c.get("resource")
        if res:
            rid = f"res:{c.get('system')}/{res}"
            node(rid, "resource", f"{res}\n({c.get('system')})", changed=changed,
                 reached=executed and not c.get("in_intent", False), damaged=bool(c.get("affected_weight")))
            kind = "refused" if not executed else "changed" if changed else "reached"
            edge(who, rid, kind, str(c.get("tool")), c.get("seq"))
        for ch in c.get("changes") or []:
            ident = ch.get("identity")
            if ident and executed:
                node(f"id:{ident}", "identity", str(ident), changed=True)
                if ch.get("resource"):
                    edge(f"id:{ident}", f"res:{c.get('system')}/{ch['resource']}", "granted", str(ch.get("op")), c.get("seq"))
        chain = c.get("chain") or []
        for inner, outer in zip(chain, chain[1:], strict=False):
            node(f"id:{outer}", "agent", str(outer))
            node(f"id:{inner}", "agent", str(inner))
            edge(f"id:{outer}", f"id:{inner}", "delegates", "delegates to", c.get("seq"))
        rep = c.get("represents")
        if rep and rep != c.get("agent"):
            node(f"id:{rep}", "identity", str(rep))
            edge(who, f"id:{rep}", "represents", "acts as")
    for b in creds:
        if b.get("derived") and b.get("holder"):
            edge(f"id:{b['holder']}", f"id:{b['holder']}", "derived", "derived credential")
    keep = sorted(nodes.values(), key=lambda n: -n["touches"])[:GRAPH_NODES]
    ids = {n["id"] for n in keep}
    kept_edges = [e for e in edges.values() if e["source"] in ids and e["target"] in ids and e["source"] != e["target"]]
    return {"nodes": keep, "edges": kept_edges, "dropped": len(nodes) - len(keep)}


def _lean(d: dict[str, Any]) -> dict[str, Any]:
    """What the graph and the counts read of a call (a 100,000-call log is kept as these)."""
    keep = ("seq", "kind", "tick", "agent", "actor", "effect", "in_intent", "resource", "system", "tool", "changes", "chain",
            "represents", "credential", "affected_weight")
    return {k: d[k] for k in keep if k in d}


def summarize(docs: Iterable[dict[str, Any]], n: int, where: Any = "the log") -> dict[str, Any]:
    """What the episode view draws besides the trail itself (see the module docstring), in one pass over the records.

    Exposure over time is :func:`simenv.bench.timeline.exposure_series` over the typed header, credential and end
    records (all that it reads), so the other records are never built as objects.
    """
    try:
        return _summarize(docs, n, where)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:  # a log is data from anywhere
        raise SimenvError(f"{where}: a record is malformed ({type(e).__name__}: {str(e)[:120]}); pass a log "
                          "written by simenv run --audit") from None


def _summarize(docs: Iterable[dict[str, Any]], n: int, where: Any) -> dict[str, Any]:
    from simenv.bench.timeline import exposure_series
    from simenv.sim.records import from_json

    head: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    typed: list[Any] = []
    calls: list[dict[str, Any]] = []
    creds: list[dict[str, Any]] = []
    approval_of: dict[str, int] = {}
    uses: dict[str, list[int]] = {}
    counts = {"calls": 0, "refused": 0, "out_of_intent": 0, "pending": 0}
    by_seq: dict[int, dict[str, Any]] = {}
    last_tick = 0
    for d in docs:
        try:
            k = d["kind"]
            tick = d.get("tick") or 0
            if not _is_tick(tick):
                raise SimenvError(f"{where}: record {d.get('seq')}: tick {str(tick)[:40]} is not a tick of an episode "
                                  f"(0 to {MAX_LOG_TICK:,})")
            last_tick = max(last_tick, tick)
            if k == "call":
                d = _lean(d)
                calls.append(d)
                by_seq[int(d.get("seq", -1))] = d
                counts["calls"] += 1
                counts["refused"] += _cls(d) == "deny"
                counts["pending"] += d.get("effect") == "pending"
                counts["out_of_intent"] += not d.get("in_intent", False)
                if d.get("credential") and d.get("effect") != "pending":
                    uses.setdefault(str(d["credential"]), []).append(int(d.get("tick") or 0))
            elif k == "approval":
                approval_of[str(d.get("call_seq", -1))] = int(d.get("seq", -1))
                call = by_seq.get(int(d.get("call_seq", -1)))
                if call is not None:  # the graph shows what the call finally did
                    call.update(effect=d.get("effect"), changes=d.get("changes") or [],
                                affected_weight=d.get("affected_weight"))
                    if d.get("granted") and call.get("credential"):
                        uses.setdefault(str(call["credential"]), []).append(int(d.get("tick") or 0))
            elif k in ("credential", "episode", "end"):
                try:
                    typed.append(from_json(d))
                except (SimenvError, TypeError, ValueError) as e:
                    raise SimenvError(f"{where}: record {d.get('seq')}: {str(e)[:160]}") from None
                if k == "credential":
                    creds.append(d)
                elif k == "episode":
                    head = head or d
                else:
                    end = d
        except (KeyError, TypeError, ValueError, AttributeError) as e:  # a log is data from anywhere
            raise SimenvError(f"{where}: record {d.get('seq')} ({str(d.get('kind'))[:20]}) is malformed "
                              f"({type(e).__name__}: {str(e)[:120]}); pass a log written by simenv run --audit") from None
    if head is None:
        raise SimenvError(f"{where}: no episode header, so not an audit log; pass a log written by simenv run --audit")
    columns: dict[str, None] = {str(a.get("name")): None for a in head.get("agents", [])}
    for col in {_column(c): None for c in calls}:
        columns.setdefault(col, None)
    for c in creds:
        columns.setdefault(str(c.get("holder") or SYSTEM), None)
    horizon = head.get("exposure_horizon") or 0
    if not _is_tick(horizon):
        raise SimenvError(f"{where}: the header's exposure_horizon {str(horizon)[:40]} is not a tick of an episode "
                          f"(0 to {MAX_LOG_TICK:,})")
    if end is None:  # a log with no end record (a run killed mid-way, a file cut short) is drawn as far as it goes
        horizon = last_tick + 1
    bars = _credentials(creds, uses, horizon, "live at the end" if end is not None else "live when the log stops")
    series = exposure_series(Audit(typed), None if end is not None else horizon)
    step = max(1, -(-len(series) // EXPOSURE_POINTS))
    if step > 1:  # the most held in each run of `step` ticks: the page draws at most EXPOSURE_POINTS points
        pad = np.pad(series, (0, -len(series) % step))
        series = pad.reshape(-1, step).max(axis=1)
    agents = [str(a.get("name")) for a in head.get("agents", [])]
    head_small = {k: v for k, v in head.items() if k != "weights"}
    return {"records": n, "header": head_small, "end": end, "columns": [*columns, SYSTEM], "counts": counts,
            "credentials": bars[:CREDENTIAL_BARS], "credential_count": len(bars),
            "exposure": [round(float(x), 4) for x in series.tolist()], "exposure_step": step,
            "graph": _graph(calls, bars, agents), "approval_of": approval_of,
            "last_tick": int(end["tick"]) if end else last_tick}
