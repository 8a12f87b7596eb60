"""The baseline authorizers: allow everything, deny everything, and static role-based access."""

from __future__ import annotations

from collections.abc import Sequence

from simenv.governance.request import AccessRequest, Decision
from simenv.governance.views import EstateView
from simenv.types import Effect
from simenv.world.model import Ticket


class AllowAll:
    """Allows every request (no governance at all)."""

    name = "allow_all"

    def prepare(self, estate: EstateView, tickets: Sequence[Ticket]) -> None:
        """Nothing to prepare."""

    def authorize(self, request: AccessRequest) -> Decision:
        """Allow."""
        return Decision(Effect.ALLOW, ("allow_all permits every request",), ("allow_all",))


class DenyAll:
    """Denies every request."""

    name = "deny_all"

    def prepare(self, estate: EstateView, tickets: Sequence[Ticket]) -> None:
        """Nothing to prepare."""

    def authorize(self, request: AccessRequest) -> Decision:
        """Deny."""
        return Decision(Effect.DENY, ("deny_all forbids every request",), ("deny_all",))


class StaticRbac:
    """Allows what the credential's standing role bindings permit; nothing else."""

    name = "rbac"

    def prepare(self, estate: EstateView, tickets: Sequence[Ticket]) -> None:
        """Nothing to prepare."""

    def authorize(self, request: AccessRequest) -> Decision:
        """Allow iff a role bound to the credential's identity covers the action."""
        if request.credential_covers:
            why = f"a role of {request.represents.name} permits {request.risk} on {request.system}"
            return Decision(Effect.ALLOW, (why,), ("rbac.role_binding",))
        why = f"no role of {request.represents.name} permits {request.risk} on {request.resource.name}"
        return Decision(Effect.DENY, (why,), ("rbac.no_binding",))
