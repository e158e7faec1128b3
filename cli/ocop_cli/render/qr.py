"""``ocop qr``: a sealed code made, a label sheet written, a seal verified or not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ocop_provenance as op
from ocop_provenance.seals import RECOMMENDED_MODULE_MM, QrCode, Seal, SealChainInfo, SealVerification

from .. import i18n
from .core import JsonDict, Result, Text, error_json, lines
from .explain import explain, explain_seal
from .verify import VerifyFailure, problem_lines, where_text
from .words import iso, short, t, tn

__all__ = ["LabelProducer", "SealFailure", "SealMade", "SealSheet", "SealVerified", "seal_json"]

#: The quiet zone around a printed code, in modules on each side (ISO/IEC 18004).
_QUIET = 4


def _below_advice(module_mm: float) -> bool:
    # Modules under the advice still scan held close, but not on every phone: a warning in every output mode.
    return 0 < module_mm < RECOMMENDED_MODULE_MM


def seal_json(batch_id: bytes, seal: Seal) -> JsonDict:
    """A seal as JSON (the ``seal`` member of ``qr make``, ``first``/``last`` of ``qr labels``)."""
    st = seal.statement
    return {
        "batch_id": batch_id.hex(),
        "key_id": seal.key_id.hex(),
        "seal_id": seal.seal_id.hex(),
        "resolver": st.resolver,
        "gtin": st.gtin,
        "lot": st.lot,
        "serial": st.serial,
        "seq": st.seq,
        "head": st.head.hex(),
        "sealed_on": st.sealed_on.isoformat(),
        "url": seal.to_url(),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class SealMade(Result):
    """What ``ocop qr make`` made: the code's text on stdout (after the drawing, if any)."""

    batch_id: bytes
    seal: Seal
    text: str
    form: str
    qr: QrCode
    output: str
    kind: str
    size: int
    terminal: str | None
    key_name: str
    module_mm: float = 0.0
    dpi: float | None = None

    @property
    def _file(self) -> bool:
        return self.kind in ("png", "svg")

    @property
    def warnings(self) -> tuple[str, ...]:
        if not (self._file and _below_advice(self.module_mm)):
            return ()
        return (
            t(
                "the code prints {mm} mm modules: phones read them held close, but older phones and phones further "
                "away need {advice} mm or more (a larger --module-mm)",
                mm=f"{self.module_mm:.2f}",
                advice=RECOMMENDED_MODULE_MM,
            ),
        )

    @property
    def width_mm(self) -> float:
        """The printed width of the code, its quiet zone included."""
        return (self.qr.size + 2 * _QUIET) * self.module_mm

    def to_json(self) -> JsonDict:
        doc: JsonDict = {
            "text": self.text,
            "form": self.form,
            "output": self.output,
            "format": self.kind,
            "bytes": self.size,
            "qr": {"version": self.qr.version, "modules": self.qr.size, "ec_level": self.qr.ec_level},
            "seal": seal_json(self.batch_id, self.seal),
        }
        if self._file:
            doc["printed"] = {
                "module_mm": round(self.module_mm, 3),
                "width_mm": round(self.width_mm, 1),
                "dpi": None if self.dpi is None else round(self.dpi, 2),
            }
        if self.terminal is not None:
            doc["terminal"] = self.terminal
        return doc

    def to_text(self) -> Text:
        st = self.seal.statement
        sealed = {
            "batch": short(self.batch_id),
            "seq": st.seq,
            "key": self.key_name,
            "date": st.sealed_on.isoformat(),
            "serial": st.serial,
        }
        if st.serial:
            first = t("sealed batch {batch} up to #{seq} with {key}, dated {date}, serial {serial}", **sealed)
        else:
            first = t("sealed batch {batch} up to #{seq} with {key}, dated {date}", **sealed)
        code = {"version": self.qr.version, "modules": self.qr.size, "ec": self.qr.ec_level}
        printed = {
            "path": self.output,
            "size": self.size,
            "width": f"{self.width_mm:.1f}",
            "mm": f"{self.module_mm:.2f}",
        }
        if self._file and self.dpi is not None:
            second = t(
                "QR version {version} ({modules}x{modules} modules), error correction {ec}, wrote {path} "
                "({size} bytes; prints {width} mm wide at {dpi} dpi, {mm} mm modules)",
                dpi=f"{self.dpi:g}",
                **printed,
                **code,
            )
        elif self._file:
            second = t(
                "QR version {version} ({modules}x{modules} modules), error correction {ec}, wrote {path} "
                "({size} bytes; prints {width} mm wide, {mm} mm modules)",
                **printed,
                **code,
            )
        else:
            second = t("QR version {version} ({modules}x{modules} modules), error correction {ec}", **code)
        return Text(out=(self.terminal or "") + self.text + "\n", err=(first, second))


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelProducer:
    """The producer's name printed on every label, and where it comes from.

    Attributes:
        name: The name printed.
        participant: The trust list's participant id, or None when the name is as the record declares it.
        trust_list: The trust list's issuer, or None.
    """

    name: str
    participant: str | None = None
    trust_list: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SealSheet(Result):
    """What ``ocop qr labels`` wrote: the sheet's path on stdout."""

    batch_id: bytes
    output: str
    labels: int
    pages: int
    size: int
    first: Seal
    last: Seal
    manifest: str | None
    key_name: str
    label_mm: tuple[float, float] = (0.0, 0.0)
    per_page: int = 0
    module_mm: float = 0.0
    producer: LabelProducer | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        if not _below_advice(self.module_mm):
            return ()
        return (
            t(
                "the codes print {mm} mm modules: phones read them held close, but older phones and phones further "
                "away need {advice} mm or more (a larger label, fewer lines of text, or error correction M)",
                mm=f"{self.module_mm:.2f}",
                advice=RECOMMENDED_MODULE_MM,
            ),
        )

    def to_json(self) -> JsonDict:
        p = self.producer
        return {
            "output": self.output,
            "labels": self.labels,
            "pages": self.pages,
            "bytes": self.size,
            "manifest": self.manifest,
            "layout": {
                "label_mm": [round(self.label_mm[0], 2), round(self.label_mm[1], 2)],
                "per_page": self.per_page,
                "module_mm": round(self.module_mm, 3),
            },
            "producer": None
            if p is None
            else {"name": p.name, "participant": p.participant, "trust_list": p.trust_list},
            "first": seal_json(self.batch_id, self.first),
            "last": seal_json(self.batch_id, self.last),
        }

    def to_text(self) -> Text:
        fields = {
            "labels": tn(self.labels, "{n} label", "{n} labels"),
            "first": self.first.statement.serial,
            "last": self.last.statement.serial,
            "pages": tn(self.pages, "{n} page", "{n} pages"),
            "size": self.size,
            "batch": short(self.batch_id),
            "key": self.key_name,
            "manifest": self.manifest,
        }
        if self.manifest:
            note = t(
                "{labels} ({first} … {last}) on {pages}, {size} bytes; each with its own seal of batch {batch} by "
                "{key}; manifest {manifest}",
                **fields,
            )
        else:
            note = t(
                "{labels} ({first} … {last}) on {pages}, {size} bytes; each with its own seal of batch {batch} "
                "by {key}",
                **fields,
            )
        notes = [
            note,
            t(
                "labels {width} x {height} mm, {per_page} per page; code modules {mm} mm",
                width=f"{self.label_mm[0]:.4g}",
                height=f"{self.label_mm[1]:.4g}",
                per_page=self.per_page,
                mm=f"{self.module_mm:.2f}",
            ),
        ]
        p = self.producer
        if p is not None and p.trust_list is not None:
            notes.append(
                t(
                    "producer printed as the trust list of {issuer} names the batch's signer: {name}",
                    issuer=p.trust_list,
                    name=p.name,
                )
            )
        elif p is not None:
            notes.append(t("producer printed as the batch's record declares it: {name}", name=p.name))
        return lines(self.output, err=notes)


@dataclass(frozen=True, slots=True, kw_only=True)
class SealVerified(Result):
    """A seal that ``ocop qr verify`` verified."""

    text: str
    source: str
    result: SealVerification
    signer: Mapping[str, Any]
    bundle: str | None
    audited: bool

    def to_json(self) -> JsonDict:
        return {
            "verified": True,
            "source": self.source,
            "text": self.text,
            "bundle": self.bundle,
            "audited": self.audited,
            "signer": dict(self.signer),
            "seal": self.result.to_dict(),
        }

    def to_text(self) -> Text:
        r = self.result
        st, c = r.statement, r.chain
        if c is not None and r.code == "SEAL_OLDER_HEAD":
            rows = [
                t(
                    "VALID SEAL · CON DẤU HỢP LỆ (the record went on after sealing: the seal covers {covered} of "
                    "{total} steps)",
                    covered=c.covered,
                    total=c.total,
                )
            ]
        else:
            rows = [t("VALID SEAL · CON DẤU HỢP LỆ")]
        if st.gtin:
            ident = [t("GTIN {gtin}", gtin=st.gtin)]
        else:
            ident = [t("batch ref {ref}", ref=st.batch_ref.hex() if st.batch_ref else "?")]
        ident.append(t("lô/lot {lot}", lot=st.lot))
        if st.serial:
            ident.append(t("số/serial {serial}", serial=st.serial))
        participant = self.signer.get("participant")
        if c is not None:
            rows.append(t("  product   {product} · {ident}", product=c.product_name, ident=" · ".join(ident)))
            if participant:
                # Who made it, as the trust list names them; what the record says of itself comes after, as such.
                rows.append(
                    t(
                        "  producer  {name} ({role}, per the trust list)",
                        name=participant["name"],
                        role=participant["role"],
                    )
                )
            rows.append(_declared_line(c))
        else:
            rows.append(t("  product   {ident}", ident=" · ".join(ident)))
        key = r.key.key_id_hex[:16]
        if participant:
            rows.append(
                t(
                    "  signed by {name} ({role}, trust list of {issuer}), key {key}",
                    name=participant["name"],
                    role=participant["role"],
                    issuer=participant["trust_list"],
                    key=key,
                )
            )
        else:
            rows.append(t("  signed by trusted key {label}, key {key}", label=self.signer.get("trusted_key"), key=key))
        rows.append(t("  checked   {what}", what=", ".join(r.checked)))
        if r.not_checked:
            rows.append(t("  NOT checked {what} ({why})", what=", ".join(r.not_checked), why=_not_checked_why(r)))
        rows.append(
            tn(
                st.seq + 1,
                "  sealed    {date}: {n} step (#0 … #{seq})",
                "  sealed    {date}: {n} steps (#0 … #{seq})",
                date=st.sealed_on.isoformat(),
                seq=st.seq,
            )
        )
        if c is not None:
            rows.append(t("  steps     checked against the bundle {path}:", path=self.bundle))
            rows.extend(
                t("            #{seq:<3} {time}  {step}", seq=s.seq, time=iso(s.time), step=s.step) for s in c.steps
            )
            if self.audited:
                rows.append(t("            every step's key was valid in the trust list at the time the step claims"))
        else:
            rows.append(t("  steps     not shown: give the batch's bundle (--bundle FILE) to see and check them"))
        rows.append("")
        if i18n.current() != "vi":  # in Vietnamese, the Vietnamese lines below say it
            rows.append(t("  Proves:            {text}", text=r.proves))
            rows.append(t("  Does not prove:    {text}", text=r.does_not_prove))
        rows.append(t("  Chứng minh:        {text}", text=r.proves_vi))
        rows.append(t("  Không chứng minh:  {text}", text=r.does_not_prove_vi))
        return lines(*rows)


def _not_checked_why(r: SealVerification) -> str:
    # Each check left out, with what would have made it and what it leaves open (issue 10, finding 2).
    why = []
    if "signer-role" in r.not_checked or "gtin-owner" in r.not_checked:
        why.append(t("signer-role and gtin-owner need --trust LIST"))
    if "chain" in r.not_checked:
        why.append(
            t(
                "chain needs --bundle FILE: without it the record the seal names was not seen, so who made it, what "
                "it claims and its steps are not checked"
            )
        )
    return "; ".join(why)


def _declared_line(c: SealChainInfo) -> str:
    fields = {
        "name": c.declared_producer,
        "province": c.province,
        "stars": c.ocop_stars,
        "marks": "★" * (c.ocop_stars or 0),
    }
    if c.province and c.ocop_stars:
        return t("  declared  {name} ({province}) · OCOP {marks} ({stars} stars), as the record declares", **fields)
    if c.province:
        return t("  declared  {name} ({province}), as the record declares", **fields)
    if c.ocop_stars:
        return t("  declared  {name} · OCOP {marks} ({stars} stars), as the record declares", **fields)
    return t("  declared  {name}, as the record declares", **fields)


@dataclass(frozen=True, slots=True, kw_only=True)
class SealFailure(Result):
    """A seal that ``ocop qr verify`` could read but that does not verify."""

    text: str
    source: str
    error: op.ProvenanceError
    in_bundle: VerifyFailure | None = None
    """Where in the bundle the failure is, when the seal itself verified and a record of the bundle did not."""

    @property
    def ok(self) -> bool:
        return False

    @property
    def failed_part(self) -> str:
        """What failed: ``seal`` (the code itself) or ``bundle`` (a record of the bundle; the seal verified)."""
        return "seal" if self.error.position is None else "bundle"

    @property
    def explanation(self) -> str | None:
        """The failure in plain words: the seal's own, or (the seal verified) the bundle record's that failed."""
        e = self.error
        if e.position is not None:
            # The seal's signature was checked first and verified; a record of the bundle failed (issue 13).
            why = (self.in_bundle.explanation if self.in_bundle is not None else None) or explain(e.code) or e.message
            return t("the seal itself verifies, but the bundle does not: {why}", why=why)
        return explain_seal(e.code)

    def to_json(self) -> JsonDict:
        return {
            "verified": False,
            "source": self.source,
            "text": self.text,
            "failed_part": self.failed_part,
            "error": {**error_json(self.error), "explanation": self.explanation},
        }

    def to_text(self) -> Text:
        rows = [t("NOT VERIFIED · KHÔNG XÁC MINH ĐƯỢC")]
        if self.failed_part == "bundle":
            rows.append(t("  verdict   the seal verifies; the bundle given with it does not"))
        if self.in_bundle is not None:
            where = where_text(self.in_bundle)
            if where:
                rows.append(t("  where     {where}", where=", ".join(where)))
        return lines(*rows, *problem_lines(self.error, self.explanation), t("  Do not rely on this code's record."))
