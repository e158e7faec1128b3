"""The portal's current trust list and policies, verified, and which policy governs a batch.

The database keeps every trust list and policy the portal accepted, as signed. A :class:`TrustState` is what an
app server works with: the newest list (verified from the pinned authority keys when they are configured, through
every older list the database holds; otherwise from the database, which accepted it only after verification), its
key ring, and the policies that still verify against it. Each app server re-reads the state every few seconds
(``Settings.trust_refresh_seconds``), so that an update made through another server reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import ocop_provenance as op

from .search import fold

__all__ = ["TrustState", "policy_for"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustState:
    """A verified trust list and the policies in force.

    Attributes:
        trust: The current trust list, or None before one is installed.
        ring: Every key of the list (signatures are checked with it; status is judged per event).
        policies: Policy name -> the newest verified policy of that name.
        problem: Why the list cannot be relied on now (``E_TRUST_EXPIRED``), or None.
        loaded_at: ``time.monotonic()`` when this state was read.
    """

    trust: op.TrustList | None
    ring: op.KeyRing = field(default_factory=op.KeyRing)
    policies: Mapping[str, op.Policy] = field(default_factory=dict)
    problem: op.ProvenanceError | None = None
    loaded_at: float = 0.0

    @property
    def trust_id(self) -> bytes:
        """The current list's id (empty before one is installed)."""
        return b"" if self.trust is None else self.trust.object_id

    def participant(self, key_id: bytes) -> op.Participant | None:
        """Who holds ``key_id`` in the current list (whatever the key's status), or None."""
        if self.trust is None:
            return None
        found = self.trust.lookup(key_id)
        return None if found is None else found[0]

    def signer_problem(self, key_id: bytes, at: datetime) -> str | None:
        """The code of why ``key_id`` may not sign at ``at`` under the current list (``E_UNKNOWN_KEY``, …), or None."""
        if self.trust is None:
            return "E_NO_TRUST_LIST"
        try:
            self.trust.check_signer(key_id, at)
        except op.UntrustedKeyError as e:
            return e.code
        return None


def policy_for(policies: Mapping[str, op.Policy], product: op.Product) -> op.Policy | None:
    """Return the policy that governs a batch of ``product``, or None.

    A policy that lists GTINs governs the batches of those GTINs; a policy that lists none governs the batches
    whose product name is its ``kind`` (compared without case and diacritics). When several match, the one with the
    smallest name governs (docs/portal.md §Policies).
    """
    for name in sorted(policies):
        policy = policies[name]
        if policy.gtins:
            if product.gtin is not None and product.gtin in policy.gtins:
                return policy
        elif fold(policy.kind) == fold(product.name):
            return policy
    return None
