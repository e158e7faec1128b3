"""The portal's current trust list and policies, verified, and which policy governs a batch.

The database keeps every trust list and policy the portal accepted, as signed: it is the portal's trust store (the
library's :class:`~ocop_provenance.trust.TrustStore` keeps one in a directory; here every app server shares the
database). A :class:`TrustState` is what an app server works with: the newest list, verified as a
:class:`~ocop_provenance.VerifiedTrustList` (from the pinned authority keys through every older list the database
holds when keys are pinned; otherwise the held list is the trusted root,
:func:`~ocop_provenance.trust.load_trusted_root`, as the database accepted it only after verification), and the
policies that still verify against it. Each app server
re-reads the state every few seconds (``Settings.trust_refresh_seconds``), so that an update made through another
server reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import ocop_provenance as op
from ocop_provenance.trust import (
    AuthorityPin,
    Participant,
    TrustError,
    VerifiedPolicy,
    load_trusted_root,
    verify_policy,
)

from .search import fold

__all__ = ["TrustState", "load_state", "policy_for"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustState:
    """A verified trust list and the policies in force.

    Attributes:
        trust: The current trust list, or None before one is installed (or when the held lists do not verify from
            the pinned keys: then ``problem`` says why).
        policies: Policy name -> the newest policy of that name that verifies against ``trust``.
        problem: Why nothing can be verified against the list now (``E_TRUST_EXPIRED``: ``trust`` is still the
            held list, which anchors its successor), or None.
        loaded_at: ``time.monotonic()`` when this state was read.
    """

    trust: op.VerifiedTrustList | None
    policies: Mapping[str, VerifiedPolicy] = field(default_factory=dict)
    problem: op.ProvenanceError | None = None
    loaded_at: float = 0.0

    @property
    def trust_id(self) -> bytes:
        """The current list's id (empty before one is installed)."""
        return b"" if self.trust is None else self.trust.object_id

    def options(self, now: datetime) -> op.VerifyOptions[op.VerifiedTrustList]:
        """Verification settings with the current list as keys: every key signs only inside its window and status.

        Raises:
            AssertionError: There is no list (callers check ``trust`` and ``problem`` first).
        """
        assert self.trust is not None
        return op.VerifyOptions(keys=self.trust, now=now)

    def participant(self, key_id: bytes) -> Participant | None:
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


def load_state(
    lists: Sequence[bytes],
    policies: Sequence[tuple[str, bytes]],
    *,
    authority: AuthorityPin | None,
    now: datetime,
    loaded_at: float,
) -> TrustState:
    """Verify what the database holds: the trust lists (oldest first) and the policies (oldest first per name).

    With pinned ``authority`` keys the newest list is verified from them through every older list (authority
    rotation); without, the newest list is the trusted root (its own authority's signatures, intact). Either way an
    expired list is kept as ``trust`` (it anchors the next one) with ``problem`` set.
    """
    if not lists:
        return TrustState(trust=None, loaded_at=loaded_at)
    newest = lists[-1]
    trust: op.VerifiedTrustList | None = None
    problem: op.ProvenanceError | None = None
    try:
        anchor = authority if authority is not None else load_trusted_root(newest, now=now)
        older = list(lists[:-1]) if authority is not None else []
        trust = op.verify_trust_list(newest, anchor, now=now, intermediates=older)
    except TrustError as e:
        problem = e
        if e.code == op.ErrorCode.TRUST_EXPIRED:
            # Every signature verified (expiry is judged last): the list still carries its authority forward.
            trust = load_trusted_root(newest, now=now)
    except op.ProvenanceError as e:
        problem = e
    in_force: dict[str, VerifiedPolicy] = {}
    if trust is not None:
        for name, raw in policies:
            try:
                in_force[name] = verify_policy(raw, trust, now=now)
            except op.ProvenanceError:
                in_force.pop(name, None)  # no longer signed by the list's authority, or expired: not in force
    return TrustState(trust=trust, policies=in_force, problem=problem, loaded_at=loaded_at)


def policy_for(policies: Mapping[str, VerifiedPolicy], product: op.Product) -> VerifiedPolicy | None:
    """Return the policy that governs a batch of ``product``, or None.

    A policy that lists GTINs governs the batches of those GTINs; a policy that lists none governs the batches
    whose product name is its ``kind`` (compared without case and diacritics). When several match, the one with the
    smallest name governs (docs/portal.md §Policies).
    """
    for name in sorted(policies):
        policy = policies[name]
        gtins = policy.policy.gtins
        if gtins:
            if product.gtin is not None and product.gtin in gtins:
                return policy
        elif fold(policy.kind) == fold(product.name):
            return policy
    return None
