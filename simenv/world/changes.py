"""World changes. Each change has an exact inverse, so any sequence can be rolled back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simenv.frozen import fast_init
from simenv.types import CredId
from simenv.world.model import Credential


@fast_init
@dataclass(frozen=True, slots=True)
class GrantChange:
    """Set whether identity ``identity`` holds resource ``resource`` (membership or binding)."""

    identity: int
    resource: int
    present: bool

    def inverse(self) -> GrantChange:
        """The change that undoes this one."""
        return GrantChange(self.identity, self.resource, not self.present)


@fast_init
@dataclass(frozen=True, slots=True)
class AttrChange:
    """Set attribute ``key`` of resource ``resource`` from ``old`` to ``new``."""

    resource: int
    key: str
    old: Any
    new: Any

    def inverse(self) -> AttrChange:
        """The change that undoes this one."""
        return AttrChange(self.resource, self.key, self.new, self.old)


@fast_init
@dataclass(frozen=True, slots=True)
class CredChange:
    """Replace credential ``cid`` (``None`` = absent) by ``new``: issue, revoke or drop."""

    cid: CredId
    old: Credential | None
    new: Credential | None

    def inverse(self) -> CredChange:
        """The change that undoes this one."""
        return CredChange(self.cid, self.new, self.old)


@fast_init
@dataclass(frozen=True, slots=True)
class StatusChange:
    """Set whether identity ``identity`` has lifecycle status ``status`` (``disabled`` or ``offboarded``)."""

    identity: int
    status: str
    present: bool

    def inverse(self) -> StatusChange:
        """The change that undoes this one."""
        return StatusChange(self.identity, self.status, not self.present)


STATUSES = ("disabled", "offboarded")
Change = GrantChange | AttrChange | CredChange | StatusChange
