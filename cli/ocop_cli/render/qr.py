"""``ocop qr``: a sealed code made, a label sheet written, a seal verified or not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ocop_provenance as op
from ocop_provenance.seals import QrCode, Seal, SealChainInfo, SealVerification

from .core import JsonDict, Result, Text, error_json, lines
from .explain import explain, explain_seal
from .verify import problem_lines
from .words import iso, short, t, tn

__all__ = ["SealFailure", "SealMade", "SealSheet", "SealVerified", "seal_json"]


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
        if self.kind in ("png", "svg"):
            second = t(
                "QR version {version} ({modules}x{modules} modules), error correction {ec}, wrote {path} "
                "({size} bytes)",
                path=self.output,
                size=self.size,
                **code,
            )
        else:
            second = t("QR version {version} ({modules}x{modules} modules), error correction {ec}", **code)
        return Text(out=(self.terminal or "") + self.text + "\n", err=(first, second))


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

    def to_json(self) -> JsonDict:
        return {
            "output": self.output,
            "labels": self.labels,
            "pages": self.pages,
            "bytes": self.size,
            "manifest": self.manifest,
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
        return lines(self.output, err=[note])


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

    @property
    def ok(self) -> bool:
        return False

    @property
    def explanation(self) -> str | None:
        """The failure in plain words: the seal's own, or (for a bundle step that fails the trust list) the step's."""
        e = self.error
        if e.position is not None:
            # The error has a place in the bundle: a step of it failed, not the seal (issue 13: say which part).
            return t("a step of the bundle fails verification: {why}", why=explain(e.code) or e.message)
        return explain_seal(e.code)

    def to_json(self) -> JsonDict:
        return {
            "verified": False,
            "source": self.source,
            "text": self.text,
            "error": {**error_json(self.error), "explanation": self.explanation},
        }

    def to_text(self) -> Text:
        return lines(
            t("NOT VERIFIED · KHÔNG XÁC MINH ĐƯỢC"),
            *problem_lines(self.error, self.explanation),
            t("  Do not rely on this code's record."),
        )
