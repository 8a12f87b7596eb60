"""The audit log: one typed record for every step of every decision path (see :mod:`simenv.sim.records`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from simenv.errors import SimenvError
from simenv.gcpause import paused_gc
from simenv.sim.records import EpisodeHeader, Record, from_json, line, to_json

R = TypeVar("R", bound=Record)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a value an audit log holds")


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
        """Read a log written by :meth:`to_jsonl`; anything malformed is a one-line :class:`SimenvError` naming the file.

        A log is data from anywhere: a line that is not a JSON object, a value JSON cannot write back (NaN), nesting
        deeper than a log has, text that is not UTF-8 or a file that cannot be read are each refused here.
        """
        with paused_gc():  # a million objects for 100,000 records: read with the collector on, 6.1 s; paused, 2.7 s
            return cls._from_jsonl(src)

    @classmethod
    def _from_jsonl(cls, src: str | Path) -> Audit:
        docs = []
        try:
            with open(src, encoding="utf-8") as f:
                for n, text in enumerate(f, 1):
                    if not text.strip():
                        continue
                    try:
                        doc = json.loads(text, parse_constant=_no_constant)
                    except (ValueError, RecursionError) as e:
                        why = e.msg if isinstance(e, json.JSONDecodeError) else type(e).__name__
                        raise SimenvError(f"{src}: line {n}: not a JSON record ({str(why)[:100]})") from None
                    if not isinstance(doc, dict):
                        raise SimenvError(f"{src}: line {n}: not a JSON object")
                    docs.append(doc)
        except UnicodeDecodeError:
            raise SimenvError(f"{src}: not UTF-8 text, so not an audit log") from None
        except OSError as e:
            raise SimenvError(f"{src}: cannot read: {e.strerror or e}") from None
        if docs and docs[0].get("type") == "header" and "kind" not in docs[0]:
            raise SimenvError(f"{src}: a transcript written by simenv record, not an audit log: replay it with "
                              f"simenv run SCENARIO --agent replay:{src}, or pass a log written by simenv run --audit")
        if docs and "kind" not in docs[0]:
            raise SimenvError(f"{src}: line 1 has no record kind, so this is not an audit log: "
                              "pass a log written by simenv run --audit")
        try:
            return cls.from_json(docs)
        except SimenvError as e:
            raise SimenvError(f"{src}: {e}") from None
        except (TypeError, ValueError) as e:
            raise SimenvError(f"{src}: not a log of this version ({str(e)[:120]})") from None

    def to_frame(self):
        """The log as a pandas DataFrame (one row per record; nested fields stay objects)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.to_json())
