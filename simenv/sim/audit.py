"""The audit log: one record for every step of every decision path.

Record kinds:

* ``episode``: the header (scenario, profile, seed, agents, tickets' declared scopes, and the
  estate's sensitivity weights, so that scores can be recomputed from the log alone);
* ``call``: one tool call's whole path: agent, ticket, tool and arguments, credential,
  request, decision with reasons and policy ids, approval, effect, changes and inverses;
* ``approval``: a pending approval resolving, and what was then applied;
* ``credential``: a credential issued, revoked, expired or whose reach changed (with reach);
* ``control``: an agent completing or aborting its ticket; ``ticket``: a ticket opening;
* ``monitor``: a monitor revoking or halting; ``event``: a scheduled event;
* ``end``: final tick, which tickets are done, and the world fingerprint.

Fields ``in_intent``, ``affected`` and ``affected_weight`` are ground-truth labels written for
scoring; monitors never see them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

LABELS = ("in_intent", "affected", "affected_weight")


def _line(rec: dict[str, Any]) -> str:
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


class Audit:
    """An append-only list of JSON-able records with a process-independent fingerprint."""

    def __init__(self, records: Iterable[dict[str, Any]] = ()):
        self.records: list[dict[str, Any]] = list(records)

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append a record of ``kind`` and return it."""
        rec = {"seq": len(self.records), "kind": kind, **fields}
        self.records.append(rec)
        return rec

    def append(self, kind: str, rec: dict[str, Any]) -> dict[str, Any]:
        """Append ``rec`` itself (no copy) as a record of ``kind``; the hot path's :meth:`add`."""
        rec["seq"] = len(self.records)
        rec["kind"] = kind
        self.records.append(rec)
        return rec

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every record of ``kind``."""
        return [r for r in self.records if r["kind"] == kind]

    @property
    def header(self) -> dict[str, Any]:
        """The ``episode`` record."""
        return self.records[0]

    def fingerprint(self) -> str:
        """SHA-256 over the canonical JSON lines of every record."""
        h = hashlib.sha256()
        for rec in self.records:
            h.update(_line(rec).encode())
            h.update(b"\n")
        return h.hexdigest()

    def to_jsonl(self, dest: str | Path | IO[str]) -> None:
        """Write one JSON object per line."""
        if isinstance(dest, (str, Path)):
            with open(dest, "w", encoding="utf-8") as f:
                self.to_jsonl(f)
            return
        for rec in self.records:
            dest.write(_line(rec) + "\n")

    @classmethod
    def from_jsonl(cls, src: str | Path) -> Audit:
        """Read a log written by :meth:`to_jsonl`."""
        with open(src, encoding="utf-8") as f:
            return cls(json.loads(line) for line in f if line.strip())

    def to_frame(self):
        """The log as a pandas DataFrame (one row per record; nested fields stay objects)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.records)


def without_labels(rec: dict[str, Any]) -> dict[str, Any]:
    """A record as a monitor may see it: ground-truth labels removed."""
    return {k: v for k, v in rec.items() if k not in LABELS}
