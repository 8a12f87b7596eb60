"""Writing into a results folder safely: atomic file writes, and where ``simenv bench --audit`` keeps audit logs.

Workers and the sweep's own process both write here (:mod:`simenv.bench.tasks`,
:mod:`simenv.bench.shards`), so this module depends on neither.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from simenv.errors import SimenvError

AUDIT = "audit"


def _part(name: Any) -> str:
    """One path component for a name: percent-quoted, so that no name can climb out or collide.

    >>> _part("scope_creep"), _part("../x y"), _part(".hidden")
    ('scope_creep', '%2E.%2Fx%20y', '%2Ehidden')
    """
    from urllib.parse import quote

    text = quote(str(name), safe="")
    return "%2E" + text[1:] if text.startswith(".") else text


def audit_path(out: Path, scenario: str, policy: str, agent: str, seed: int) -> Path:
    """Where ``simenv bench --audit`` keeps the audit log (JSONL) of one episode of a results folder."""
    return Path(out) / AUDIT / _part(scenario) / _part(policy) / _part(agent) / f"{int(seed)}.jsonl"


class ResultsWriteError(SimenvError):
    """The results folder cannot be written (read-only, full, gone): one line that names the file and says what to do."""


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    The temporary file is created exclusively and never through a symlink, and the rename replaces a symlink at
    ``path`` rather than writing where it points. An OS error (a read-only or full disk) becomes a one-line
    :class:`ResultsWriteError`.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True) if tmp.parent.is_dir() else None
        raise ResultsWriteError(f"cannot write {path}: {e.strerror or e}; make room or make the folder writable, "
                                f"then run the same command with --resume") from None
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # a platform without directory handles
        return
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
