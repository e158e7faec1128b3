"""``ocop demo``: the whole job, end to end, in a temporary directory, narrated."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import ocop_provenance as op

from . import keystore
from .context import CliError, Context, ExitCode, OcopCommand, pass_context
from .ledger import open_ledger
from .params import json_option
from .render import EXPLAIN, Renderer, VerifyFailure, VerifyResult
from .verify import verify_file

ICT = timezone(timedelta(hours=7))
FRESH = "Đông trùng hạ thảo tươi"
DRIED = "Đông trùng hạ thảo sấy khô"
PLACE = op.Location(name="Nghi Sơn, Thanh Hóa")
WORKSHOP = op.Location(name="Xưởng sấy Tĩnh Gia, Thanh Hóa")
LAB = op.Location(name="Phòng thử nghiệm Thanh Hóa")


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 11, day, hour, minute, tzinfo=ICT)


def _short(b: bytes) -> str:
    return b.hex()[:16]


@click.command("demo", cls=OcopCommand)
@click.option("--keep", is_flag=True, help="Keep the temporary directory (its path is printed) instead of deleting it.")
@json_option
@pass_context
def command(ctx: Context, keep: bool) -> None:
    """Run the whole job in a temporary directory and narrate it.

    \b
    A cooperative, a drying workshop and a testing lab each make a key; fresh
    cordyceps are harvested; dried cordyceps are made from them (lineage), tested,
    packed and shipped; the bundle is exported and verified offline; then one byte
    is changed and the verifier catches it. Exit 0 when all of that went as expected.
    """
    out = Renderer(ctx)
    work = Path(tempfile.mkdtemp(prefix="ocop-demo-"))
    try:
        summary = _run(ctx, work, out)
    finally:
        if keep:
            out.note(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    out.demo_done({"ok": True, **summary})


def _run(ctx: Context, work: Path, out: Renderer) -> dict[str, Any]:
    home = work / "home"
    demo = Context(home=home, json=ctx.json, verbose=ctx.verbose, clock=ctx.clock, command=ctx.command)
    secret = work / "passphrase"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_urlsafe(24) + "\n")
    passphrase = keystore.read_passphrase(secret, purpose="the demo keys")

    say = out.say
    say("ocop demo: a cordyceps batch from harvest to an auditor's desk")
    say(f"(working in {work}; nothing outside it is touched)")
    say()
    say("1. Three parties each make a signing key (sealed with a passphrase):")
    parties = {
        "coop": "the cooperative, HTX Đông trùng hạ thảo Nghi Sơn",
        "workshop": "the drying workshop",
        "lab": "the testing lab",
    }
    pems: dict[str, Path] = {}
    for name, who in parties.items():
        public = keystore.create_key(demo, name, passphrase)
        pems[name] = work / f"{name}.pem"
        pems[name].write_bytes(public.to_pem())
        say(f"   {name:<9} {public.key_id_hex[:16]}…  {who}")
    signers = {name: keystore.load_signer(demo, name, secret) for name in parties}

    certificate = work / "lab-certificate.txt"
    certificate.write_text(
        "PHIẾU KẾT QUẢ THỬ NGHIỆM / TEST REPORT\n"
        f"Mẫu (sample): {DRIED}, lô L2411-01\nĐộ ẩm (moisture): 11.8 %\nKết luận: Đạt (pass)\n",
        encoding="utf-8",
    )

    with open_ledger(demo) as ledger:
        say()
        say(f'2. The cooperative opens a batch of "{FRESH}" and signs the harvest (CBV: commissioning).')
        fresh = ledger.open_batch(
            op.Genesis(
                time=_at(1, 5, 30),
                product=op.Product(name=FRESH, lot="T2411-01", quantity="40", unit="kg"),
                producer=op.Producer(name="HTX Đông trùng hạ thảo Nghi Sơn", commune="Nghi Sơn", province="Thanh Hóa"),
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
        say(f"   batch {_short(fresh.batch_id)}: #0 opened, #1 harvested (40 kg), both signed by coop")

        say()
        say(f'3. A batch of "{DRIED}" is made from it: the workshop signs the drying step (ocop:drying),')
        say("   naming the fresh batch as its input, pinned to that batch's latest event (lineage).")
        dried = ledger.open_batch(
            op.Genesis(
                time=_at(2, 7),
                product=op.Product(name=DRIED, lot="L2411-01", quantity="4", unit="kg", gtin="08931234567897"),
                producer=op.Producer(name="HTX Đông trùng hạ thảo Nghi Sơn", commune="Nghi Sơn", province="Thanh Hóa"),
                location=PLACE,
                certificate=op.Certificate(stars=4, number="5678/QĐ-UBND", issued=date(2023, 6, 15)),
            ),
            signers["coop"],
        )
        ledger.add_step(
            dried.batch_id,
            signers["workshop"],
            step="ocop:drying",
            time=_at(2, 8),
            location=WORKSHOP,
            inputs=[fresh.batch_id],
            data={"temperature_c": 50, "hours": 36},
        )
        say(f"   batch {_short(dried.batch_id)}: #0 opened by coop, #1 dried by workshop")

        say()
        say("4. The lab tests it (CBV: inspecting) and attaches its report by hash:")
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
        say(f"   #2 inspected: moisture 11.8 %, result Đạt; {attachment.name} sha256 {attachment.sha256.hex()[:16]}…")

        say()
        say("5. The cooperative packs and ships it (CBV: packing, shipping).")
        ledger.add_step(
            dried.batch_id, signers["coop"], step="packing", time=_at(5, 8), location=PLACE, data={"boxes": 40}
        )
        ledger.add_step(dried.batch_id, signers["coop"], step="shipping", time=_at(6, 14), location=PLACE)
        say("   #3 packed (40 boxes), #4 shipped")

        bundle = work / "dried.ocop"
        with bundle.open("wb") as f:
            header = ledger.export_bundle(dried.batch_id, f)
    size = bundle.stat().st_size
    say()
    say(
        f"6. Exported the offline bundle {bundle.name}: {header.total_events} events of {len(header.batches)} batches,"
        f" {size} bytes; and each party's public key as PEM."
    )

    say()
    say("7. An auditor verifies it offline, trusting only the three public keys:")
    good = verify_file(demo, bundle, list(pems.values()), renderer=out)
    if not isinstance(good, VerifyResult):
        raise CliError(f"the honest bundle did not verify: {good.error}", exit_code=ExitCode.VERIFY_FAILED)
    if not ctx.json:
        out.verified(good)

    data = bytearray(bundle.read_bytes())
    offset = data.find(b"11.8")
    if offset < 0 or data.find(b"11.8", offset + 1) >= 0:
        raise CliError("the demo could not find the byte to change", code="E_DEMO", exit_code=ExitCode.INTERNAL)
    data[offset + 1] = ord("7")
    tampered = work / "dried-tampered.ocop"
    tampered.write_bytes(bytes(data))
    say()
    say(f"8. Someone changes ONE byte (at offset {offset}): the lab's moisture 11.8 % becomes 17.8 %.")
    bad = verify_file(demo, tampered, list(pems.values()), renderer=out)
    if not isinstance(bad, VerifyFailure):
        raise CliError("the tampered bundle verified: the demo failed", code="E_DEMO", exit_code=ExitCode.INTERNAL)
    if not ctx.json:
        out.verify_failed(bad)
    say()
    say("The change was caught. A signature proves who recorded what and that nothing changed since;")
    say("it does not prove that a given package in a shop is the one recorded. See docs/threat-model.md.")
    return {
        "batches": {"fresh": fresh.batch_id.hex(), "dried": dried.batch_id.hex()},
        "keys": {name: op.PublicKey.from_pem(p.read_bytes()).key_id_hex for name, p in pems.items()},
        "bundle": {"events": header.total_events, "batches": len(header.batches), "bytes": size},
        "verified": True,
        "tamper": {
            "offset": offset,
            "caught": True,
            "code": bad.error.code,
            "explanation": EXPLAIN.get(bad.error.code),
        },
    }
