"""The credential ledger: the reach of every live credential agents hold, as audit records.

Exposure is scored from these records alone: each says when a credential was issued, when its
potential blast radius changed, and when it was revoked, expired or dropped.
"""

from __future__ import annotations

from simenv.sim.audit import Audit
from simenv.sim.mediation import cred_summary
from simenv.world.changes import Change, CredChange
from simenv.world.model import Credential
from simenv.world.reach import potential_blast_radius
from simenv.world.state import World, cred_order


class CredentialLedger:
    """Tracks credentials held by ``holders`` and writes ``credential`` audit records."""

    def __init__(self, world: World, audit: Audit, holders: set[int]):
        self.world = world
        self.audit = audit
        self.holders = holders
        self.reach: dict[str, float] = {}
        self._keys: dict[str, tuple[int, bool]] = {}

    def live(self) -> list[str]:
        """Ids of the credentials tracked as live."""
        return sorted(self.reach, key=cred_order)

    def sync(self, tick: int, cause: str, changes: list[Change] | tuple[()] = ()) -> None:
        """Record issue / revoke / expiry / reach changes of credentials held by agents.

        Looks only at the credentials already tracked and those ``changes`` touched, so the
        cost does not grow with the estate or with the credentials ever issued.
        """
        w = self.world
        touched = {c.cid for c in changes if isinstance(c, CredChange)}
        for cid in sorted(touched | self.reach.keys(), key=cred_order):
            c = w.creds.get(cid)
            if c is None or c.holder not in self.holders:
                continue
            live = c.live(tick)
            was = self.reach.get(cid)
            if not live:
                if was is not None:
                    op = "revoke" if c.revoked else "expire"
                    self._record(tick, op, c, 0.0, cause)
                    del self.reach[cid]
                continue
            key = (w.grant_version, c.revoked)
            if was is not None and self._keys.get(cid) == key:
                continue
            reach = potential_blast_radius(w, c)[1]
            self._keys[cid] = key
            if was is None:
                self.reach[cid] = reach
                self._record(tick, "issue", c, reach, cause)
            elif abs(reach - was) > 1e-9:
                self.reach[cid] = reach
                self._record(tick, "reach", c, reach, cause)
        for cid in [c for c in self.reach if c not in w.creds]:
            self.audit.add("credential", tick=tick, op="drop", credential=cid, reach=0.0, cause=cause)
            del self.reach[cid]

    def _record(self, tick: int, op: str, c: Credential, reach: float, cause: str) -> None:
        s = cred_summary(self.world, c)
        assert s is not None
        self.audit.add("credential", tick=tick, op=op, credential=c.id, reach=reach, cause=cause,
                       cred_kind=s["kind"], **{k: s[k] for k in ("holder", "represents", "source", "expires_at", "ticket")})

