"""Seals verified against a trust list: the key lookup respects each key's status and window on the sealing date."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import ocop_provenance as op
import pytest
from ocop_provenance.events import BundleBatch, BundleHeader, write_bundle
from ocop_provenance.seals import SealVerification, make_seal
from ocop_provenance.trust import VerifiedTrustList

from tests.conftest import sample_chain
from tests.unit.trust_helpers import PRODUCER, STRANGER, pkey, trusted
from tests.verifying import options

R = "https://id.example.vn"
SEALED = date(2024, 11, 2)


def _seal(signer: op.PrivateKey = PRODUCER, sealed_on: date = SEALED) -> str:
    chain = sample_chain(signer)
    return make_seal(chain[0], chain[-1], signer, resolver=R, sealed_on=sealed_on).to_url()


def _verify(text: str, trust: VerifiedTrustList) -> SealVerification:
    return op.verify_seal(text, options(trust))


def test_an_active_key_verifies_and_names_its_holder_from_the_list() -> None:
    trust = trusted()
    result = _verify(_seal(), trust)
    assert result.key == PRODUCER.public_key
    assert result.signer is not None
    assert (result.signer.id, result.signer.role) == ("htx-nghi-son", "producer")
    assert result.checked == ("signature", "signer-trusted", "signer-role", "gtin-owner")
    assert result.not_checked == ("chain",)
    # The text form carries the full key id: the same lookup serves it.
    chain = sample_chain(PRODUCER)
    text = make_seal(chain[0], chain[-1], PRODUCER, resolver=R, sealed_on=SEALED).to_text()
    assert _verify(text, trust).code == "SEAL_OK"


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        ({"status": "revoked", "status_time": datetime(2025, 1, 1, tzinfo=UTC)}, "E_KEY_REVOKED"),
        ({"status": "retired", "status_time": datetime(2024, 11, 1, 10, tzinfo=UTC)}, "E_KEY_RETIRED"),
        ({"not_before": datetime(2024, 11, 4, tzinfo=UTC)}, "E_KEY_NOT_YET_VALID"),
        (
            {"not_before": datetime(2023, 1, 1, tzinfo=UTC), "not_after": datetime(2024, 11, 1, tzinfo=UTC)},
            "E_KEY_EXPIRED",
        ),
    ],
)
def test_a_key_not_usable_on_the_sealing_date_is_refused(entry: dict[str, object], code: str) -> None:
    trust = trusted(htx_nghi_son=pkey(PRODUCER, **entry))
    with pytest.raises(op.UntrustedKeyError) as info:
        _verify(_seal(), trust)
    assert info.value.code == code
    assert info.value.key_id == PRODUCER.public_key.key_id_hex


@pytest.mark.parametrize(
    "entry",
    [
        # Retired late on the sealing day (UTC): a seal made that morning is fine.
        {"status": "retired", "status_time": datetime(2024, 11, 2, 20, tzinfo=UTC)},
        # Valid from late on the sealing day (UTC): that calendar day still runs west of UTC; any instant of the
        # calendar day in some time zone counts.
        {"not_before": datetime(2024, 11, 2, 23, tzinfo=UTC)},
        # Expired the morning after (UTC): still the sealing day west of UTC.
        {"not_before": datetime(2023, 1, 1, tzinfo=UTC), "not_after": datetime(2024, 11, 3, 6, tzinfo=UTC)},
    ],
)
def test_a_key_usable_at_some_instant_of_the_sealing_day_is_accepted(entry: dict[str, object]) -> None:
    trust = trusted(htx_nghi_son=pkey(PRODUCER, **entry))
    assert _verify(_seal(), trust).code == "SEAL_OK"


def test_a_key_outside_the_list_is_unknown() -> None:
    with pytest.raises(op.UntrustedKeyError) as info:
        _verify(_seal(STRANGER), trusted())
    assert info.value.code == "E_UNKNOWN_KEY"


def test_a_bundle_is_checked_with_the_lists_keys() -> None:
    chain = sample_chain(PRODUCER)
    header = BundleHeader(
        root=chain[0].event_id,
        batches=(BundleBatch(batch_id=chain[0].event_id, count=len(chain), head=chain[-1].event_id),),
        keys=(PRODUCER.public_key,),
    )
    buf = io.BytesIO()
    write_bundle(buf, header, [e.raw for e in chain])
    seal = make_seal(chain[0], chain[2], PRODUCER, resolver=R, sealed_on=SEALED).to_url()
    result = op.verify_seal(seal, options(trusted()), bundle=buf.getvalue())
    assert result.code == "SEAL_OLDER_HEAD"
    assert result.chain is not None
    assert (result.chain.covered, result.chain.total) == (3, 4)
