"""Golden output of the main commands: today's exact text and JSON, with a fixed clock and seeded keys.

Every case runs twice in a fresh copy of one prepared world (keys, ledger, bundles, trust lists, policies): once
for text (stdout, stderr and exit code are compared with ``golden/NAME.txt``) and once with ``--json`` (stdout is
compared byte for byte with ``golden/NAME.json``; exit code and stderr with the end of ``NAME.txt``). The JSON
goldens are strict: member order, indentation and every value count.

Regenerate after a deliberate change of output (and read the diff before committing)::

    OCOP_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/cli/test_golden.py -q

Only what differs between machines is replaced: the run directory (``$RUN``), the demo's temporary directory
(``ocop-demo-XXXXXXXX``), the Ed25519 backend's name (``$BACKEND``), the size of a PDF label sheet (``$PDF_SIZE``: it
depends on the fpdf2 and zlib versions) and the loopback address of the origin portal that ``ocop publish`` cases
publish to (``$PORTAL``: a fresh portal for every run, when the portal extra is installed).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import ocop_provenance as op
import pytest
from click.testing import CliRunner, Result
from ocop_provenance import _keys

from ocop_cli.context import Context
from ocop_cli.main import cli

from .conftest import OneSalt, RememberedScrypt

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("OCOP_UPDATE_GOLDEN", "") not in ("", "0")
ICT = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=ICT)
PASSPHRASE = "mật khẩu thử nghiệm"
FRESH = "Đông trùng hạ thảo tươi"
DRIED = "Đông trùng hạ thảo sấy khô"
AUTHORITY = "Văn phòng Điều phối OCOP tỉnh Thanh Hóa"
COOP = "HTX Đông trùng hạ thảo Nghi Sơn"
RESOLVER = "https://id.example.vn"
PINS = ("--authority-key", "a1", "--authority-key", "a2", "--authority-key", "a3", "--threshold", "2")
WINDOW = ("--not-before", "2024-01-01T00:00:00Z", "--not-after", "2027-01-01T00:00:00Z")
PLACE = ("--where", "Nghi Sơn, Thanh Hóa", "--where-code", "38")
#: The EPCIS class of the dried batch (its GTIN and lot as a GS1 Digital Link): what an ERP's events name.
DRIED_CLASS = "https://id.gs1.org/01/08931234567897/10/L2411-01"
OCOP_NS = "https://ocop-provenance.org/ns/epcis/"


class Seeds:
    """Replaces ``PrivateKey.generate``: key n is ``from_seed(bytes([n]) * 32)``, counting from ``start``."""

    def __init__(self) -> None:
        self.counter: Iterator[int] = itertools.count(1)

    def reset(self, start: int) -> None:
        self.counter = itertools.count(start)

    def generate(self) -> op.PrivateKey:
        return op.PrivateKey.from_seed(bytes([next(self.counter)]) * 32)


@dataclass
class World:
    run: Path
    snapshot: Path
    seeds: Seeds
    names: dict[str, str] = field(default_factory=dict)

    def invoke(self, *args: str) -> Result:
        obj = Context(home=self.run / "home", clock=lambda: NOW)
        return CliRunner().invoke(cli, [self.fill(a) for a in args], obj=obj, catch_exceptions=False)

    def ok(self, *args: str) -> str:
        result = self.invoke(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout.strip()

    def fill(self, arg: str) -> str:
        return arg.format(RUN=self.run, **self.names)

    def reset(self) -> None:
        shutil.rmtree(self.run)
        shutil.copytree(self.snapshot, self.run)


def _env(mp: pytest.MonkeyPatch, run: Path, seeds: Seeds) -> None:
    mp.setenv("OCOP_HOME", str(run / "home"))
    mp.setenv("OCOP_PASSPHRASE", PASSPHRASE)
    mp.setenv("OCOP_TEST_KDF_COST", "14")
    for name in ("OCOP_PASSPHRASE_FILE", "OCOP_VERBOSE", "OCOP_RESOLVER", "LC_ALL", "LC_MESSAGES", "LANG"):
        mp.delenv(name, raising=False)
    mp.setenv("OCOP_LANG", "en")  # the goldens are English whatever the locale of the machine running the tests
    mp.setattr(op.PrivateKey, "generate", classmethod(lambda _cls: seeds.generate()))
    mp.setattr(_keys, "Scrypt", RememberedScrypt)  # each (salt, passphrase) derived once: see tests/cli/conftest.py
    mp.setattr(_keys, "secrets", OneSalt)


def _erp_document(**extra: object) -> str:
    """An EPCIS 2.0 document such as a distributor's system emits: the dried batch received, then stored."""
    where = {"ocop:name": "Kho lạnh Sầm Sơn, Thanh Hóa", "ocop:adminCode": "38"}
    common = {"quantityList": [{"epcClass": DRIED_CLASS}], "action": "OBSERVE"}
    point = {"id": "https://id.gs1.org/414/8934567000017"}
    events = [
        {"type": "ObjectEvent", "eventID": "urn:uuid:6d1c3f0e-2b7a-4c55-9e0b-5a8f3d2c1b00",
         "eventTime": "2024-11-07T08:00:00+07:00", "eventTimeZoneOffset": "+07:00", **common,
         "bizStep": "receiving", "disposition": "in_progress", "readPoint": point,
         "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 4.5, "uom": "CEL"}]}],
         "ocop:location": where, **extra},
        {"type": "ObjectEvent", "eventTime": "2024-11-07T09:00:00+07:00", "eventTimeZoneOffset": "+07:00",
         **common, "bizStep": "storing", "readPoint": point, "ocop:location": where},
    ]  # fmt: skip
    context = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ocop": OCOP_NS}]
    document = {"@context": context, "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": "2024-11-07T02:00:00Z", "epcisBody": {"eventList": events}}  # fmt: skip
    return json.dumps(document, ensure_ascii=False, indent=2)


def _step(w: World, batch: str, step: str, at: str, key: str, *extra: str) -> None:
    w.ok("step", "add", batch, "--key", key, "--step", step, "--at", at, *PLACE, *extra)


def _build(w: World) -> None:
    """Keys coop, workshop, lab, a1-a3, stranger; two lineage-linked batches; bundles; trust lists; policies."""
    for name in ("coop", "workshop", "lab", "a1", "a2", "a3", "stranger"):
        w.ok("key", "new", name)
    (w.run / "pem").mkdir()
    for name in ("coop", "workshop", "lab", "a1", "a2", "a3", "stranger"):
        (w.run / "pem" / f"{name}.pem").write_text(w.ok("key", "export", name) + "\n", encoding="ascii")
    producer = ("--producer", COOP, "--admin-code", "38", "--province", "Thanh Hóa", "--commune", "Nghi Sơn")
    fresh = w.ok("batch", "new", "--key", "coop", "--product", FRESH, "--lot", "T2411-01", "--quantity", "40",
                 "--unit", "kg", *PLACE, *producer, "--at", "2024-11-01T05:30:00+07:00")  # fmt: skip
    _step(w, fresh, "commissioning", "2024-11-01T06:00:00+07:00", "coop", "--data", "weight_kg=40")
    dried = w.ok("batch", "new", "--key", "coop", "--product", DRIED, "--lot", "L2411-01", "--quantity", "4",
                 "--unit", "kg", "--gtin", "08931234567897", *PLACE, *producer, "--ocop-stars", "4",
                 "--ocop-cert", "5678/QĐ-UBND", "--ocop-date", "2023-06-15",
                 "--at", "2024-11-02T07:00:00+07:00")  # fmt: skip
    _step(w, dried, "commissioning", "2024-11-02T07:30:00+07:00", "coop")
    _step(w, dried, "ocop:drying", "2024-11-02T08:00:00+07:00", "workshop", "--input", fresh,
          "--data", "moisture=12", "--data", "temperature_c=50")  # fmt: skip
    report = w.run / "phieu-ket-qua.pdf"
    report.write_bytes(b"%PDF-1.4\n% phieu ket qua thu nghiem\n")
    _step(w, dried, "inspecting", "2024-11-04T09:00:00+07:00", "lab", "--attach", str(report),
          "--data", "moisture_pct=11.8", "--data", "result=Đạt")  # fmt: skip
    _step(w, dried, "packing", "2024-11-05T08:00:00+07:00", "coop", "--data", "boxes=40")
    _step(w, dried, "shipping", "2024-11-06T14:00:00+07:00", "coop")
    w.ok("export", dried, "-o", str(w.run / "dried.ocop"))
    data = bytearray((w.run / "dried.ocop").read_bytes())
    data[data.index(b"11.8") + 1] = ord("7")
    (w.run / "tampered.ocop").write_bytes(bytes(data))
    # A batch that misses the policy's commissioning step and the lab's PDF.
    partial = w.ok("batch", "new", "--key", "coop", "--product", DRIED, "--lot", "L2411-02", "--quantity", "2",
                   "--unit", "kg", *PLACE, *producer, "--at", "2024-11-03T07:00:00+07:00")  # fmt: skip
    _step(w, partial, "ocop:drying", "2024-11-03T08:00:00+07:00", "workshop", "--input", fresh, "--data",
          "moisture=12")  # fmt: skip
    _step(w, partial, "inspecting", "2024-11-04T10:00:00+07:00", "lab")
    _step(w, partial, "packing", "2024-11-05T09:00:00+07:00", "coop")
    _step(w, partial, "shipping", "2024-11-06T15:00:00+07:00", "coop")
    w.ok("export", partial, "-o", str(w.run / "partial.ocop"))
    # A batch signed by a key the trust list does not know.
    alien = w.ok("batch", "new", "--key", "stranger", "--product", DRIED, "--lot", "X-1", "--quantity", "1",
                 "--unit", "kg", "--at", "2024-11-03T07:00:00+07:00")  # fmt: skip
    w.ok("export", alien, "-o", str(w.run / "stranger.ocop"))
    # The authority's trust list (v1 signed by a1+a2; v2 revokes the lab, signed by a2+a3) and policies.
    w.ok("trust", "init", "-o", str(w.run / "tl.json"), "--issuer", AUTHORITY, *PINS, "--expires",
         "2099-01-01T00:00:00Z")  # fmt: skip
    for pid, who, role, key in (
        ("htx-nghi-son", COOP, "producer", "coop"),
        ("xuong-say", "Xưởng sấy Tĩnh Gia", "processor", "workshop"),
        ("phong-thu-nghiem", "Phòng thử nghiệm Thanh Hóa", "lab", "lab"),
    ):
        claims = ("--gs1-prefix", "8931234") if role == "producer" else ()  # the GTINs the producer may claim
        w.ok("trust", "add-participant", str(w.run / "tl.json"), "--id", pid, "--name", who, "--role", role,
             "--admin-code", "38", *claims, "--key", key, *WINDOW)  # fmt: skip
    w.ok("trust", "sign", str(w.run / "tl.json"), "--key", "a1", "--key", "a2")
    w.ok("trust", "bump", str(w.run / "tl.trust"), "-o", str(w.run / "v2.json"), "--expires", "2099-01-01T00:00:00Z")
    w.ok("trust", "revoke", str(w.run / "v2.json"), "--key", "lab", "--at", "2026-01-01T00:00:00Z")
    w.ok("trust", "sign", str(w.run / "v2.json"), "--key", "a2", "--key", "a3")
    w.ok("policy", "starter", "dried-cordyceps", "-o", str(w.run / "policy.json"))
    w.ok("policy", "sign", str(w.run / "policy.json"), "--key", "a1", "--key", "a3")
    w.ok("policy", "sign", str(w.run / "policy.json"), "--key", "coop", "-o", str(w.run / "bad.policy"))
    # Two bundles that fork the dried batch: each adds a different step #6 in its own copy of the ledger.
    for side, boxes in (("a", "39"), ("b", "41")):
        home = w.run / f"fork-{side}"
        shutil.copytree(w.run / "home", home)
        w.ok("--home", str(home), "step", "add", dried, "--key", "coop", "--step", "receiving", *PLACE, "--data",
             f"boxes={boxes}", "--at", "2024-11-07T08:00:00+07:00")  # fmt: skip
        w.ok("--home", str(home), "export", dried, "-o", str(w.run / f"fork-{side}.ocop"))
        shutil.rmtree(home)
    (w.run / "erp.jsonld").write_text(_erp_document(), encoding="utf-8")
    purchase = [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:8934567000017:PO-2411"}]
    (w.run / "erp-po.jsonld").write_text(_erp_document(bizTransactionList=purchase), encoding="utf-8")
    w.names.update(
        fresh=fresh,
        dried=dried,
        partial=partial,
        alien=alien,
        seal=w.ok("qr", "make", dried, "--key", "coop", "--resolver", RESOLVER),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("golden")
    w = World(run=base / "run", snapshot=base / "snapshot", seeds=Seeds())
    w.run.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, w.run, w.seeds)
        _build(w)
    shutil.copytree(w.run, w.snapshot)
    return w


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    before: tuple[tuple[str, ...], ...] = ()
    portal: bool = False


def case(name: str, *args: str, before: tuple[tuple[str, ...], ...] = (), portal: bool = False) -> Case:
    return Case(name, args, before, portal)


@contextlib.contextmanager
def _portal(w: World) -> Iterator[None]:
    """A fresh origin portal on loopback, holding the authority's trust list and policy, named ``{portal}``."""
    pytest.importorskip("ocop_portal", reason="the portal extra is not installed")
    from ocop_provenance.trust import AuthorityPin, Policy

    from ocop_cli.serve import free_port, start
    from ocop_portal import Settings, create_app
    from ocop_portal.db import Database

    pin = AuthorityPin(
        tuple(op.PublicKey.from_pem((w.run / "pem" / f"{a}.pem").read_bytes()) for a in ("a1", "a2", "a3")), 2
    )
    settings = Settings(db_url=str(w.run / "portal.sqlite"), public_url=RESOLVER, authority=pin, clock=lambda: NOW)
    database = Database(settings.db_url)
    database.migrate()
    app = create_app(settings, database=database)
    registry = app.state.portal.registry
    registry.install_trust_list((w.run / "tl.trust").read_bytes())
    policy = (w.run / "policy.policy").read_bytes()
    registry.install_policy(Policy.parse_unverified(policy).name, policy)
    try:
        with start(app, "127.0.0.1", free_port()) as server:
            w.names["portal"] = server.url  # kept after the run: the transcript shows it (as $PORTAL)
            yield
    finally:
        database.dispose()


# fmt: off
TRUST = ("--trust", "{RUN}/tl.trust", *PINS)
KEYS = ("--trusted-key", "{RUN}/pem/coop.pem", "--trusted-key", "{RUN}/pem/workshop.pem",
        "--trusted-key", "{RUN}/pem/lab.pem")
VERIFY_TL = ("trust", "verify", "{RUN}/tl.trust", *PINS)

CORRECT = ("step", "correct", "{dried}", "--seq", "3", "--key", "lab", "--reason",
           "Nhập nhầm độ ẩm: 11,6% chứ không phải 11,8%", "--data", "moisture_pct=11.6",
           "--at", "2024-11-07T08:00:00+07:00")
OTHERS_CORRECTION = ("step", "correct", "{dried}", "--seq", "3", "--key", "coop", "--reason", "HTX sửa kết quả",
                     "--data", "result=Đạt loại A", "--at", "2024-11-07T09:00:00+07:00")
EXPORT_CORRECTED = ("export", "{dried}", "-o", "{RUN}/corrected.ocop")

CASES = [
    case("key-new", "key", "new", "extra"),
    case("key-new-unencrypted", "key", "new", "plain", "--insecure-unencrypted-key"),
    case("key-new-exists", "key", "new", "coop"),
    case("key-list", "key", "list"),
    case("key-list-empty", "--home", "{RUN}/empty", "key", "list"),
    case("key-export", "key", "export", "coop"),
    case("key-export-missing", "key", "export", "nobody"),
    case("batch-new", "batch", "new", "--key", "coop", "--product", DRIED, "--lot", "L2412-07", "--quantity", "12.5",
         "--unit", "hộp", "--gtin", "08931234567897", "--where", "Nghi Sơn, Thanh Hóa", "--producer", COOP,
         "--admin-code", "38", "--ocop-stars", "4", "--ocop-cert", "5678/QĐ-UBND", "--ocop-date", "2023-06-15",
         "--data", "harvest=Vụ đông", "--data", "boxes=12", "--data", "organic=true",
         "--at", "2024-12-01T08:00:00+07:00"),
    case("batch-new-bad-gtin", "batch", "new", "--key", "coop", "--product", DRIED, "--lot", "L1", "--quantity", "1",
         "--unit", "kg", "--gtin", "08931234567890", "--at", "2024-12-01T08:00:00+07:00"),
    case("batch-new-decimal-comma", "batch", "new", "--key", "coop", "--product", DRIED, "--lot", "L1", "--quantity",
         "12,5", "--unit", "kg", "--at", "2024-12-01T08:00:00+07:00"),
    case("batch-new-unsealable-lot", "batch", "new", "--key", "coop", "--product", DRIED, "--lot", "Lô 1",
         "--quantity", "1", "--unit", "kg", "--at", "2024-12-01T08:00:00+07:00"),
    case("batch-list", "batch", "list"),
    case("batch-list-filtered", "batch", "list", "--product", "SAY KHO", "--since", "2024-11-03"),
    case("batch-show-lot", "batch", "show", "T2411-01"),
    case("batch-list-empty", "--home", "{RUN}/empty", "batch", "list"),
    case("batch-show", "batch", "show", "{dried}"),
    case("batch-show-missing", "batch", "show", "abcdef"),
    case("step-add", "step", "add", "{fresh}", "--key", "workshop", "--step", "ocop:sorting", "--where", "Tĩnh Gia",
         "--where-code", "38", "--data", "grade=Loại 1", "--attach", "{RUN}/phieu-ket-qua.pdf",
         "--at", "2024-11-01T10:00:00+07:00"),
    case("step-add-with-input", "step", "add", "{dried}", "--key", "coop", "--step", "receiving", *PLACE,
         "--input", "{partial}", "--at", "2024-11-07T08:00:00+07:00"),
    case("step-add-unknown-step", "step", "add", "{dried}", "--key", "coop", "--step", "harvest", *PLACE,
         "--at", "2024-11-07T08:00:00+07:00"),
    case("step-add-local-date", "step", "add", "{dried}", "--key", "coop", "--step", "receiving", *PLACE,
         "--at", "07/11/2024"),
    case("step-list", "step", "list"),
    case("step-add-too-early", "step", "add", "{dried}", "--key", "coop", "--step", "receiving", *PLACE,
         "--at", "2024-11-01T08:00:00+07:00"),
    case("step-import", "step", "import", "{dried}", "{RUN}/erp.jsonld", "--key", "coop"),
    case("step-import-unsupported", "step", "import", "{dried}", "{RUN}/erp-po.jsonld", "--key", "coop"),
    case("export", "export", "{dried}", "-o", "{RUN}/out.ocop"),
    case("export-cose-seq", "export", "{dried}", "-o", "{RUN}/out.cose", "--cose-seq"),
    case("export-epcis", "export", "{dried}", "-o", "{RUN}/out.jsonld", "--epcis"),
    case("export-epcis-trust", "export", "{dried}", "-o", "{RUN}/out.jsonld", "--epcis", *TRUST),
    case("export-epcis-wrong-authority", "export", "{dried}", "-o", "{RUN}/out.jsonld", "--epcis", "--trust",
         "{RUN}/tl.trust", "--authority-key", "coop"),
    case("verify-keys", "verify", "{RUN}/dried.ocop", *KEYS),
    case("verify-keys-summary", "verify", "{RUN}/dried.ocop", *KEYS, "--summary"),
    case("verify-trust-summary", "verify", "{RUN}/dried.ocop", *TRUST, "--summary"),
    case("show", "show", "{RUN}/dried.ocop"),
    case("show-trust", "show", "{RUN}/partial.ocop", *TRUST),
    case("show-tampered", "show", "{RUN}/tampered.ocop"),
    case("verify-keys-tampered", "verify", "{RUN}/tampered.ocop", *KEYS),
    case("verify-keys-untrusted", "verify", "{RUN}/dried.ocop", "--trusted-key", "{RUN}/pem/coop.pem"),
    case("verify-keys-wrong-batch", "verify", "{RUN}/dried.ocop", *KEYS, "--expect-batch", "00" * 32),
    case("verify-missing-file", "verify", "{RUN}/none.ocop", *KEYS),
    case("verify-trust-policy", "verify", "{RUN}/dried.ocop", *TRUST, "--policy", "{RUN}/policy.policy"),
    case("verify-trust-findings", "verify", "{RUN}/partial.ocop", *TRUST, "--policy", "{RUN}/policy.policy"),
    case("verify-trust-stranger", "verify", "{RUN}/stranger.ocop", *TRUST),
    case("verify-trust-tampered", "verify", "{RUN}/tampered.ocop", *TRUST),
    case("verify-trust-two-bundles", "verify", "{RUN}/dried.ocop", "{RUN}/partial.ocop", *TRUST),
    case("verify-trust-revoked", "verify", "{RUN}/dried.ocop", "--trust", "{RUN}/v2.trust", *PINS),
    case("verify-trust-pinned", "verify", "{RUN}/dried.ocop", *TRUST, "--pinned", "{RUN}/state.json",
         "--update-pinned"),
    case("verify-trust-pinned-rollback", "verify", "{RUN}/dried.ocop", *TRUST, "--pinned", "{RUN}/state.json",
         before=(("verify", "{RUN}/fork-a.ocop", *TRUST, "--pinned", "{RUN}/state.json", "--update-pinned"),)),
    case("verify-trust-fork", "verify", "{RUN}/fork-a.ocop", "{RUN}/fork-b.ocop", *TRUST, "--proofs",
         "{RUN}/proofs"),
    case("verify-trust-bad-policy", "verify", "{RUN}/dried.ocop", *TRUST, "--policy", "{RUN}/bad.policy"),
    case("verify-trust-wrong-authority", "verify", "{RUN}/dried.ocop", "--trust", "{RUN}/tl.trust",
         "--authority-key", "coop"),
    case("import", "--home", "{RUN}/other", "import", "{RUN}/dried.ocop", *KEYS),
    case("import-tampered", "--home", "{RUN}/other", "import", "{RUN}/tampered.ocop", *KEYS),
    case("qr-make", "qr", "make", "{dried}", "--key", "coop", "--resolver", RESOLVER, "--serial", "SN0001"),
    case("qr-make-text-form", "qr", "make", "{dried}", "--key", "coop", "--resolver", RESOLVER, "--text-form"),
    case("qr-make-wrong-key", "qr", "make", "{dried}", "--key", "a1", "--resolver", RESOLVER),
    case("qr-make-svg", "qr", "make", "{dried}", "--key", "coop", "--resolver", RESOLVER, "-o", "{RUN}/code.svg",
         "--module-mm", "0.3"),
    case("qr-make-too-small", "qr", "make", "{dried}", "--key", "coop", "--resolver", RESOLVER, "-o",
         "{RUN}/code.png", "--module-mm", "0.2"),
    case("qr-labels", "qr", "labels", "{dried}", "--key", "coop", "--resolver", RESOLVER, "--count", "3", "-o",
         "{RUN}/sheet.pdf", "--manifest", "{RUN}/units.csv"),
    case("qr-labels-roll-preset", "qr", "labels", "{dried}", "--key", "coop", "--resolver", RESOLVER, "--count", "2",
         "-o", "{RUN}/roll.pdf", "--preset", "roll-50x30", "--produced", "batch", "--expires", "2025-11-05",
         "--show-producer", "--scan-hint"),
    case("qr-labels-a4-65-trust", "qr", "labels", "{dried}", "--key", "coop", "--resolver", RESOLVER, "--count", "2",
         "-o", "{RUN}/sheet.pdf", "--preset", "a4-65", "--show-producer", *TRUST),
    case("qr-labels-trust-stranger", "qr", "labels", "{alien}", "--key", "stranger", "--resolver", RESOLVER,
         "--count", "1", "-o", "{RUN}/sheet.pdf", "--show-producer", *TRUST),
    case("qr-labels-no-packing-date", "qr", "labels", "{fresh}", "--key", "coop", "--resolver", RESOLVER, "--count",
         "1", "-o", "{RUN}/sheet.pdf", "--produced", "batch"),
    case("qr-labels-layout-too-big", "qr", "labels", "{dried}", "--key", "coop", "--resolver", RESOLVER, "--count",
         "1", "-o", "{RUN}/sheet.pdf", "--label", "80x50"),
    case("qr-verify", "qr", "verify", "{seal}", "--trusted-key", "{RUN}/pem/coop.pem"),
    case("qr-verify-bundle", "qr", "verify", "{seal}", *KEYS, "--bundle", "{RUN}/dried.ocop"),
    case("qr-verify-older-head", "qr", "verify", "{seal}", *KEYS, "--bundle", "{RUN}/fork-a.ocop"),
    case("qr-verify-trust", "qr", "verify", "{seal}", *TRUST, "--bundle", "{RUN}/dried.ocop"),
    case("qr-verify-trust-no-bundle", "qr", "verify", "{seal}", *TRUST),
    case("qr-verify-bundle-untrusted-step", "qr", "verify", "{seal}", "--trusted-key", "{RUN}/pem/coop.pem",
         "--bundle", "{RUN}/dried.ocop"),
    case("verify-expect-batch-prefix", "verify", "{RUN}/dried.ocop", *KEYS, "--expect-batch", "cc891885"),
    case("qr-verify-untrusted", "qr", "verify", "{seal}", "--trusted-key", "{RUN}/pem/lab.pem"),
    case("qr-verify-garbage", "qr", "verify", "https://id.example.vn/01/08931234567897/10/L2411-01",
         "--trusted-key", "{RUN}/pem/coop.pem"),
    case("qr-verify-revoked-steps", "qr", "verify", "{seal}", "--trust", "{RUN}/v2.trust", *PINS, "--bundle",
         "{RUN}/dried.ocop"),
    case("trust-init", "trust", "init", "-o", "{RUN}/new.json", "--issuer", AUTHORITY, *PINS, "--expires",
         "2030-01-01T00:00:00+07:00"),
    case("trust-init-exists", "trust", "init", "-o", "{RUN}/tl.json", "--issuer", AUTHORITY, "--authority-key",
         "a1", "--expires", "2030-01-01T00:00:00+07:00"),
    case("trust-add-participant", "trust", "add-participant", "{RUN}/tl.json", "--id", "cua-hang", "--name",
         "Cửa hàng OCOP Sầm Sơn", "--role", "retailer", "--gln", "8930000000019", "--key", "stranger", *WINDOW),
    case("trust-add-key", "trust", "add-key", "{RUN}/tl.json", "--id", "htx-nghi-son", "--key", "stranger",
         *WINDOW),
    case("trust-retire", "trust", "retire", "{RUN}/tl.json", "--key", "workshop", "--at", "2026-06-01T00:00:00Z"),
    case("trust-revoke", "trust", "revoke", "{RUN}/tl.json", "--key", "lab"),
    case("trust-bump", "trust", "bump", "{RUN}/tl.trust", "-o", "{RUN}/v3.json", "--expires",
         "2099-06-01T00:00:00Z"),
    case("trust-sign-one", "trust", "sign", "{RUN}/tl.json", "--key", "a1", "-o", "{RUN}/one.trust"),
    case("trust-sign-cosign", "trust", "sign", "{RUN}/tl.trust", "--key", "a3"),
    case("trust-sign-outsider", "trust", "sign", "{RUN}/tl.trust", "--key", "coop"),
    case("trust-inspect-draft", "trust", "inspect", "{RUN}/v2.json"),
    case("trust-inspect-signed", "trust", "inspect", "{RUN}/v2.trust"),
    case("trust-verify", *VERIFY_TL),
    case("trust-verify-cached", "trust", "verify", "{RUN}/tl.trust", before=(VERIFY_TL,)),
    case("trust-verify-newer", "trust", "verify", "{RUN}/v2.trust", *PINS, before=(VERIFY_TL,)),
    case("trust-verify-rollback", *VERIFY_TL, before=(("trust", "verify", "{RUN}/v2.trust", *PINS),)),
    case("trust-verify-no-cache", *VERIFY_TL, "--no-cache"),
    case("trust-verify-pinned-list", "trust", "verify", "{RUN}/v2.trust", "--pinned-list", "{RUN}/tl.trust"),
    case("trust-verify-pinned-list-keys", "trust", "verify", "{RUN}/v2.trust", *PINS, "--pinned-list",
         "{RUN}/tl.trust"),
    case("trust-verify-store-damaged", *VERIFY_TL, before=(VERIFY_TL, ("policy", "sign", "{RUN}/policy.json", "--key",
         "a1", "-o", "{RUN}/home/trust/2ec37e25ec7d3bb89f909593a717b6805c2ee5e8d8e113331c5fb0b30f518425.trust"))),
    case("trust-verify-threshold", "trust", "verify", "{RUN}/tl.trust", "--authority-key", "coop"),
    case("trust-verify-expired", "trust", "verify", "{RUN}/tl.trust", *PINS, "--no-cache",
         before=(("trust", "sign", "{RUN}/tl.json", "--key", "a1", "--key", "a2", "-o", "{RUN}/tl.trust"),)),
    case("trust-verify-draft", "trust", "verify", "{RUN}/tl.json", *PINS),
    case("trust-verify-no-anchor", "trust", "verify", "{RUN}/tl.trust"),
    case("policy-starter", "policy", "starter", "circular-02-2024", "-o", "{RUN}/circular.json"),
    case("policy-sign", "policy", "sign", "{RUN}/policy.json", "--key", "a1", "-o", "{RUN}/p1.policy"),
    case("policy-inspect-draft", "policy", "inspect", "{RUN}/policy.json"),
    case("policy-inspect-signed", "policy", "inspect", "{RUN}/policy.policy"),
    case("policy-verify", "policy", "verify", "{RUN}/policy.policy", *TRUST),
    case("policy-verify-bad", "policy", "verify", "{RUN}/bad.policy", *TRUST),
    case("demo", "demo"),
    case("publish", "publish", "{dried}", "--to", "{portal}", portal=True),
    case("publish-refused-policy", "publish", "{partial}", "--to", "{portal}", portal=True),
    case("publish-refused-untrusted", "publish", "{alien}", "--to", "{portal}", portal=True),
    case("step-correct", *CORRECT),
    case("step-correct-withdraw", "step", "correct", "{dried}", "--seq", "4", "--key", "coop", "--reason",
         "Đóng gói ghi nhầm lô", "--at", "2024-11-07T08:00:00+07:00"),
    case("step-correct-genesis", "step", "correct", "{dried}", "--seq", "0", "--key", "coop", "--reason", "sai"),
    case("step-correct-missing-step", "step", "correct", "{dried}", "--seq", "9", "--key", "coop", "--reason", "sai",
         "--at", "2024-11-07T08:00:00+07:00"),
    case("batch-show-corrected", "batch", "show", "{dried}", before=(CORRECT, OTHERS_CORRECTION)),
    case("verify-keys-corrected", "verify", "{RUN}/corrected.ocop", *KEYS,
         before=(CORRECT, OTHERS_CORRECTION, EXPORT_CORRECTED)),
    case("verify-trust-corrected", "verify", "{RUN}/corrected.ocop", *TRUST, "--policy", "{RUN}/policy.policy",
         before=(CORRECT, OTHERS_CORRECTION, EXPORT_CORRECTED)),
    case("verify-keys-attachments", "verify", "{RUN}/dried.ocop", *KEYS, "--attachments", "{RUN}"),
    case("verify-keys-attachments-missing", "verify", "{RUN}/dried.ocop", *KEYS, "--attachments", "{RUN}/pem"),
]
# fmt: on


def _normalise(text: str, w: World) -> str:
    text = text.replace(str(w.run), "$RUN")
    text = re.sub(r"[^\s()\"']*ocop-demo-[A-Za-z0-9_]+", "$TMP/ocop-demo-XXXXXXXX", text)
    text = re.sub(r"http://127\.0\.0\.1:[0-9]+", "$PORTAL", text)
    text = re.sub(r"( on \d+ pages?, )\d+( bytes)", r"\1$PDF_SIZE\2", text)
    text = re.sub(r'("pages": \d+,\n\s*"bytes": )\d+', r'\1"$PDF_SIZE"', text)
    return re.sub(r'"backend": "[a-z0-9_-]+"', '"backend": "$BACKEND"', text)


def _transcript(args: tuple[str, ...], result: Result, w: World, *, with_stdout: bool) -> str:
    shown = " ".join(_normalise(w.fill(a), w) for a in args)
    parts = [f"$ ocop {shown}", f"exit {result.exit_code}"]
    if with_stdout:
        parts += ["--- stdout", _normalise(result.stdout, w)]
    parts += ["--- stderr", _normalise(result.stderr, w)]
    return "\n".join(parts) + "\n"


def _run(w: World, c: Case, *extra: str) -> Result:
    w.reset()
    for before in c.before:
        w.seeds.reset(200)
        w.ok(*before)
    w.seeds.reset(101)
    if not c.portal:
        return w.invoke(*c.args, *extra)
    with _portal(w):
        return w.invoke(*c.args, *extra)


def _check(path: Path, actual: str) -> None:
    if UPDATE:
        if actual:
            path.write_text(actual, encoding="utf-8")
        else:
            path.unlink(missing_ok=True)
        return
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    assert actual == expected, f"{path.name} differs: regenerate with OCOP_UPDATE_GOLDEN=1 if this is intended"


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_golden(world: World, c: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, world.run, world.seeds)
    monkeypatch.setattr("tempfile.tempdir", str(world.run))
    text = _run(world, c)
    as_json = _run(world, c, "--json")
    transcript = _transcript(c.args, text, world, with_stdout=True)
    transcript += _transcript((*c.args, "--json"), as_json, world, with_stdout=False)
    GOLDEN.mkdir(exist_ok=True)
    _check(GOLDEN / f"{c.name}.txt", transcript)
    _check(GOLDEN / f"{c.name}.json", _normalise(as_json.stdout, world))
    assert "Traceback" not in text.stderr + as_json.stderr


#: Cases whose text is also pinned in Vietnamese (``golden/vi-NAME.txt``, text mode; --json is the English document).
VI_CASES = [
    c
    for c in CASES
    if c.name
    in {
        "key-new", "key-list", "batch-new", "batch-new-bad-gtin", "batch-show", "batch-show-missing", "step-add",
        "export", "verify-keys", "verify-keys-tampered", "verify-keys-untrusted", "verify-trust-policy",
        "verify-trust-findings", "qr-make", "qr-verify", "qr-verify-untrusted", "trust-verify", "trust-inspect-signed",
        "policy-inspect-signed",
    }
]  # fmt: skip


@pytest.mark.parametrize("c", VI_CASES, ids=[c.name for c in VI_CASES])
def test_golden_vietnamese(world: World, c: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, world.run, world.seeds)
    monkeypatch.setenv("OCOP_LANG", "vi")
    monkeypatch.setattr("tempfile.tempdir", str(world.run))
    text = _run(world, c)
    _check(GOLDEN / f"vi-{c.name}.txt", _transcript(c.args, text, world, with_stdout=True))
    assert "Traceback" not in text.stderr


def test_every_golden_file_has_a_case() -> None:
    names = {c.name for c in CASES} | {f"vi-{c.name}" for c in VI_CASES}
    assert len(names) == len(CASES) + len(VI_CASES)
    assert len(VI_CASES) == 19  # every name in VI_CASES is a case
    stale = sorted(p.name for p in GOLDEN.iterdir() if p.suffix in (".txt", ".json") and p.stem not in names)
    assert not stale, f"golden files without a case (remove them): {stale}"
