"""Results on disk: atomic shards while a sweep runs, consolidated files at the end.

Layout of a results folder::

    matrix.json        what was asked (scenario and profile references, seeds, agent, size)
    shards/part-*.jsonl one finished chunk each, written atomically (temp file, fsync, rename)
    episodes.parquet   one row per episode (pyarrow)
    summary.csv        per scenario × profile × agent × score: n, mean, IQM, 95% CIs

A shard is either absent or whole: a sweep killed mid-write leaves at most a ``*.tmp`` file,
which is ignored and removed. Rows are keyed by (scenario, policy, seed, agent); when a
key appears twice, the later shard wins.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simenv.bench.tasks import EXECUTOR_ERROR, KEY

SHARDS = "shards"
MANIFEST = "matrix.json"
EPISODES = "episodes.parquet"
SUMMARY = "summary.csv"


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        return _clean(v.item())
    return v


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # a platform without directory handles
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ShardWriter:
    """Appends finished chunks as numbered shard files under ``out/shards``."""

    def __init__(self, out: Path):
        self.dir = Path(out) / SHARDS
        self.dir.mkdir(parents=True, exist_ok=True)
        for tmp in self.dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        taken = [int(p.stem.split("-")[1]) for p in self.dir.glob("part-*.jsonl")]
        self.next = max(taken, default=-1) + 1

    def write(self, rows: list[dict[str, Any]]) -> Path:
        """Write one shard of ``rows`` atomically; return its path."""
        lines = "".join(json.dumps({k: _clean(v) for k, v in r.items()}, allow_nan=False) + "\n" for r in rows)
        path = self.dir / f"part-{self.next:06d}.jsonl"
        atomic_write(path, lines.encode())
        self.next += 1
        return path


def read_shards(out: Path) -> list[dict[str, Any]]:
    """Every row of every whole shard, in shard order."""
    rows: list[dict[str, Any]] = []
    for p in sorted((Path(out) / SHARDS).glob("part-*.jsonl")):
        with open(p, encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f if line.strip())
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
    p = Path(out) / MANIFEST
    return json.loads(p.read_text()) if p.exists() else {}


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
        return pd.read_parquet(p, engine="pyarrow")
    rows = read_shards(out)
    if not rows:
        from simenv.errors import SimenvError

        raise SimenvError(f"{out}: no {EPISODES} and no shards; run `simenv bench --out {out}` first")
    return frame(rows)
