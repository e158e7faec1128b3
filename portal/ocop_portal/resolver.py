"""The GS1 Digital Link resolver: a scanned URL to a verdict, and the linkset of an identified item.

The URL a seal signs names the portal's *public* base (``Settings.public_url``): a request that reaches the app
as ``http://127.0.0.1:8000/01/…`` behind a proxy is verified as ``https://id.example.vn/01/…``. Only the ``s``
parameter belongs to the seal; other query parameters (``linkType``, ``lang``) pass through (GS1-Conformant
Resolver). Every verdict is a pure function of the seal text, the trust list, the governing policy, the batch's head
and the date, and is memoised on exactly those (:attr:`Resolver.memo`); a held chain never changes below its head.

The library decides: :func:`~ocop_provenance.verify_seal` with the verified trust list as keys and the batch's held
chain checks the seal's signature, that its key was usable on the sealing date, that the sealer's role may seal
(``E_SEAL_ROLE``; the governing policy's ``sealers``) and owns the sealed GTIN (``E_GTIN_NOT_OWNED``), every step's
key at the time the step claims, what the genesis claims (``E_CLAIM_MISMATCH``) and that the chain reaches the sealed
head; it names the sealer as the trust list does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import ocop_provenance as op
from ocop_provenance.gs1 import DigitalLink, parse_digital_link
from ocop_provenance.seals import SealVerification, UnverifiedSeal, parse_unverified_seal, verify_seal

from . import queries
from .i18n import N_
from .registry import Registry
from .trust import TrustState
from .views import BatchView, LruCache, Verdict, build_batch_view

__all__ = ["GS1_VOC", "LINK_TYPES", "Resolver", "linkset"]

GS1_VOC = "https://gs1.org/voc/"
#: The link types this resolver serves (GS1 Web Vocabulary).
LINK_TYPES = ("pip", "defaultLink", "traceability", "certificationInfo", "verificationService")

_MESSAGES: dict[str, tuple[int, str]] = {
    "E_NOT_PUBLISHED": (404, N_("This batch has not been published on this portal yet.")),
    "E_SEAL_ROLLBACK": (404, N_("This batch's record has not been published up to the sealed step yet.")),
    "E_SIGNATURE": (422, N_("The code was altered, or its seal belongs to another product or batch.")),
    "E_UNKNOWN_KEY": (422, N_("The seal was signed with a key that the provincial trust list does not know.")),
    "E_KEY_REVOKED": (422, N_("The seal was signed with a key that the provincial office has revoked.")),
    "E_KEY_EXPIRED": (422, N_("The signing key was not valid on the sealing date.")),
    "E_KEY_RETIRED": (422, N_("The signing key was not valid on the sealing date.")),
    "E_KEY_NOT_YET_VALID": (422, N_("The signing key was not valid on the sealing date.")),
    "E_SEAL_HEAD": (422, N_("The record held here is not the one that was sealed.")),
    "E_SEAL_BATCH": (422, N_("The seal does not match the record held here.")),
    "E_SEAL_SIGNER": (422, N_("The seal does not match the record held here.")),
    "E_SEAL_TIME": (422, N_("The seal does not match the record held here.")),
    "E_SEAL_FUTURE": (422, N_("The seal is dated in the future.")),
    "E_SEAL_ROLE": (422, N_("The seal was made by a participant whose role may not seal products.")),
    "E_GTIN_NOT_OWNED": (
        422,
        N_("The product code (GTIN) does not belong to the participant who signed: it is someone else's product."),
    ),
    "E_CLAIM_MISMATCH": (
        422,
        N_("The record claims a producer, place or code that its signer may not claim under the trust list."),
    ),
    "E_SIGNER_NOT_ALLOWED": (
        422,
        N_(
            "A step of this record was signed with a key that the trust list does not allow"
            " (revoked, expired or unknown)."
        ),
    ),
    "E_NO_TRUST_LIST": (503, N_("This portal has no trust list yet: nothing can be verified.")),
    "E_TRUST_EXPIRED": (503, N_("This portal's trust list has expired: nothing can be verified until it is renewed.")),
}
_MALFORMED = (400, N_("The code is damaged or incomplete: it is not a valid seal."))
_OTHER = (422, N_("The seal does not verify."))


def _failure(code: str, *, detail: str | None = None, **kw: Any) -> Verdict:
    status, message = _MESSAGES.get(code, _OTHER)
    return Verdict(ok=False, code=code, status=status, message=message, detail=detail, **kw)


def _error_verdict(error: op.ProvenanceError, **kw: Any) -> Verdict:
    if isinstance(error, op.FormatError) and error.code not in _MESSAGES:
        status, message = _MALFORMED
        return Verdict(ok=False, code=error.code, status=status, message=message, detail=str(error), **kw)
    return _failure(error.code, detail=str(error), **kw)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A resolved request: the verdict and the URLs the answer names."""

    verdict: Verdict
    anchor: str | None
    seal_url: str | None


class Resolver:
    """Turns a Digital Link request into a :class:`Verdict` (and counts look-ups of serialised units)."""

    def __init__(self, registry: Registry, *, memo_size: int = 4096) -> None:
        """Serve from ``registry``'s database and trust state."""
        self.registry = registry
        self.public = registry.settings.public_url
        self.decoded: LruCache[tuple[bytes, bytes], tuple[op.SignedEvent, ...]] = LruCache(256)
        self.memo: LruCache[tuple[str, bytes, bytes, str, str, str], SealVerification | op.ProvenanceError] = LruCache(
            memo_size
        )

    def batch_view(self, batch_id: bytes, state: TrustState) -> BatchView | None:
        """The view of a held batch, or None."""
        with self.registry.db.read() as conn:
            return build_batch_view(conn, batch_id, state, self.decoded)

    def resolve(self, path: str, seal: str | None, *, count: bool = True) -> Resolved:
        """Verify the code at ``path`` (``/01/…`` or ``/ocop/…``, as received) with its ``s`` parameter.

        Args:
            path: The request path, percent-escapes as received.
            seal: The ``s`` query parameter, or None.
            count: Count the look-up of a serialised unit (False for HEAD requests).

        Returns:
            The verdict, the item's anchor URL (no query) and the sealed URL, as the public base names them.
        """
        url = self.public + path
        state = self.registry.state()
        now = self.registry.settings.clock()
        if seal is None:
            return self._unsealed(url, state)
        text = f"{url}?s={seal}"
        try:
            unverified = parse_unverified_seal(text)
        except op.ProvenanceError as e:
            return Resolved(_error_verdict(e), None, None)
        st = unverified.statement
        anchor = st.link().to_url()
        if state.trust is None:
            return Resolved(_failure("E_NO_TRUST_LIST", statement=st), anchor, text)
        if state.problem is not None:
            return Resolved(_error_verdict(state.problem, statement=st), anchor, text)
        with self.registry.db.read() as conn:
            candidates = queries.find_batches(conn, gtin=st.gtin, batch_ref=st.batch_ref, lot=st.lot)
            if not candidates:
                return Resolved(_failure("E_NOT_PUBLISHED", statement=st), anchor, text)
            chosen = candidates[0].batch_id
            for c in candidates:
                held = queries.event_id_at(conn, bytes(c.batch_id), st.seq) if c.head_seq >= st.seq else None
                if held is not None and held.startswith(st.head):
                    chosen = c.batch_id
                    break
            view = build_batch_view(conn, bytes(chosen), state, self.decoded)
        assert view is not None
        policy_id = b"" if view.policy is None else view.policy.object_id  # its sealers may seal
        key = (text, state.trust_id, policy_id, view.batch_id, view.head_id, now.date().isoformat())
        result = self.memo.get_or_make(key, lambda: _verify(unverified, state, view, now))
        if isinstance(result, op.UntrustedKeyError) and result.seq is not None:
            # A step of the held chain (not the seal) was signed with a key the list does not allow at its time.
            return Resolved(
                _failure("E_SIGNER_NOT_ALLOWED", detail=str(result), statement=st, batch=view), anchor, text
            )
        if isinstance(result, op.ProvenanceError):
            return Resolved(_error_verdict(result, statement=st, batch=view), anchor, text)
        scans = self.registry.count_scan(st.link().path) if count and st.serial is not None else None
        verdict = Verdict(
            ok=True,
            code=result.code,
            status=200,
            message=N_(
                "The seal verifies, it covers the record held here, and every signer is who the trust list says."
            ),
            statement=st,
            verification=result,
            batch=view,
            scans=scans,
        )
        return Resolved(verdict, anchor, text)

    def _unsealed(self, url: str, state: TrustState) -> Resolved:
        try:
            link = parse_digital_link(url)
        except op.ProvenanceError as e:
            return Resolved(_error_verdict(e), None, None)
        anchor = DigitalLink(
            resolver=link.resolver, gtin=link.gtin, batch_ref=link.batch_ref, lot=link.lot, serial=link.serial
        ).to_url()
        if link.lot is None:
            return Resolved(_failure("E_NOT_PUBLISHED"), anchor, None)
        with self.registry.db.read() as conn:
            candidates = queries.find_batches(conn, gtin=link.gtin, batch_ref=link.batch_ref, lot=link.lot)
            view = build_batch_view(conn, bytes(candidates[0].batch_id), state, self.decoded) if candidates else None
        if view is None:
            return Resolved(_failure("E_NOT_PUBLISHED"), anchor, None)
        verdict = Verdict(
            ok=False,
            code="NO_SEAL",
            status=200,
            message=N_("This link carries no seal: the record is shown, but nothing here proves it is this package's."),
            batch=view,
        )
        return Resolved(verdict, anchor, None)


def _verify(
    unverified: UnverifiedSeal, state: TrustState, view: BatchView, now: datetime
) -> SealVerification | op.ProvenanceError:
    try:
        return verify_seal(unverified, state.options(now), chain=view.events, policy=view.policy)
    except op.ProvenanceError as e:
        return e


def linkset(public: str, anchor: str, seal_url: str | None, view: BatchView, title: str) -> dict[str, Any]:
    """The item's links as an RFC 9264 linkset (JSON), with GS1 Web Vocabulary link types."""
    page = seal_url or anchor
    batch = f"{public}/batches/{view.batch_id}"
    links: dict[str, Any] = {
        "anchor": anchor,
        "itemDescription": title,
        f"{GS1_VOC}pip": [{"href": page, "title": title, "type": "text/html", "hreflang": ["vi", "en"]}],
        f"{GS1_VOC}defaultLink": [{"href": page, "title": title, "type": "text/html", "hreflang": ["vi", "en"]}],
        f"{GS1_VOC}traceability": [
            {
                "href": f"{public}/api/v1/batches/{view.batch_id}",
                "title": "Traceability record",
                "type": "application/json",
            },
            {
                "href": f"{public}/api/v1/batches/{view.batch_id}/bundle",
                "title": "Offline bundle (ocop verify)",
                "type": "application/octet-stream",
            },
        ],
    }
    if view.certificate is not None:
        links[f"{GS1_VOC}certificationInfo"] = [
            {
                "href": f"{batch}#certificate",
                "title": f"OCOP {view.certificate.stars}★ {view.certificate.number}",
                "type": "text/html",
            }
        ]
    if seal_url is not None:
        links[f"{GS1_VOC}verificationService"] = [
            {
                "href": f"{public}/api/v1/seals/verify?url={quote(seal_url, safe='')}",
                "title": "Seal verification",
                "type": "application/json",
            }
        ]
    return {"linkset": [links]}
