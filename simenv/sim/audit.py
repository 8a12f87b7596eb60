"""The audit log: one typed record for every step of every decision path (see :mod:`simenv.sim.records`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from simenv.errors import SimenvError
from simenv.sim.records import EpisodeHeader, Record, from_json, line, to_json

R = TypeVar("R", bound=Record)


class Audit:
    """An append-only list of typed records with a process-independent fingerprint."""

    def __init__(self, records: Iterable[Record] = ()):
        self.records: list[Record] = list(records)

    def append(self, rec: R) -> R:
        """Append ``rec`` (its ``seq`` becomes its position) and return it."""
        rec.seq = len(self.records)
        self.records.append(rec)
        return rec

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def of_kind(self, cls: type[R]) -> list[R]:
        """Every record of class ``cls`` (for example :class:`~simenv.sim.records.CallRecord`)."""
        return [r for r in self.records if type(r) is cls]

    @property
    def header(self) -> EpisodeHeader:
        """The ``episode`` record."""
        head = self.records[0] if self.records else None
        if not isinstance(head, EpisodeHeader):
            raise SimenvError("the audit log has no episode header")
        return head

    def fingerprint(self) -> str:
        """SHA-256 over the canonical JSON lines of every record."""
        h = hashlib.sha256()
        for rec in self.records:
            h.update(line(rec).encode())
            h.update(b"\n")
        return h.hexdigest()

    def to_json(self) -> list[dict[str, Any]]:
        """Every record as a JSON object."""
        return [to_json(r) for r in self.records]

    def to_jsonl(self, dest: str | Path | IO[str]) -> None:
        """Write one JSON object per line."""
        if isinstance(dest, (str, Path)):
            with open(dest, "w", encoding="utf-8") as f:
                self.to_jsonl(f)
            return
        for rec in self.records:
            dest.write(line(rec) + "\n")

    @classmethod
    def from_json(cls, docs: Iterable[dict[str, Any]]) -> Audit:
        """An audit log from JSON objects (as :meth:`to_json` writes them)."""
        return cls(from_json(d) for d in docs)

    @classmethod
    def from_jsonl(cls, src: str | Path) -> Audit:
        """Read a log written by :meth:`to_jsonl`; a malformed line is a :class:`SimenvError` naming the file."""
        docs = []
        with open(src, encoding="utf-8") as f:
            for n, text in enumerate(f, 1):
                if text.strip():
                    try:
                        docs.append(json.loads(text))
                    except json.JSONDecodeError as e:
                        raise SimenvError(f"{src}: line {n}: not JSON ({e.msg})") from None
        try:
            return cls.from_json(docs)
        except SimenvError as e:
            raise SimenvError(f"{src}: {e}") from None

    def to_frame(self):
        """The log as a pandas DataFrame (one row per record; nested fields stay objects)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.to_json())
