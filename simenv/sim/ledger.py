"""The credential ledger: the reach of every live credential agents hold, as audit records.

Exposure is scored from these records alone: each says when a credential was issued (with its
holder, its expiry and what it can reach, a coverage), when its reach changed, and when it was
revoked, expired or dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from simenv.sim.audit import Audit
from simenv.sim.records import CredentialRecord
from simenv.types import CredId, CredOp, cred_label
from simenv.world.changes import Change, CredChange
from simenv.world.model import Credential
from simenv.world.reach import Coverage, potential_blast_radius
from simenv.world.state import World


class CredentialLedger:
    """Tracks credentials held by ``holders`` and writes ``credential`` audit records."""

    def __init__(self, world: World, audit: Audit, holders: set[int]):
        self.world = world
        self.audit = audit
        self.holders = holders
        self.reach: dict[CredId, float] = {}
        self._keys: dict[CredId, tuple[int, int, bool]] = {}
        self._holder: dict[CredId, str] = {}

    def live(self) -> list[CredId]:
        """Ids of the credentials tracked as live, in issue order."""
        return sorted(self.reach)

    def sync(self, tick: int, cause: str, changes: Iterable[Change] = ()) -> None:
        """Record issue / revoke / expiry / reach changes of credentials held by agents.

        Looks only at the credentials already tracked and those ``changes`` touched, so the
        cost does not grow with the estate or with the credentials ever issued.
        """
        w = self.world
        touched = {c.cid for c in changes if isinstance(c, CredChange)}
        for cid in sorted(touched | self.reach.keys()):
            c = w.creds.get(cid)
            if c is None or c.holder not in self.holders:
                continue
            live = c.live(tick)
            was = self.reach.get(cid)
            if not live:
                if was is not None:
                    self._record(tick, CredOp.REVOKE if c.revoked else CredOp.EXPIRE, c, 0.0, cause)
                    del self.reach[cid]
                continue
            key = (w.grant_version, w.attr_version, c.revoked)  # reach follows grants and pasted secrets
            if was is not None and self._keys.get(cid) == key:
                continue
            cov, reach = potential_blast_radius(w, c)
            self._keys[cid] = key
            if was is None:
                self.reach[cid] = reach
                self._record(tick, CredOp.ISSUE, c, reach, cause, cov)
            elif abs(reach - was) > 1e-9:
                self.reach[cid] = reach
                self._record(tick, CredOp.REACH, c, reach, cause, cov)
        for cid in [c for c in sorted(self.reach) if c not in w.creds]:
            self.audit.append(CredentialRecord(tick=tick, op=CredOp.DROP, credential=cred_label(cid), reach=0.0,
                                               cause=cause, holder=self._holder.get(cid)))
            del self.reach[cid]

    def _record(self, tick: int, op: CredOp, c: Credential, reach: float, cause: str, cov: Coverage | None = None) -> None:
        ids = self.world.identities
        self._holder[c.id] = ids[c.holder].name
        self.audit.append(CredentialRecord(
            tick=tick, op=op, credential=cred_label(c.id), reach=reach, covers=cov.to_json(self.world) if cov else None,
            cause=cause, cred_kind=str(c.kind), holder=ids[c.holder].name, represents=ids[c.represents].name,
            source=c.source, expires_at=c.expires_at, ticket=c.ticket))
