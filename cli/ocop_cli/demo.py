"""``ocop demo``: the whole job, end to end, in a temporary directory, narrated."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import ocop_provenance as op
from ocop_provenance.trust import (
    AuthorityPin,
    Participant,
    ParticipantKey,
    TrustList,
    dried_cordyceps_policy,
    sign_policy,
    sign_trust_list,
)

from . import keystore
from .context import CliError, Context, ExitCode, OcopCommand, pass_context
from .epcis_io import epcis_export
from .ledger import open_ledger
from .params import json_option
from .render import Output, explain
from .render.audit import AuditResult
from .render.demo import DemoDone
from .render.words import t
from .trust import AnchorOptions
from .verify import audit_files

ICT = timezone(timedelta(hours=7))
FRESH = "Đông trùng hạ thảo tươi"
DRIED = "Đông trùng hạ thảo sấy khô"
#: Thanh Hóa's province code (the demo's places are coded at province level).
THANH_HOA = "38"
PLACE = op.Location(name="Nghi Sơn, Thanh Hóa", admin_code=THANH_HOA)
WORKSHOP = op.Location(name="Xưởng sấy Tĩnh Gia, Thanh Hóa", admin_code=THANH_HOA)
LAB = op.Location(name="Phòng thử nghiệm Thanh Hóa", admin_code=THANH_HOA)
AUTHORITY = "Văn phòng Điều phối OCOP tỉnh Thanh Hóa"
COOP = "HTX Đông trùng hạ thảo Nghi Sơn"
#: Who the authority's trust list says each demo key belongs to: (participant id, name, role).
PARTICIPANTS = {
    "coop": ("htx-nghi-son", COOP, "producer"),
    "workshop": ("xuong-say-tinh-gia", "Xưởng sấy Tĩnh Gia", "processor"),
    "lab": ("phong-thu-nghiem-th", "Phòng thử nghiệm Thanh Hóa", "lab"),
}
#: The cooperative's GS1 Company Prefix (GS1 Vietnam, 893): the demo's GTINs are its own.
COOP_PREFIX = "8931234"


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 11, day, hour, minute, tzinfo=ICT)


def _short(b: bytes) -> str:
    return b.hex()[:16]


@click.command("demo", cls=OcopCommand)
@click.option("--keep", is_flag=True, help="Keep the temporary directory (its path is printed) instead of deleting it.")
@click.option(
    "--serve",
    is_flag=True,
    help="Then publish the batches to a local origin portal, print a product page's URL and serve until Ctrl-C "
    "(needs the portal extra).",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="The portal's port with --serve [default: a free one]."
)
@json_option
@pass_context
def command(ctx: Context, keep: bool, serve: bool, port: int) -> None:
    """Run the whole job in a temporary directory and narrate it.

    \b
    A cooperative, a drying workshop and a testing lab each make a key; fresh
    cordyceps are harvested; dried cordyceps are made from them (lineage), tested,
    packed and shipped; the provincial OCOP office issues a trust list and the
    dried-cordyceps policy; an auditor verifies the bundle offline with them (who
    signed each step, in which role); then one byte is changed and the verifier
    catches it. Exit 0 when all of that went as expected.
    """
    out = Output(ctx)
    work = Path(tempfile.mkdtemp(prefix="ocop-demo-"))
    try:
        summary = _run(ctx, work, out, keep=keep)
        if serve:
            from .demo_portal import serve_demo  # noqa: PLC0415 - the portal is an optional extra

            serve_demo(ctx, work, out, summary, port=port or None)
            return
    finally:
        if keep:
            out.note(t("kept {path}", path=work))
        else:
            shutil.rmtree(work, ignore_errors=True)
    out.emit(DemoDone(summary))


def _run(ctx: Context, work: Path, out: Output, *, keep: bool) -> dict[str, Any]:
    home = work / "home"
    demo = Context(home=home, json=ctx.json, verbose=ctx.verbose, clock=ctx.clock, command=ctx.command)
    secret = work / "passphrase"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_urlsafe(24) + "\n")
    passphrase = keystore.read_passphrase(secret, purpose=t("the demo keys"))

    say = out.say
    say(t("ocop demo: a cordyceps batch from harvest to an auditor's desk"))
    say(t("(working in {path}; nothing outside it is touched)", path=work))
    say()
    say(t("1. Three parties each make a signing key (sealed with a passphrase):"))
    parties = {
        "coop": t("the cooperative, {name}", name="HTX Đông trùng hạ thảo Nghi Sơn"),
        "workshop": t("the drying workshop"),
        "lab": t("the testing lab"),
    }
    pems: dict[str, Path] = {}
    for name, who in parties.items():
        public = keystore.create_key(demo, name, passphrase)
        pems[name] = work / f"{name}.pem"
        pems[name].write_bytes(public.to_pem())
        say(t("   {name:<9} {key}…  {who}", name=name, key=public.key_id_hex[:16], who=who))
    signers = {name: keystore.load_signer(demo, name, secret) for name in parties}

    certificate = work / "phieu-ket-qua-thu-nghiem.pdf"
    certificate.write_bytes(_report_pdf())

    with open_ledger(demo) as ledger:
        say()
        say(
            t(
                '2. The cooperative opens a batch of "{product}" and signs the harvest (CBV: commissioning).',
                product=FRESH,
            )
        )
        fresh = ledger.open_batch(
            op.Genesis(
                time=_at(1, 5, 30),
                product=op.Product(name=FRESH, lot="T2411-01", quantity="40", unit="kg"),
                producer=op.Producer(name=COOP, admin_code=THANH_HOA, commune="Nghi Sơn", province="Thanh Hóa"),
                location=PLACE,
                certificate=op.Certificate(stars=3, number="1234/QĐ-UBND", issued=date(2020, 12, 30)),
            ),
            signers["coop"],
        )
        ledger.add_step(
            fresh.batch_id,
            signers["coop"],
            step="commissioning",
            time=_at(1, 6),
            location=PLACE,
            data={"weight_kg": 40},
        )
        say(t("   batch {batch}: #0 opened, #1 harvested (40 kg), both signed by coop", batch=_short(fresh.batch_id)))

        say()
        say(
            t(
                '3. A batch of "{product}" is made from it: the workshop signs the drying step (ocop:drying),',
                product=DRIED,
            )
        )
        say(t("   naming the fresh batch as its input, pinned to that batch's latest event (lineage)."))
        dried = ledger.open_batch(
            op.Genesis(
                time=_at(2, 7),
                product=op.Product(name=DRIED, lot="L2411-01", quantity="4", unit="kg", gtin="08931234567897"),
                producer=op.Producer(name=COOP, admin_code=THANH_HOA, commune="Nghi Sơn", province="Thanh Hóa"),
                location=PLACE,
                certificate=op.Certificate(stars=4, number="5678/QĐ-UBND", issued=date(2023, 6, 15)),
            ),
            signers["coop"],
        )
        ledger.add_step(
            dried.batch_id,
            signers["coop"],
            step="commissioning",
            time=_at(2, 7, 30),
            location=PLACE,
            data={"weight_kg": 40},
        )
        ledger.add_step(
            dried.batch_id,
            signers["workshop"],
            step="ocop:drying",
            time=_at(2, 8),
            location=WORKSHOP,
            inputs=[fresh.batch_id],
            data={"temperature_c": 50, "hours": 36, "moisture": "12.4"},
        )
        say(
            t(
                "   batch {batch}: #0 opened and #1 commissioned by coop, #2 dried by workshop",
                batch=_short(dried.batch_id),
            )
        )

        say()
        say(t("4. The lab tests it (CBV: inspecting) and attaches its report by hash:"))
        attachment = op.Attachment.from_file(certificate)
        ledger.add_step(
            dried.batch_id,
            signers["lab"],
            step="inspecting",
            time=_at(4, 9),
            location=LAB,
            attachments=[attachment],
            data={"moisture_pct": "11.8", "result": "Đạt"},
        )
        say(
            t(
                "   #3 inspected: moisture 11.8 %, result Đạt; {name} sha256 {digest}…",
                name=attachment.name,
                digest=attachment.sha256.hex()[:16],
            )
        )

        say()
        say(t("5. The cooperative packs and ships it (CBV: packing, shipping)."))
        ledger.add_step(
            dried.batch_id, signers["coop"], step="packing", time=_at(5, 8), location=PLACE, data={"boxes": 40}
        )
        ledger.add_step(dried.batch_id, signers["coop"], step="shipping", time=_at(6, 14), location=PLACE)
        say(t("   #4 packed (40 boxes), #5 shipped"))

        bundle = work / "dried.ocop"
        with bundle.open("wb") as f:
            header = ledger.export_bundle(dried.batch_id, f)
    size = bundle.stat().st_size
    say()
    say(
        t(
            "6. Exported the offline bundle {bundle}: {events} events of {batches} batches, {size} bytes; and each "
            "party's public key as PEM.",
            bundle=bundle.name,
            events=header.total_events,
            batches=len(header.batches),
            size=size,
        )
    )

    say()
    say(t("7. The provincial authority, {authority}, has three keys; any two must sign.", authority=AUTHORITY))
    say(t("   It issues a trust list (who holds which key, in which role) and the dried-cordyceps policy:"))
    trust_path, policy_path, authority = _authority(
        demo, work, passphrase, {n: s.public_key for n, s in signers.items()}
    )
    for name, (_pid, who, role) in PARTICIPANTS.items():
        say(t("   {name:<9} -> {who} ({role})", name=name, who=who, role=role))
    say(
        t(
            "   {trust} and {policy}, each signed by 2 of the 3 authority keys",
            trust=trust_path.name,
            policy=policy_path.name,
        )
    )

    anchor = AnchorOptions(authority=tuple(str(p) for p in authority.values()), threshold=2)
    say()
    say(t("8. An auditor verifies it offline, pinning only the authority's three public keys:"))
    say(
        t(
            "   ocop verify {bundle} --trust {trust} --policy {policy}",
            bundle=bundle.name,
            trust=trust_path.name,
            policy=policy_path.name,
        )
    )
    say(t("               --authority-key tinh-thanh-hoa-1.pem ... --threshold 2"))
    good = audit_files(demo, [bundle], trust_path, anchor, policy_path=policy_path)
    if not good.ok:
        raise CliError(
            t("the honest bundle did not pass the audit: {codes}", codes=good.reports[0].codes),
            exit_code=ExitCode.VERIFY_FAILED,
        )
    if not ctx.json:
        say()
        out.show(good)

    epcis_path = work / "dried.jsonld"
    with open_ledger(demo) as ledger:
        document, epcis_events, _ = epcis_export(
            ledger, dried.batch_id, now=demo.clock(), created=demo.utc_now(), trust=good.trust.trust
        )
    epcis_path.write_bytes(document)
    say()
    say(t("   For EPCIS repositories and provincial portals, the same events as GS1 EPCIS 2.0 JSON-LD"))
    say(t("   (each with its CBV event hash, the signed event's id and the signer the trust list names):"))
    say(t("   ocop export {batch} --epcis -o {file}", batch=_short(dried.batch_id), file=epcis_path.name))
    if keep:
        say(t("   EPCIS export: {path}", path=epcis_path))
    else:
        say(t("   EPCIS export: {path}  (kept with --keep)", path=epcis_path))

    data = bytearray(bundle.read_bytes())
    offset = data.find(b"11.8")
    if offset < 0 or data.find(b"11.8", offset + 1) >= 0:
        raise CliError(t("the demo could not find the byte to change"), code="E_DEMO", exit_code=ExitCode.INTERNAL)
    data[offset + 1] = ord("7")
    tampered = work / "dried-tampered.ocop"
    tampered.write_bytes(bytes(data))
    say()
    say(t("9. Someone changes ONE byte (at offset {offset}): the lab's moisture 11.8 % becomes 17.8 %.", offset=offset))
    bad = audit_files(demo, [tampered], trust_path, anchor, policy_path=policy_path)
    failure = bad.reports[0].failure
    if bad.ok or failure is None:
        raise CliError(t("the tampered bundle verified: the demo failed"), code="E_DEMO", exit_code=ExitCode.INTERNAL)
    if not ctx.json:
        say()
        out.show(bad)
    say()
    say(t("The change was caught. What a signature does and does not prove: docs/threat-model.md."))
    return {
        "batches": {"fresh": fresh.batch_id.hex(), "dried": dried.batch_id.hex()},
        "keys": {name: s.public_key.key_id_hex for name, s in signers.items()},
        "bundle": {"events": header.total_events, "batches": len(header.batches), "bytes": size},
        "epcis": {"path": str(epcis_path), "events": epcis_events},
        "authority": _authority_json(good, authority),
        "verified": True,
        "audit": {"ok": good.ok, "signers": _signers(good)},
        "tamper": {
            "offset": offset,
            "caught": True,
            "code": failure.code,
            "explanation": explain(failure.code),
        },
    }


def _report_pdf() -> bytes:
    """A one-page PDF test report (ASCII only: its bytes are hashed into the lab's step, not shown)."""
    text = b"BT /F1 12 Tf 72 720 Td (Phieu ket qua thu nghiem - do am 11.8 pct - Dat) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _authority(
    demo: Context, work: Path, passphrase: bytes, keys: dict[str, op.PublicKey]
) -> tuple[Path, Path, dict[str, Path]]:
    """The provincial office: three keys (threshold 2), the trust list and the dried-cordyceps policy."""
    now = demo.utc_now()
    pems: dict[str, Path] = {}
    authority_signers = []
    for i in (1, 2, 3):
        name = f"tinh-thanh-hoa-{i}"
        public = keystore.create_key(demo, name, passphrase)
        pems[name] = work / f"{name}.pem"
        pems[name].write_bytes(public.to_pem())
        if i < 3:  # the third key holder is away: two of three suffice
            authority_signers.append(keystore.load_signer(demo, name, work / "passphrase"))
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    trust = TrustList(
        issuer=AUTHORITY,
        version=1,
        issued_at=now,
        expires=now + timedelta(days=365),
        authority=AuthorityPin(tuple(op.PublicKey.from_pem(p.read_bytes()) for p in pems.values()), 2),
        participants=tuple(
            Participant(
                id=pid,
                name=who,
                role=role,
                admin_code=THANH_HOA,
                province="Thanh Hóa",
                gs1_prefixes=(COOP_PREFIX,) if role == "producer" else (),
                keys=(ParticipantKey(key=keys[name], not_before=start, not_after=end),),
            )
            for name, (pid, who, role) in PARTICIPANTS.items()
        ),
    )
    trust_path = work / "thanh-hoa.trust"
    trust_path.write_bytes(sign_trust_list(trust, authority_signers))
    policy_path = work / "dried-cordyceps.policy"
    policy_path.write_bytes(sign_policy(dried_cordyceps_policy(issued_at=now), authority_signers))
    return trust_path, policy_path, pems


def _authority_json(result: AuditResult, pems: dict[str, Path]) -> dict[str, Any]:
    trust = result.trust.trust
    policy = result.policy
    return {
        "issuer": trust.issuer,
        "keys": {name: op.PublicKey.from_pem(p.read_bytes()).key_id_hex for name, p in pems.items()},
        "threshold": trust.authority.threshold,
        "trust_list": {"version": trust.version, "id": trust.object_id.hex()},
        "policy": None
        if policy is None
        else {"name": policy.name, "version": policy.version, "id": policy.object_id.hex()},
    }


def _signers(result: AuditResult) -> list[dict[str, Any]]:
    """Who signed each step of the root batch, according to the trust list."""
    report = result.reports[0]
    root = report.batch(report.root) if report.root is not None else None
    return [
        {
            "seq": s.seq,
            "step": s.step,
            "participant": None if s.participant is None else s.participant.name,
            "role": None if s.participant is None else s.participant.role,
        }
        for s in (root.steps if root is not None else ())
    ]
