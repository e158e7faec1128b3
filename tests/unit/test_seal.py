from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from datetime import date, datetime, timedelta

import ocop_provenance as op
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ocop_provenance._cose import parse_sign1
from ocop_provenance._seal import base45_decode, base45_encode
from ocop_provenance.events import (
    BundleBatch,
    BundleHeader,
    append_step,
    open_batch,
    parse_unverified_event,
    write_bundle,
)
from ocop_provenance.seals import (
    SEAL_TYP,
    Seal,
    SealMismatchError,
    SealStatement,
    make_seal,
    parse_unverified_seal,
    seal_units,
)

from tests.conftest import ICT, key, sample_chain, sample_genesis
from tests.verifying import ANY_BATCH, options, verifies

R = "https://id.example.vn"
DAY = date(2024, 11, 2)
NOW = datetime(2024, 11, 3, 12, 0, tzinfo=ICT)


def seal_of(chain: list[op.SignedEvent], signer: op.PrivateKey, at: int = -1, **kw: object) -> Seal:
    fields: dict[str, object] = {"resolver": R, "sealed_on": DAY, **kw}
    return make_seal(chain[0], chain[at], signer, **fields)  # type: ignore[arg-type]


def code_of(excinfo: pytest.ExceptionInfo[op.ProvenanceError]) -> str:
    return excinfo.value.code


def twin_chain(signer: op.PrivateKey, length: int = 4) -> list[op.SignedEvent]:
    """Another batch of the same product and lot (opened an hour later)."""
    events = [open_batch(sample_genesis(time=datetime(2024, 11, 1, 9, 0, tzinfo=ICT)), signer)]
    for i in range(1, length):
        where = op.Location(name="Kho")
        events.append(append_step(events[-1], signer, step="packing", time=NOW + timedelta(minutes=i), location=where))
    return events


# ---- encodings ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0"), (b"", "")],
)
def test_base45_rfc9285_vectors(raw: bytes, text: str) -> None:
    assert base45_encode(raw) == text
    assert base45_decode(text) == raw


@pytest.mark.parametrize("text", ["GGW", "A", "ab", "::::"])
def test_base45_rejects_invalid(text: str) -> None:
    with pytest.raises(op.FormatError) as info:
        base45_decode(text)
    assert info.value.code == "E_SEAL_ENCODING"


# ---- round trips ---------------------------------------------------------------------------------------------


def test_url_and_text_forms_are_the_same_cose_sign1(
    chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing
) -> None:
    seal = seal_of(chain, coop)
    url, text = seal.to_url(), seal.to_text()
    assert url.startswith(f"{R}/01/08931234567897/10/L2411-01?s=")
    assert url.split("?s=")[1].isdigit()
    assert text.startswith("OCOP1:")
    from_url, from_text = op.verify_seal(url, options(ring, now=NOW)), op.verify_seal(text, options(ring, now=NOW))
    assert from_url.seal == from_text.seal == seal
    assert from_url.code == "SEAL_OK"
    assert from_url.key == coop.public_key
    # A standard COSE_Sign1 that any COSE library can check with the producer's key.
    cose = parse_sign1(from_url.seal.raw, typ=SEAL_TYP, max_size=1024)
    assert verifies(coop.public_key.verify, cose.signature, cose.to_be_signed)
    assert cose.key_id == coop.public_key.key_id


def test_statement_binds_what_the_issue_lists(chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    st_ = seal_of(chain, coop, serial="SN-0001").statement
    assert (st_.gtin, st_.lot, st_.serial, st_.seq, st_.sealed_on) == ("08931234567897", "L2411-01", "SN-0001", 3, DAY)
    assert st_.head == chain[-1].event_id[:16]
    assert SealStatement.from_payload(st_.to_payload()) == st_


def test_result_says_what_a_seal_proves_and_what_not(
    chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing
) -> None:
    result = op.verify_seal(seal_of(chain, coop).to_url(), options(ring), chain=chain)
    assert "who signed" in result.proves
    assert "not changed" in result.proves
    assert "copied" in result.does_not_prove
    assert "sao chép" in result.does_not_prove_vi
    doc = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert doc["chain"]["product_name"] == "Đông trùng hạ thảo tươi"
    assert doc["chain"]["covered"] == doc["chain"]["total"] == 4
    assert [s["step"] for s in doc["chain"]["steps"]] == ["genesis", "commissioning", "ocop:drying", "ocop:drying"]


def test_per_unit_seals_each_verify(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    serials = [f"U{i:05d}" for i in range(5)]
    seals = list(seal_units(chain[0], chain[-1], coop, resolver=R, sealed_on=DAY, serials=serials))
    assert [s.statement.serial for s in seals] == serials
    assert len({s.seal_id for s in seals}) == 5
    for s in seals:
        assert f"/21/{s.statement.serial}?s=" in s.to_url()
        assert op.verify_seal(s.to_url(), options(ring)).seal == s


def test_producer_without_gtin_gets_the_ocop_link(coop: op.PrivateKey, ring: op.KeyRing) -> None:
    genesis = sample_genesis(product=op.Product(name="Mật ong rừng", lot="MO-2411", quantity="50", unit="lít"))
    chain = [open_batch(genesis, coop)]
    seal = seal_of(chain, coop, serial="7")
    url = seal.to_url()
    assert url.startswith(f"{R}/ocop/{chain[0].event_id[:8].hex()}/MO-2411/7?s=")
    result = op.verify_seal(url, options(ring), chain=chain)
    assert result.statement.batch_ref == chain[0].event_id[:8]
    other = sample_chain(coop, 2)
    with pytest.raises(SealMismatchError) as info:
        op.verify_seal(url, options(ring), chain=other)
    assert code_of(info) == "E_SEAL_BATCH"


def test_lot_outside_gs1_charset_cannot_be_sealed(coop: op.PrivateKey) -> None:
    genesis = sample_genesis(product=op.Product(name="Chè", lot="Lô 1", quantity="1", unit="kg"))
    with pytest.raises(op.FormatError) as info:
        seal_of([open_batch(genesis, coop)], coop)
    assert code_of(info) == "E_DL_CHARSET"


def test_bad_serial_and_foreign_head_are_refused(chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    with pytest.raises(op.FormatError) as info:
        seal_of(chain, coop, serial="số 1")
    assert code_of(info) == "E_DL_CHARSET"
    other = twin_chain(coop, 2)
    with pytest.raises(op.FormatError) as info:
        make_seal(chain[0], other[-1], coop, resolver=R, sealed_on=DAY)
    assert code_of(info) == "E_SEAL_INPUT"
    with pytest.raises(op.FormatError) as info:
        make_seal(chain[1], chain[-1], coop, resolver=R, sealed_on=DAY)
    assert code_of(info) == "E_SEAL_INPUT"


# ---- every failure has its own code ---------------------------------------------------------------------------


def test_wrong_prefixes(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    text = seal_of(chain, coop).to_text()
    for bad in ("HC1:" + text[6:], "OCOP2:" + text[6:], "ocop1:" + text[6:], "shc:/56762909", "", "01/0893"):
        with pytest.raises(op.FormatError) as info:
            op.verify_seal(bad, options(ring))
        assert code_of(info) == "E_SEAL_PREFIX", bad


def test_link_without_seal_or_with_extra_fields(
    chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing
) -> None:
    url = seal_of(chain, coop).to_url()
    with pytest.raises(op.FormatError) as info:
        op.verify_seal(url.split("?")[0], options(ring))
    assert code_of(info) == "E_SEAL_MISSING"
    with pytest.raises(op.FormatError) as info:
        op.verify_seal(url + "&17=251231", options(ring))
    assert code_of(info) == "E_DL_QUERY"
    with pytest.raises(op.FormatError) as info:
        op.verify_seal(url.replace("/10/", "/22/V1/10/"), options(ring))
    assert code_of(info) == "E_DL_QUALIFIER"
    with pytest.raises(op.FormatError) as info:
        op.verify_seal(url.replace("/01/", "/01/x"), options(ring))
    assert code_of(info) == "E_GTIN"
    with pytest.raises(op.FormatError) as info:
        op.verify_seal(url.replace("https://id.", "https://user@id."), options(ring))
    assert code_of(info) == "E_DL_SYNTAX"


def test_truncated_seals(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    seal = seal_of(chain, coop)
    url, text = seal.to_url(), seal.to_text()
    for cut in (1, 2, 3, 10, 100):
        with pytest.raises(op.FormatError) as info:
            op.verify_seal(url[:-cut], options(ring))
        assert code_of(info) == "E_SEAL_TRUNCATED", cut
    for cut in (3, 30):
        with pytest.raises(op.FormatError) as info:
            op.verify_seal(text[:-cut], options(ring))
        assert code_of(info) in {"E_COSE", "E_CBOR"}, cut


def test_altered_seals_fail_the_signature(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    seal = seal_of(chain, coop)
    url = seal.to_url()
    digits = url.split("?s=")[1]
    tampered = [
        url.replace("L2411-01", "L2411-02"),
        url.replace("id.example.vn", "id.examp1e.vn"),
        url.replace("?s=", "/21/1?s="),
        url[:-1] + str((int(url[-1]) + 1) % 10),
        url.replace(digits, digits[:40] + str((int(digits[40]) + 1) % 10) + digits[41:]),
    ]
    for bad in tampered:
        with pytest.raises(op.SignatureError) as info:
            op.verify_seal(bad, options(ring))
        assert code_of(info) == "E_SIGNATURE", bad


def test_seal_and_event_are_never_confused(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    seal = seal_of(chain, coop)
    with pytest.raises(op.SignatureError) as info:
        parse_unverified_event(seal.raw)
    assert code_of(info) == "E_CONTENT_TYPE"
    with pytest.raises(op.SignatureError) as info:
        op.verify_seal("OCOP1:" + base45_encode(chain[0].raw), options(ring))
    assert code_of(info) == "E_CONTENT_TYPE"
    with pytest.raises(op.ProvenanceError) as info:
        op.verify_chain([seal.raw], options(ring), batch=ANY_BATCH)
    assert code_of(info) == "E_CONTENT_TYPE"


def test_untrusted_signer(chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    url = seal_of(chain, coop).to_url()
    with pytest.raises(op.UntrustedKeyError) as info:
        op.verify_seal(url, options(op.KeyRing.of([key(2).public_key])))
    assert code_of(info) == "E_UNKNOWN_KEY"
    assert info.value.key_id == coop.public_key.key_id[:4].hex()


def test_every_key_matching_the_hint_is_tried(chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    """The 4-byte hint is not an authenticator: every trusted key whose id starts with it is tried in turn."""
    seal = parse_unverified_seal(seal_of(chain, coop).to_url())
    # An empty hint is the limit of a collision: every key of the ring matches it.
    colliding = dataclasses.replace(seal, kid_hint=b"")
    ring = op.KeyRing.of([key(3).public_key, key(2).public_key, coop.public_key])
    assert op.verify_seal(colliding, options(ring)).key == coop.public_key
    with pytest.raises(op.SignatureError):
        op.verify_seal(colliding, options(op.KeyRing.of([key(3).public_key, key(2).public_key])))


def test_future_seal(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    url = seal_of(chain, coop, sealed_on=date(2025, 1, 1)).to_url()
    with pytest.raises(SealMismatchError) as info:
        op.verify_seal(url, options(ring, now=NOW))
    assert code_of(info) == "E_SEAL_FUTURE"
    assert op.verify_seal(url, options(ring, now=datetime(2024, 12, 31, 20, 0, tzinfo=ICT))).code == "SEAL_OK"
    with pytest.raises(ValueError, match="timezone"):
        op.verify_seal(url, options(ring, now=datetime(2025, 1, 1)))


# ---- against the chain ----------------------------------------------------------------------------------------


def test_older_head_is_recognised(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    url = seal_of(chain, coop, at=1).to_url()
    result = op.verify_seal(url, options(ring), chain=[e.raw for e in chain])
    assert result.code == "SEAL_OLDER_HEAD"
    assert result.chain is not None
    assert (result.chain.covered, result.chain.total) == (2, 4)
    assert [s.seq for s in result.chain.steps] == [0, 1]
    assert op.verify_seal(url, options(ring), chain=chain[:2]).code == "SEAL_OK"


def test_truncated_chain_is_a_rollback(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    url = seal_of(chain, coop).to_url()
    with pytest.raises(SealMismatchError) as info:
        op.verify_seal(url, options(ring), chain=chain[:3])
    assert code_of(info) == "E_SEAL_ROLLBACK"


def test_seal_of_batch_a_never_verifies_against_batch_b(
    chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing
) -> None:
    url = seal_of(chain, coop).to_url()
    other_lot = [
        open_batch(
            sample_genesis(
                product=op.Product(
                    name="Đông trùng hạ thảo sấy", lot="L2411-02", quantity="1", unit="kg", gtin="08931234567897"
                )
            ),
            coop,
        )
    ]
    with pytest.raises(SealMismatchError) as info:
        op.verify_seal(url, options(ring), chain=other_lot)
    assert code_of(info) == "E_SEAL_BATCH"
    # Same product and lot, another batch: the sealed head is not there.
    with pytest.raises(SealMismatchError) as info:
        op.verify_seal(url, options(ring), chain=twin_chain(coop))
    assert code_of(info) == "E_SEAL_HEAD"
    # The same batch with a rewritten history.
    rewritten = [*chain[:3], append_step(chain[2], coop, step="packing", time=NOW, location=op.Location(name="K"))]
    with pytest.raises(SealMismatchError) as info:
        op.verify_seal(url, options(ring), chain=rewritten)
    assert code_of(info) == "E_SEAL_HEAD"


def test_seal_signer_must_have_signed_the_record(chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    stranger = key(2)
    url = seal_of(chain, stranger).to_url()
    both = op.KeyRing.of([coop.public_key, stranger.public_key])
    assert op.verify_seal(url, options(both)).code == "SEAL_OK"
    with pytest.raises(SealMismatchError) as info:
        op.verify_seal(url, options(both), chain=chain)
    assert code_of(info) == "E_SEAL_SIGNER"


def test_seal_dated_before_its_head(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    url = seal_of(chain, coop, sealed_on=date(2024, 10, 1)).to_url()
    with pytest.raises(SealMismatchError) as info:
        op.verify_seal(url, options(ring), chain=chain)
    assert code_of(info) == "E_SEAL_TIME"


def test_chain_errors_surface_with_their_own_code(chain: list[op.SignedEvent], coop: op.PrivateKey) -> None:
    url = seal_of(chain, coop).to_url()
    forged = op.KeyRing.of([coop.public_key])
    with pytest.raises(op.ChainError) as info:
        op.verify_seal(url, options(forged), chain=[chain[0], chain[2], chain[3]])
    assert code_of(info) == "E_SEQ"


def test_verify_with_a_bundle(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing, tmp_path) -> None:
    header = BundleHeader(
        root=chain[0].event_id,
        batches=(BundleBatch(batch_id=chain[0].event_id, count=len(chain), head=chain[-1].event_id),),
        keys=(coop.public_key,),
    )
    buf = io.BytesIO()
    write_bundle(buf, header, [e.raw for e in chain])
    path = tmp_path / "batch.ocop"
    path.write_bytes(buf.getvalue())
    older = seal_of(chain, coop, at=2).to_url()
    for source in (buf.getvalue(), path, str(path)):
        result = op.verify_seal(older, options(ring, now=NOW), bundle=source)
        assert result.code == "SEAL_OLDER_HEAD"
        assert result.chain is not None
        assert (result.chain.covered, result.chain.total) == (3, 4)
    with pytest.raises(ValueError, match="not both"):
        op.verify_seal(older, options(ring), bundle=path, chain=chain)


# ---- properties ------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), delta=st.integers(min_value=1, max_value=9))
def test_no_single_digit_change_verifies(position: int, delta: int) -> None:
    signer = key(1)
    chain = sample_chain(signer, 2)
    url = make_seal(chain[0], chain[-1], signer, resolver=R, sealed_on=DAY).to_url()
    start = url.index("?s=") + 3
    i = start + position % (len(url) - start)
    bad = url[:i] + str((int(url[i]) + delta) % 10) + url[i + 1 :]
    with pytest.raises(op.ProvenanceError):
        op.verify_seal(bad, options(op.KeyRing.of([signer.public_key])))


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_no_byte_change_in_the_text_form_verifies(position: int, flip: int) -> None:
    signer = key(1)
    chain = sample_chain(signer, 2)
    raw = bytearray(make_seal(chain[0], chain[-1], signer, resolver=R, sealed_on=DAY).raw)
    raw[position % len(raw)] ^= flip
    with pytest.raises(op.ProvenanceError):
        op.verify_seal("OCOP1:" + base45_encode(bytes(raw)), options(op.KeyRing.of([signer.public_key])))


@given(st.text(max_size=400))
def test_arbitrary_text_raises_only_library_errors(text: str) -> None:
    for candidate in (text, "OCOP1:" + text, R + "/01/08931234567897/10/L1?s=" + text):
        with contextlib.suppress(op.ProvenanceError):
            parse_unverified_seal(candidate)


def test_statement_range_checks() -> None:
    base: dict[str, object] = {
        "resolver": R,
        "gtin": "08931234567897",
        "batch_ref": None,
        "lot": "L1",
        "serial": None,
        "seq": 0,
        "head": bytes(16),
        "sealed_on": DAY,
    }
    for change in (
        {"seq": -1},
        {"seq": 2**63},
        {"head": bytes(15)},
        {"sealed_on": date(1969, 12, 31)},
        {"sealed_on": datetime(2024, 1, 1, tzinfo=ICT)},
        {"gtin": None},
        {"resolver": "https://x.vn" + "/a" * 100},
    ):
        with pytest.raises(op.FormatError):
            SealStatement(**{**base, **change})  # type: ignore[arg-type]
    assert SealStatement(**{**base, "seq": 2**63 - 1, "sealed_on": DAY + timedelta(days=1)})  # type: ignore[arg-type]


# ---- known answer: the format must not drift without a new version --------------------------------------------

KAT_URL = (
    "https://id.example.vn/01/08931234567897/10/L2411-01/21/SN1?s=0061280885526092303894521151410415352593600781137"
    "182768962740507353215845051442997810796098329898144305341506167283046091063015943825781283756266892155055458401"
    "9822065664744199110505045773975147816276342028768006"
)
KAT_SEAL_ID = "34d9af07c941b377972e7eb2e08be119fe0f12afb57c9719ea5629e004df4547"


def test_known_answer(chain: list[op.SignedEvent], coop: op.PrivateKey, ring: op.KeyRing) -> None:
    seal = make_seal(chain[0], chain[1], coop, resolver=R, sealed_on=DAY, serial="SN1")
    assert seal.to_url() == KAT_URL
    assert seal.seal_id.hex() == KAT_SEAL_ID
    assert seal.to_text().startswith("OCOP1:RRQ57BERK/-4F6BD/R0*M%RHFT3$O1-N66:KWIGVHFATMBEJRKB:")
    assert op.verify_seal(KAT_URL, options(ring)).seal.seal_id.hex() == KAT_SEAL_ID
