from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import cbor2
import ocop_provenance as op
import pytest
from ocop_provenance.trust import (
    TRUST_TYP,
    AuthorityPin,
    TrustError,
    TrustList,
    add_signatures,
    parse_unverified_document,
    sign_document,
    sign_trust_list,
)

from tests.conftest import key
from tests.unit.trust_helpers import (
    AUTH,
    EXPIRES,
    LAB,
    NOW,
    ONE_SECOND,
    PRODUCER,
    STRANGER,
    T_END,
    T_START,
    pin,
    pkey,
    trust_draft,
    trusted,
)


def _payload_edit(raw_list: bytes, edit: object) -> bytes:
    """Re-sign a trust list whose payload map was changed by ``edit`` (a callable on the decoded map)."""
    doc = parse_unverified_document(raw_list, typ=TRUST_TYP)
    m = cbor2.loads(doc.payload)
    edit(m)  # type: ignore[operator]
    payload = cbor2.dumps(dict(sorted(m.items())))
    return sign_document(payload, AUTH, TRUST_TYP)


def test_round_trip_keeps_vietnamese_and_identity() -> None:
    raw = sign_trust_list(trust_draft(), AUTH[:2])
    tl = op.verify_trust_list(raw, pin(), now=NOW)
    assert tl.issuer == "Văn phòng Điều phối OCOP tỉnh Thanh Hóa"
    assert tl.participant("htx-nghi-son").name == "HTX Nông nghiệp Nghi Sơn"
    assert TrustList.parse_unverified(raw).payload() == trust_draft().payload()
    # a co-signature changes the bytes, not the list's identity
    cosigned = add_signatures(raw, [AUTH[2]], typ=TRUST_TYP)
    assert cosigned != raw
    assert op.verify_trust_list(cosigned, pin(3), now=NOW).object_id == tl.object_id
    assert tl.to_dict()["participants"][0]["keys"][0]["status"] == "active"


def test_unknown_key_is_named() -> None:
    with pytest.raises(op.UntrustedKeyError) as info:
        trusted().check_signer(STRANGER.key_id, NOW)
    assert info.value.code == "E_UNKNOWN_KEY"
    assert info.value.key_id == STRANGER.key_id.hex()


def test_validity_window_is_half_open() -> None:
    tl = trusted()
    assert tl.check_signer(PRODUCER.key_id, T_START)[0].id == "htx-nghi-son"  # not_before is inclusive
    assert tl.check_signer(PRODUCER.key_id, T_END - ONE_SECOND)[0].role == "producer"
    with pytest.raises(op.UntrustedKeyError) as before:
        tl.check_signer(PRODUCER.key_id, T_START - ONE_SECOND)
    assert before.value.code == "E_KEY_NOT_YET_VALID"
    with pytest.raises(op.UntrustedKeyError) as after:
        tl.check_signer(PRODUCER.key_id, T_END)  # not_after is exclusive
    assert after.value.code == "E_KEY_EXPIRED"


def test_retired_key_is_valid_only_before_retirement() -> None:
    retired_at = T_START + timedelta(days=100)
    tl = trusted(lab=pkey(LAB, status="retired", status_time=retired_at))
    assert tl.check_signer(LAB.key_id, retired_at - ONE_SECOND)[0].id == "lab"
    with pytest.raises(op.UntrustedKeyError) as info:
        tl.check_signer(LAB.key_id, retired_at)
    assert info.value.code == "E_KEY_RETIRED"


def test_revoked_key_is_refused_whatever_time_it_claims() -> None:
    tl = trusted(lab=pkey(LAB, status="revoked", status_time=T_START + timedelta(days=300)))
    for t in (T_START, T_START + timedelta(days=1), T_END - ONE_SECOND):
        with pytest.raises(op.UntrustedKeyError) as info:
            tl.check_signer(LAB.key_id, t)
        assert info.value.code == "E_KEY_REVOKED"


def test_rollback_to_an_older_version_is_refused() -> None:
    v1 = sign_trust_list(trust_draft(1), AUTH)
    v2 = op.verify_trust_list(sign_trust_list(trust_draft(2), AUTH), pin(), now=NOW)
    with pytest.raises(TrustError) as info:
        op.verify_trust_list(v1, v2, now=NOW)
    assert info.value.code == "E_TRUST_ROLLBACK"
    # the same list again is not a rollback
    assert op.verify_trust_list(v2.raw, v2, now=NOW).trust_list is v2.trust_list


def test_two_lists_with_one_version_are_an_authority_equivocation() -> None:
    v2 = op.verify_trust_list(sign_trust_list(trust_draft(2), AUTH), pin(), now=NOW)
    rival = sign_trust_list(replace(trust_draft(2), issuer="Kẻ giả mạo"), AUTH)
    with pytest.raises(TrustError) as info:
        op.verify_trust_list(rival, v2, now=NOW)
    assert info.value.code == "E_TRUST_CONFLICT"


def test_expired_list_is_refused_at_expiry() -> None:
    raw = sign_trust_list(trust_draft(), AUTH)
    assert op.verify_trust_list(raw, pin(), now=EXPIRES - ONE_SECOND).version == 1
    with pytest.raises(TrustError) as info:
        op.verify_trust_list(raw, pin(), now=EXPIRES)
    assert info.value.code == "E_TRUST_EXPIRED"


def test_below_threshold_is_refused() -> None:
    raw = sign_trust_list(trust_draft(), AUTH[:1])
    with pytest.raises(TrustError) as info:
        op.verify_trust_list(raw, pin(2), now=NOW)
    assert info.value.code == "E_TRUST_THRESHOLD"


def test_signatures_by_strangers_do_not_count() -> None:
    raw = sign_trust_list(trust_draft(), [AUTH[0], STRANGER, key(10)])
    with pytest.raises(TrustError) as info:
        op.verify_trust_list(raw, pin(2), now=NOW)
    assert info.value.code == "E_TRUST_THRESHOLD"


def test_a_duplicated_signature_counts_once() -> None:
    one = sign_trust_list(trust_draft(), AUTH[:1])
    item = cbor2.loads(one)[0]
    doubled = cbor2.dumps([item, item])
    assert len(parse_unverified_document(doubled, typ=TRUST_TYP).signatures) == 2
    with pytest.raises(TrustError) as info:
        op.verify_trust_list(doubled, pin(2), now=NOW)
    assert info.value.code == "E_TRUST_THRESHOLD"


def test_the_same_key_listed_twice_in_the_authority_is_refused() -> None:
    raw = sign_trust_list(trust_draft(), AUTH)

    def twice(m: dict[int, object]) -> None:
        m[5] = {0: 2, 1: [AUTH[0].public_key.raw, AUTH[0].public_key.raw]}

    with pytest.raises(op.FormatError) as info:
        op.verify_trust_list(_payload_edit(raw, twice), pin(), now=NOW)
    assert info.value.code == "E_DUPLICATE_KEY"
    # and a pinned key given twice is one key: threshold 2 cannot be met by it
    with pytest.raises(op.FormatError):
        AuthorityPin((AUTH[0].public_key, AUTH[0].public_key), 2)


def test_a_key_held_by_two_participants_is_refused() -> None:
    with pytest.raises(op.FormatError) as info:
        trust_draft(lab=pkey(PRODUCER))
    assert info.value.code == "E_DUPLICATE_KEY"


def test_unknown_critical_field_is_refused_and_unknown_extension_ignored() -> None:
    raw = sign_trust_list(trust_draft(), AUTH)

    def extension(m: dict[int, object]) -> None:
        m[20] = "future"

    def critical(m: dict[int, object]) -> None:
        m[20] = "future"
        m[7] = [20]

    tl = op.verify_trust_list(_payload_edit(raw, extension), pin(), now=NOW)
    assert dict(tl.trust_list.extensions) == {20: "future"}
    with pytest.raises(TrustError) as info:
        op.verify_trust_list(_payload_edit(raw, critical), pin(), now=NOW)
    assert info.value.code == "E_CRITICAL_FIELD"


def test_weak_participant_key_is_refused() -> None:
    raw = sign_trust_list(trust_draft(), AUTH)

    def weak(m: dict[int, object]) -> None:
        participants = m[6]
        assert isinstance(participants, list)
        participants[0][5][0][0] = b"\x01" + b"\x00" * 31  # the identity point: small order

    with pytest.raises(op.WeakKeyError) as info:
        op.verify_trust_list(_payload_edit(raw, weak), pin(), now=NOW)
    assert info.value.code == "E_WEAK_KEY"


def test_rotation_walks_forward_through_each_authority() -> None:
    new_auth = [key(60), key(61)]
    v1 = op.verify_trust_list(sign_trust_list(trust_draft(1), AUTH), pin(), now=NOW)
    v2_draft = v1.trust_list.next_version(
        issued_at=NOW - timedelta(days=1),
        expires=EXPIRES,
        authority=AuthorityPin(tuple(k.public_key for k in new_auth), 1),
    )
    v2 = sign_trust_list(v2_draft, [*AUTH[:2], new_auth[0]])
    v3 = sign_trust_list(replace(v2_draft, version=3), new_auth[1:])
    assert op.verify_trust_list(v2, v1, now=NOW).version == 2
    assert op.verify_trust_list(v3, v1, intermediates=[v2], now=NOW).version == 3
    with pytest.raises(TrustError) as skipped:  # v1's authority never signed v3
        op.verify_trust_list(v3, v1, now=NOW)
    assert skipped.value.code == "E_TRUST_THRESHOLD"
    not_self_signed = sign_trust_list(v2_draft, AUTH[:2])
    with pytest.raises(TrustError) as own:  # the new authority must sign too
        op.verify_trust_list(not_self_signed, v1, now=NOW)
    assert own.value.code == "E_TRUST_THRESHOLD"


def test_a_policy_is_not_a_trust_list() -> None:
    raw = sign_document(b"\xa0", AUTH[:1], "application/ocop-policy+cbor")
    with pytest.raises(op.SignatureError) as info:
        TrustList.parse_unverified(raw)
    assert info.value.code == "E_CONTENT_TYPE"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "E_CBOR"),
        (b"\x80", "E_ENVELOPE"),
        (b"\x81\x01", "E_ENVELOPE"),
        (cbor2.dumps([b"\xd2"]), "E_COSE"),
        (cbor2.dumps({1: 2}), "E_ENVELOPE"),
        (b"\xff" * 10, "E_CBOR"),
    ],
)
def test_malformed_envelopes_give_format_errors(data: bytes, code: str) -> None:
    with pytest.raises(op.FormatError) as info:
        TrustList.parse_unverified(data)
    assert info.value.code == code


def test_editing_helpers_make_new_drafts() -> None:
    tl = trusted()
    retired = tl.trust_list.with_key_status(LAB.public_key, "retired", NOW)
    assert retired.lookup(LAB.key_id) is not None
    found = retired.lookup(LAB.key_id)
    assert found is not None
    assert found[1].status == "retired"
    assert retired.object_id == b""
    assert trusted().lookup(LAB.key_id) is not None
    with pytest.raises(KeyError):
        tl.trust_list.with_key_status(STRANGER.public_key, "revoked", None)


def test_naive_now_is_refused() -> None:
    raw = sign_trust_list(trust_draft(), AUTH)
    with pytest.raises(ValueError, match="timezone"):
        op.verify_trust_list(raw, pin(), now=NOW.replace(tzinfo=None))


def test_an_empty_crit_list_is_refused() -> None:
    raw = sign_trust_list(trust_draft(), AUTH)

    def empty(m: dict[int, object]) -> None:
        m[7] = []

    with pytest.raises(op.FormatError) as info:
        TrustList.parse_unverified(_payload_edit(raw, empty))
    assert info.value.field == "crit"
