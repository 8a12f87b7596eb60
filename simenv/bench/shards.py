"""Results on disk: atomic shards while a sweep runs, consolidated files at the end.

Layout of a results folder::

    matrix.json        what was asked (scenario and profile references, seeds, agent, size)
    shards/part-*.jsonl one finished chunk each, written atomically (temp file, fsync, rename)
    episodes.parquet   one row per episode (pyarrow)
    summary.csv        per scenario × profile × agent × score: n, mean, IQM, 95% CIs
    audit/S/P/A/N.jsonl with ``simenv bench --audit``: the audit log of episode (S, P, A, seed N)

A shard is either absent or whole: a sweep killed mid-write leaves at most a ``*.tmp`` file,
which is ignored and removed. Rows are keyed by (scenario, policy, seed, agent); when a
key appears twice, the later shard wins.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from simenv.bench.store import AUDIT, ResultsWriteError, atomic_write, audit_path
from simenv.bench.tasks import EXECUTOR_ERROR, KEY
from simenv.errors import SimenvError

SHARDS = "shards"
MANIFEST = "matrix.json"
EPISODES = "episodes.parquet"
SUMMARY = "summary.csv"
__all__ = ["AUDIT", "ResultsWriteError", "atomic_write", "audit_path"]  # kept here too: the folder's layout in one place
def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        return _clean(v.item())
    return v


LOCK = ".lock"
"""The lock file a sweep holds in its results folder while it writes there."""


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` (an advisory ``flock``) while a sweep writes into ``out``; a second sweep is refused.

    The lock dies with its process, so a sweep killed with ``kill -9`` never leaves a stale one behind.
    """
    try:
        import fcntl
    except ImportError:  # no flock on this platform: sweeps on one folder are not guarded
        yield
        return
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as e:
        raise ResultsWriteError(f"cannot write into {out}: {e.strerror or e}; choose another --out") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise SimenvError(f"{out} is in use by another sweep (process {holder}); wait for it to finish, or "
                              f"choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def check_inside(out: Path, names: Iterable[str]) -> None:
    """Refuse a results folder whose outputs are symlinks: a sweep writes only inside its folder."""
    for name in names:
        if (Path(out) / name).is_symlink():
            raise SimenvError(f"{Path(out) / name} is a symlink; a sweep writes only inside its results folder: "
                              f"remove the link, or choose another --out")


class ShardWriter:
    """Appends finished chunks as numbered shard files under ``out/shards``."""

    def __init__(self, out: Path):
        self.dir = Path(out) / SHARDS
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            for tmp in self.dir.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
        except OSError as e:
            raise ResultsWriteError(f"cannot write into {self.dir}: {e.strerror or e}; choose another --out") from None
        taken = [int(n) for p in self.dir.glob("part-*.jsonl") if (n := p.stem.split("-")[1]).isdigit()]
        self.next = max(taken, default=-1) + 1

    def write(self, rows: list[dict[str, Any]]) -> Path:
        """Write one shard of ``rows`` atomically; return its path."""
        lines = "".join(json.dumps({k: _clean(v) for k, v in r.items()}, allow_nan=False) + "\n" for r in rows)
        path = self.dir / f"part-{self.next:06d}.jsonl"
        atomic_write(path, lines.encode())
        self.next += 1
        return path


CORRUPT = ".corrupt"


def _shard_rows(p: Path) -> list[dict[str, Any]]:
    """The rows of one shard; a ``ValueError`` says why it is not a whole shard."""
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"line {n}: not JSON ({e.msg})") from None
        if not isinstance(row, dict) or any(k not in row for k in KEY) or not isinstance(row["seed"], int):
            raise ValueError(f"line {n}: not an episode row")
        rows.append(row)
    return rows


def read_shards(out: Path, set_aside: bool = False) -> list[dict[str, Any]]:
    """Every row of every whole shard, in shard order.

    A shard that is not whole (edited, truncated by a full disk, bit rot) is named in a one-line error; with
    ``set_aside`` (what ``--resume`` does) it is renamed ``part-N.jsonl.corrupt``, a note says so on stderr, and
    its episodes run again.
    """
    rows: list[dict[str, Any]] = []
    for p in sorted((Path(out) / SHARDS).glob("part-*.jsonl")):
        try:
            rows.extend(_shard_rows(p))
        except (ValueError, OSError) as e:
            why = e.strerror if isinstance(e, OSError) else str(e)
            if not set_aside:
                raise SimenvError(f"{p}: corrupt shard ({why}); `simenv bench --resume` sets it aside and reruns "
                                  f"its episodes") from None
            p.replace(p.with_name(p.name + CORRUPT))
            print(f"simenv: {p}: corrupt shard ({why}); set aside as {p.name}{CORRUPT}, its episodes run again",
                  file=sys.stderr)
    return rows


def row_key(row: dict[str, Any]) -> tuple[str, str, int, str]:
    return (row["scenario"], row["policy"], int(row["seed"]), row["agent"])


def done_keys(rows: Iterable[dict[str, Any]]) -> set[tuple[str, str, int, str]]:
    """Keys that need no rerun: every row except those an executor failure produced."""
    return {row_key(r) for r in rows if not str(r.get("error") or "").startswith(EXECUTOR_ERROR)}


def frame(rows: Iterable[dict[str, Any]], order: list[tuple[str, str, int, str]] | None = None):
    """Rows → a DataFrame: one row per key (the last wins), in ``order`` then key order."""
    import pandas as pd

    latest: dict[tuple[str, str, int, str], dict[str, Any]] = {}
    for r in rows:
        latest[row_key(r)] = r
    rank = {k: i for i, k in enumerate(order or [])}
    keys = sorted(latest, key=lambda k: (rank.get(k, len(rank)), k))
    df = pd.DataFrame.from_records([latest[k] for k in keys])
    if df.empty:
        return pd.DataFrame(columns=[*KEY, "error"])
    tail = [c for c in ("error", "wall_s") if c in df.columns]
    return df[[*KEY, *[c for c in df.columns if c not in KEY and c not in tail], *tail]]


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Write ``out/matrix.json``: what the sweep asked for (a resumed sweep must ask for the same)."""
    atomic_write(Path(out) / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())


def read_manifest(out: Path) -> dict[str, Any]:
    """``out/matrix.json`` (``{}`` when there is none); a damaged one is a one-line error."""
    p = Path(out) / MANIFEST
    if not p.exists():
        return {}
    try:
        doc = json.loads(p.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as e:
        raise SimenvError(f"{p}: cannot read what the sweep asked for ({type(e).__name__}); pass --force to start "
                          f"the sweep over") from None
    if not isinstance(doc, dict):
        raise SimenvError(f"{p}: not a sweep's matrix; pass --force to start the sweep over")
    why = _manifest_problem(doc)
    if why is not None:
        raise SimenvError(f"{p}: {why}, so not a sweep's matrix; pass --force to start the sweep over")
    return doc


def _manifest_problem(doc: dict[str, Any]) -> str | None:
    """What in a read ``matrix.json`` is not what :func:`write_manifest` writes, or ``None``."""
    for key in ("scenarios", "policies"):
        v = doc.get(key, {})
        if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
            return f"{key} is not a table of names to files"
    seeds = doc.get("seeds", [])
    if not isinstance(seeds, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in seeds):
        return "seeds is not a list of integers"
    if not isinstance(doc.get("agent"), str | None):
        return "agent is not a name"
    size = doc.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
        return "size is not an estate size"
    return None


def write_results(out: Path, df, summary) -> None:
    """Write ``episodes.parquet`` and ``summary.csv`` atomically."""
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, engine="pyarrow", index=False)
    atomic_write(Path(out) / EPISODES, buf.getvalue())
    atomic_write(Path(out) / SUMMARY, summary.to_csv(index=False).encode())


def read_episodes(out: Path):
    """``out/episodes.parquet`` as a DataFrame (or the shards, if it was never consolidated)."""
    import pandas as pd

    p = Path(out) / EPISODES
    if p.exists():
        try:
            df = pd.read_parquet(p, engine="pyarrow")
        except (OSError, ValueError) as e:  # pyarrow's errors derive from these
            raise SimenvError(f"{p}: not a readable parquet file ({' '.join(str(e).split())[:200]}); rerun the sweep "
                              f"with --resume to rebuild it from its shards") from None
        why = _episodes_problem(df)
        if why is not None:
            raise SimenvError(f"{p}: {why}, so not a sweep's episodes; rerun the sweep with --resume to rebuild it "
                              f"from its shards")
        return df
    rows = read_shards(out)
    if not rows:
        raise SimenvError(f"{out}: no {EPISODES} and no shards; run `simenv bench --out {out}` first")
    df = frame(rows)
    why = _episodes_problem(df)
    if why is not None:
        raise SimenvError(f"{out / SHARDS}: {why}, so not a sweep's episodes; run the sweep again with --force")
    return df


def _episodes_problem(df) -> str | None:
    """What in an episodes frame read back is not what a sweep writes (a key or score column of another type)."""
    import pandas as pd

    from simenv.metrics import SCORE_NAMES

    if df.empty:
        return None
    for c in KEY:
        if c not in df.columns:
            return f"it has no {c} column"
    if not pd.api.types.is_integer_dtype(df["seed"]):
        return "its seed column is not integers"
    for c in ("scenario", "policy", "agent", "fingerprint"):  # a failed episode has no fingerprint
        if c in df.columns and not (df[c] if c in KEY else df[c].dropna()).map(lambda v: isinstance(v, str)).all():
            return f"its {c} column is not text"
    for c in SCORE_NAMES:  # a score undefined in every episode (time_to_revoke) is a column of nulls
        if c != "fingerprint" and c in df.columns and not (
                pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])
                or df[c].dropna().map(lambda v: isinstance(v, numbers.Real)).all()):
            return f"its {c} column is not numbers"
    return None
