"""Outside authorizers that misbehave for real, to test that the fuzz harness survives and attributes them.

A profile names them as ``fuzz_plugins:Segfault`` and so on; the profile loader builds the
authorizer when the profile is validated, so each misbehaves inside ``simenv validate``.
"""

import ctypes
import time

from simenv.governance.basic import AllowAll


class Segfault:
    """Dereferences a null pointer: the process dies of SIGSEGV, as an engine's native code can."""

    def __init__(self, policy=None):
        ctypes.string_at(0)


class Hang:
    """Never returns (as a policy engine stuck on a pathological file)."""

    def __init__(self, policy=None):
        time.sleep(3600)


class Hog(AllowAll):
    """Allows everything, and holds 400 MB of written memory for as long as it lives."""

    def __init__(self, policy=None):
        self.blob = b"x" * (400 * 2**20)
