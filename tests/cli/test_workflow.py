"""The invocations from the issue, exactly as written, and what each prints."""

from __future__ import annotations

import hashlib
import io
import re

import cbor2
import ocop_provenance as op
import pytest

from tests.verifying import options

from .conftest import FRESH, PLACE, PRODUCT, Env, step


def _flow(env: Env) -> dict[str, str]:
    env.new_key("coop")
    env.pem("coop")
    env.ok("key", "list")
    lab = env.tmp / "lab.pdf"
    lab.write_bytes(b"%PDF-1.4 test report\n")
    batch = env.ok(
        "batch",
        "new",
        "--key",
        "coop",
        "--product",
        PRODUCT,
        "--lot",
        "L2411-01",
        "--gtin",
        "08931234567897",
        "--quantity",
        "120",
        "--unit",
        "kg",
        "--where",
        PLACE,
    ).stdout  # no --at, exactly as the issue writes it: the batch opens "now", its harvest step is dated 2024
    assert re.fullmatch(r"[0-9a-f]{64}\n", batch)
    other = env.new_batch("coop", FRESH, "T2411-01")
    event = step(
        env,
        batch.strip(),
        "commissioning",
        "2024-11-02T07:30:00+07:00",
        "--data",
        "moisture=12.5",
        "--attach",
        str(lab),
        "--input",
        other[:10],
    )
    assert event.exit_code == 0, event.stderr
    assert re.fullmatch(r"[0-9a-f]{64}\n", event.stdout)
    return {"batch": batch.strip(), "other": other, "event": event.stdout.strip()}


def test_the_issue_invocations(env: Env) -> None:
    ids = _flow(env)
    listing = env.ok("batch", "list").stdout
    assert PRODUCT in listing
    assert FRESH in listing
    shown = env.ok("batch", "show", ids["batch"][:8]).stdout
    assert PRODUCT in shown
    assert "commissioning" in shown
    assert "moisture = 12.5" in shown
    assert "lab.pdf" in shown
    assert ids["other"][:16] in shown
    bundle = env.tmp / "batch.ocop"
    assert env.ok("export", ids["batch"], "-o", str(bundle)).stdout == ""
    cose = env.tmp / "events.cbor"
    env.ok("export", ids["batch"], "--cose-seq", "-o", str(cose))
    verified = env.ok("verify", str(bundle), "--trusted-key", str(env.tmp / "coop.pem"))
    assert verified.stdout.startswith("VERIFIED")
    assert PRODUCT in verified.stdout


def test_cose_sequence_is_the_chain_in_order(env: Env) -> None:
    ids = _flow(env)
    cose = env.tmp / "events.cbor"
    env.ok("export", ids["batch"][:12], "--cose-seq", "-o", str(cose))
    data = cose.read_bytes()
    src = io.BytesIO(data)
    items = []
    while src.tell() < len(data):
        start = src.tell()
        item = cbor2.CBORDecoder(src).decode()
        assert isinstance(item, cbor2.CBORTag)
        assert item.tag == 18
        items.append(data[start : src.tell()])
    ring = op.KeyRing.of([op.PublicKey.from_pem((env.tmp / "coop.pem").read_bytes())])
    summary = op.verify_chain(items, options(ring), batch=bytes.fromhex(ids["batch"]))
    assert summary.count == 2
    assert summary.head.event_id.hex() == ids["event"]


def test_data_values_attachments_and_inputs_as_json(env: Env) -> None:
    ids = _flow(env)
    step(
        env,
        ids["batch"],
        "ocop:drying",
        "2024-11-03T07:30:00+07:00",
        "--data",
        "n=3",
        "--data",
        "ok=true",
        "--data",
        "neg=-4",
        "--data",
        "note=Đạt",
        "--data",
        "big=99999999999999999999",
    )
    doc = env.json("batch", "show", ids["batch"])
    assert doc["batch_id"] == ids["batch"]
    events = doc["events"]
    assert [e["seq"] for e in events] == [0, 1, 2]
    assert events[0]["product"]["name"] == PRODUCT
    assert events[0]["product"]["gtin"] == "08931234567897"
    assert events[0]["producer"]["name"] == "coop"  # defaults to the key name
    assert events[1]["data"] == {"moisture": "12.5"}
    assert events[2]["data"] == {"n": 3, "ok": True, "neg": -4, "note": "Đạt", "big": "99999999999999999999"}
    assert events[1]["inputs"][0]["batch_id"] == ids["other"]
    assert events[1]["attachments"] == [
        {
            "name": "lab.pdf",
            "media_type": "application/pdf",
            "size": 21,
            "sha256": hashlib.sha256(b"%PDF-1.4 test report\n").hexdigest(),
        }
    ]
    assert all(e["signer"] == "coop" for e in events)


def test_batch_new_with_every_option(env: Env) -> None:
    env.new_key()
    cert = env.tmp / "chứng-nhận.txt"
    cert.write_text("OCOP", encoding="utf-8")
    doc = env.json(
        "batch",
        "new",
        "--key",
        "coop",
        "--product",
        PRODUCT,
        "--lot",
        "L1",
        "--quantity",
        "12.50",
        "--unit",
        "hộp",
        "--producer",
        "HTX Nông nghiệp Nghi Sơn",
        "--admin-code",
        "38",
        "--commune",
        "Nghi Sơn",
        "--province",
        "Thanh Hóa",
        "--ocop-stars",
        "4",
        "--ocop-cert",
        "123/QĐ-UBND",
        "--ocop-date",
        "2024-03-15",
        "--where",
        PLACE,
        "--where-code",
        "38",
        "--at",
        "2024-11-01T08:00:00+07:00",
        "--data",
        "grade=A",
        "--attach",
        str(cert),
    )
    event = doc["batch"]["event"]
    assert event["product"]["quantity"] == "12.5"
    assert event["product"]["unit"] == "hộp"
    assert event["producer"] == {
        "name": "HTX Nông nghiệp Nghi Sơn",
        "admin_code": "38",
        "commune": "Nghi Sơn",
        "province": "Thanh Hóa",
        "gln": None,
    }
    assert event["certificate"] == {"stars": 4, "number": "123/QĐ-UBND", "issued": "2024-03-15"}
    assert event["location"]["admin_code"] == "38"
    assert event["attachments"][0]["name"] == "chứng-nhận.txt"
    assert event["attachments"][0]["media_type"] == "text/plain"
    shown = env.ok("batch", "show", doc["batch"]["batch_id"]).stdout
    assert "4 stars, certificate 123/QĐ-UBND" in shown


def test_default_time_is_the_clock_in_local_time(env: Env) -> None:
    env.new_key()
    doc = env.json("batch", "new", "--key", "coop", "--product", "x", "--lot", "L", "--quantity", "1", "--unit", "kg")
    t = doc["batch"]["event"]["time"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", t)


def test_every_reporting_command_speaks_json(env: Env) -> None:
    ids = _flow(env)
    bundle = env.tmp / "b.ocop"
    for args in (
        ("key", "list"),
        ("key", "export", "coop"),
        ("batch", "list"),
        ("batch", "show", ids["batch"]),
        ("export", ids["batch"], "-o", str(bundle)),
        ("verify", str(bundle), "--trusted-key", str(env.tmp / "coop.pem")),
    ):
        doc = env.json(*args)
        assert doc["ok"] is True
        assert doc["command"] == ".".join(a for a in args[:2] if not a.startswith(("-", "/")) and a != ids["batch"])
    doc = env.json("export", ids["batch"], "-o", str(bundle))
    assert doc["events"] == 3
    assert doc["batches"] == 2
    assert doc["bytes"] == bundle.stat().st_size
    root_json = env.runner.invoke(__import__("ocop_cli.main").main.cli, ["--json", "batch", "list"])
    assert root_json.exit_code == 0
    assert '"schema": "ocop.cli/1"' in root_json.stdout


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (("batch", "show", "ffffffffffff"), 3, "E_NOT_FOUND"),
        (("step", "add", "ffffffffffff", "--key", "coop", "--step", "packing", "--where", "x"), 3, "E_NOT_FOUND"),
        (("export", "ffffffffffff", "-o", "OUT"), 3, "E_NOT_FOUND"),
        (("step", "add", "BATCH", "--key", "nobody", "--step", "packing", "--where", "x"), 3, "E_NO_KEY"),
        (("step", "add", "BATCH", "--key", "coop", "--step", "harvesting", "--where", "x"), 3, "E_FIELD"),
        (
            (
                "step",
                "add",
                "BATCH",
                "--key",
                "coop",
                "--step",
                "packing",
                "--where",
                "x",
                "--at",
                "2999-01-01T00:00:00+07:00",
            ),
            2,
            "future",
        ),
        (
            (
                "step",
                "add",
                "BATCH",
                "--key",
                "coop",
                "--step",
                "packing",
                "--where",
                "x",
                "--at",
                "2024-10-01T00:00:00+07:00",
            ),
            3,
            "E_TIME",
        ),
        (
            ("step", "add", "BATCH", "--key", "coop", "--step", "packing", "--where", "x", "--at", "yesterday"),
            2,
            "ISO 8601",
        ),
        (
            ("step", "add", "BATCH", "--key", "coop", "--step", "packing", "--where", "x", "--data", "novalue"),
            2,
            "key=value",
        ),
        (
            (
                "step",
                "add",
                "BATCH",
                "--key",
                "coop",
                "--step",
                "packing",
                "--where",
                "x",
                "--attach",
                "/nonexistent/f.pdf",
            ),
            3,
            "E_IO",
        ),
        (
            ("step", "add", "BATCH", "--key", "coop", "--step", "packing", "--where", "x", "--input", "ffffffffff"),
            3,
            "E_NOT_FOUND",
        ),
        (
            ("step", "add", "BATCH", "--key", "coop", "--step", "packing", "--where", "x", "--input", "BATCH"),
            3,
            "E_FIELD",
        ),
        (
            (
                "batch",
                "new",
                "--key",
                "coop",
                "--product",
                "x",
                "--lot",
                "L",
                "--quantity",
                "1",
                "--unit",
                "kg",
                "--gtin",
                "08931234567890",
            ),
            3,
            "the value given for --gtin is not valid",
        ),
        (
            ("batch", "new", "--key", "coop", "--product", "x", "--lot", "L", "--quantity", "-1", "--unit", "kg"),
            3,
            "the value given for --quantity is not valid",
        ),
        (
            (
                "batch",
                "new",
                "--key",
                "coop",
                "--product",
                "x",
                "--lot",
                "L",
                "--quantity",
                "1",
                "--unit",
                "kg",
                "--ocop-stars",
                "4",
            ),
            2,
            "go together",
        ),
        (
            (
                "batch",
                "new",
                "--key",
                "coop",
                "--product",
                "x",
                "--lot",
                "L",
                "--quantity",
                "1",
                "--unit",
                "kg",
                "--ocop-stars",
                "6",
                "--ocop-cert",
                "1",
                "--ocop-date",
                "2024-01-01",
            ),
            2,
            "ocop-stars",
        ),
        (
            ("batch", "new", "--key", "coop", "--product", "x\u0007", "--lot", "L", "--quantity", "1", "--unit", "kg"),
            3,
            "control characters",
        ),
        (("verify", "MISSING", "--trusted-key", "MISSING"), 3, "E_IO"),
        (("frobnicate",), 2, "No such command"),
    ],
)
def test_bad_input_gets_a_clear_error_and_leaves_the_ledger_unchanged(
    env: Env, args: tuple[str, ...], code: int, error: str
) -> None:
    ids = _flow(env)
    before = env.ledger_state()
    argv = [
        a.replace("BATCH", ids["batch"])
        .replace("OUT", str(env.tmp / "out.ocop"))
        .replace("MISSING", str(env.tmp / "no"))
        for a in args
    ]
    result = env.run(*argv)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert error in result.stderr
    assert "Traceback" not in result.stderr
    assert env.ledger_state() == before
    assert not (env.tmp / "out.ocop").exists()


def test_ambiguous_and_short_prefixes(env: Env) -> None:
    _flow(env)
    for prefix in ("", "abc"):
        result = env.run("batch", "show", prefix)
        assert result.exit_code == 3, result.stderr
        assert "E_" in result.stderr


def test_show_without_a_ledger(env: Env) -> None:
    result = env.run("batch", "show", "abcdef")
    assert result.exit_code == 3
    assert "E_NOT_FOUND" in result.stderr
    assert not (env.home / "ledger.sqlite").exists()
    assert env.ok("batch", "list").stdout == ""
    assert env.json("batch", "list")["batches"] == []


def test_export_to_stdout(env: Env) -> None:
    ids = _flow(env)
    result = env.runner.invoke(__import__("ocop_cli.main").main.cli, ["export", ids["batch"], "-o", "-"])
    assert result.exit_code == 0
    bundle = env.tmp / "piped.ocop"
    bundle.write_bytes(result.stdout_bytes)
    env.ok("verify", str(bundle), "--trusted-key", str(env.tmp / "coop.pem"))
    assert env.run("export", ids["batch"], "-o", "-", "--json").exit_code == 2
