"""Seeded randomness: one seed per episode, named child streams spawned from it.

Child streams are keyed by a stable SHA-256 digest of their name (never the built-in string
hash), so the same seed gives the same streams in any process and whatever ``PYTHONHASHSEED`` is.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_key(name: str) -> int:
    """A process-independent 32-bit integer for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


class Streams:
    """The random streams of one episode.

    >>> s = Streams(7)
    >>> a = s.child("approvals").integers(0, 1000)
    >>> b = Streams(7).child("approvals").integers(0, 1000)
    >>> bool(a == b)
    True
    """

    def __init__(self, seed: int):
        self.seed = int(seed)

    def child(self, name: str) -> np.random.Generator:
        """An independent generator for subsystem ``name``; same name, same stream."""
        seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(stable_key(name),))
        return np.random.Generator(np.random.PCG64(seq))
