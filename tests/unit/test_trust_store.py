"""The trust store: the newest verified list per anchor (keys + threshold), rollback refused across runs."""

from __future__ import annotations

import dataclasses
import hashlib
import stat
from pathlib import Path

import cbor2
import ocop_provenance as op
import pytest
from ocop_provenance.trust import (
    AuthorityPin,
    TrustAnchor,
    TrustError,
    TrustStore,
    TrustStoreError,
    anchor_id,
    sign_trust_list,
)

from tests.conftest import key

from .trust_helpers import AUTH, NOW, pin, trust_draft

MALLORY = [key(60), key(61)]


def _signed(version: int = 1, signers: list[op.PrivateKey] | None = None, **kw: object) -> bytes:
    tl = trust_draft(version)
    if kw:
        tl = dataclasses.replace(tl, **kw)  # type: ignore[arg-type]
    return sign_trust_list(tl, signers or AUTH)


def _mallory_list(version: int) -> bytes:
    """A list claiming the same issuer, under an authority the attacker holds."""
    authority = AuthorityPin(tuple(k.public_key for k in MALLORY), 1)
    return _signed(version, MALLORY, authority=authority)


def test_anchor_id_is_sha256_of_the_documented_cbor() -> None:
    p = pin()
    raw = sorted(k.public_key.raw for k in AUTH)
    expected = hashlib.sha256(cbor2.dumps(["ocop-trust-anchor", 1, 2, raw])).digest()
    assert anchor_id(p) == expected
    # fixed for these keys (seeds 50, 51, 52; threshold 2): docs/format.md §16 quotes it
    assert anchor_id(p).hex() == "4ab4dd8f2d077e574ee04865a8b27b685fcdf835e68bbf012a243a720f71cd81"
    assert anchor_id(AuthorityPin(tuple(k.public_key for k in reversed(AUTH)), 2)) == anchor_id(p)
    assert anchor_id(pin(threshold=3)) != anchor_id(p)
    assert anchor_id(AuthorityPin((AUTH[0].public_key, AUTH[1].public_key), 2)) != anchor_id(p)


def test_first_verification_stores_the_list_under_its_anchor(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "trust")
    v1 = _signed(1)
    anchor = store.anchor(pin())
    assert anchor.stored is None
    result = store.verify(v1, anchor, now=NOW)
    assert result.updated is True
    assert result.previous_version is None
    assert result.trust.version == 1
    entry = tmp_path / "trust" / f"{anchor_id(pin()).hex()}.trust"
    assert anchor.path == entry
    assert entry.read_bytes() == v1
    assert stat.S_IMODE((tmp_path / "trust").stat().st_mode) == 0o700
    assert sorted(p.name for p in (tmp_path / "trust").iterdir()) == [".lock", entry.name]  # no temporary left
    again = store.verify(v1, store.anchor(pin()), now=NOW)
    assert again.updated is False
    assert again.previous_version == 1


def test_rollback_is_refused_in_a_later_run(tmp_path: Path) -> None:
    TrustStore(tmp_path).verify(_signed(2), TrustStore(tmp_path).anchor(pin()), now=NOW)
    later = TrustStore(tmp_path)  # another process, another day
    with pytest.raises(TrustError) as e:
        later.verify(_signed(1), later.anchor(pin()), now=NOW)
    assert e.value.code == "E_TRUST_ROLLBACK"
    with pytest.raises(TrustError) as e:
        later.verify(_signed(2, issuer="Khác"), later.anchor(pin()), now=NOW)
    assert e.value.code == "E_TRUST_CONFLICT"
    # without the store the old list alone verifies: the store is what remembers
    assert op.verify_trust_list(_signed(1), pin(), now=NOW).version == 1


def test_a_list_verified_from_wrong_keys_does_not_block_the_right_anchor(tmp_path: Path) -> None:
    """ADR 0037, issue 10 finding 8: entries are keyed by the pinned keys, not by the issuer a list claims."""
    store = TrustStore(tmp_path)
    wrong = AuthorityPin(tuple(k.public_key for k in MALLORY), 1)
    bogus = store.verify(_mallory_list(99), store.anchor(wrong), now=NOW)  # pinned by mistake
    assert bogus.updated is True
    real = store.verify(_signed(1), store.anchor(pin()), now=NOW)
    assert real.trust.version == 1
    assert real.updated is True
    assert len(list(tmp_path.glob("*.trust"))) == 2


def test_a_list_that_claims_to_vouch_for_itself_is_not_an_anchor(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    fake = _mallory_list(1)
    # a pinned earlier list goes first in the walk from the pinned keys: it must verify from them
    with pytest.raises(TrustError) as e:
        store.verify(_signed(2), store.anchor(pin()), now=NOW, intermediates=[fake])
    assert e.value.code == "E_TRUST_THRESHOLD"
    with pytest.raises(ValueError, match="pinned keys or a stored list"):
        TrustAnchor(id=b"\0" * 32, path=tmp_path / "x", pin=None, stored=None)
    assert list(tmp_path.glob("*.trust")) == []


def test_rotation_is_remembered_so_later_versions_need_no_intermediates(tmp_path: Path) -> None:
    new = [key(70), key(71)]
    new_pin = AuthorityPin(tuple(k.public_key for k in new), 2)
    v2 = _signed(2, [*AUTH, *new], authority=new_pin)
    v3 = _signed(3, new, authority=new_pin)
    store = TrustStore(tmp_path)
    with pytest.raises(TrustError):  # from the pinned keys alone, version 3 is signed by strangers
        store.verify(v3, store.anchor(pin()), now=NOW)
    assert store.verify(v2, store.anchor(pin()), now=NOW).updated is True
    # the store holds version 2, verified from the pinned keys: version 3 verifies from it
    result = store.verify(v3, store.anchor(pin()), now=NOW, intermediates=[_signed(1), v2])
    assert result.trust.version == 3
    assert result.previous_version == 2


def test_a_damaged_entry_is_a_typed_error(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    store.verify(_signed(1), store.anchor(pin()), now=NOW)
    entry = store.path_for(anchor_id(pin()))
    entry.write_bytes(entry.read_bytes()[:-5])
    with pytest.raises(TrustStoreError) as e:
        store.anchor(pin())
    assert e.value.code == "E_TRUST_STORE_DAMAGED"
    assert e.value.path == entry
    assert isinstance(e.value, op.StoreError)
    assert isinstance(e.value, OSError)
    with pytest.raises(TrustStoreError) as e:
        store.find(_signed(1))
    assert e.value.code == "E_TRUST_STORE_DAMAGED"
    entry.write_bytes(b"\0" * ((4 << 20) + 1))
    with pytest.raises(TrustStoreError, match="larger"):
        store.anchor(pin())


def test_find_uses_the_claimed_issuer_only_to_choose_an_entry(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    with pytest.raises(TrustStoreError) as e:
        store.find(_signed(2))
    assert e.value.code == "E_TRUST_STORE_NO_ANCHOR"
    store.verify(_signed(1), store.anchor(pin()), now=NOW)
    anchor = store.find(_signed(2))
    assert anchor.id == anchor_id(pin())
    assert anchor.pin is None
    assert store.verify(_signed(2), anchor, now=NOW).updated is True
    with pytest.raises(TrustError) as e:  # the claimed issuer found the entry; the signatures decide
        store.verify(_mallory_list(5), store.find(_mallory_list(5)), now=NOW)
    assert e.value.code == "E_TRUST_THRESHOLD"
    wrong = AuthorityPin(tuple(k.public_key for k in MALLORY), 1)
    store.verify(_mallory_list(1), store.anchor(wrong), now=NOW)
    with pytest.raises(TrustStoreError) as e:
        store.find(_signed(3))
    assert e.value.code == "E_TRUST_STORE_AMBIGUOUS"


def test_update_false_and_a_newer_entry_are_never_overwritten(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    assert store.verify(_signed(1), store.anchor(pin()), now=NOW, update=False).updated is False
    assert not store.directory.joinpath(f"{anchor_id(pin()).hex()}.trust").exists()
    stale = store.anchor(pin())  # read before another run stores version 3
    store.verify(_signed(3), store.anchor(pin()), now=NOW)
    assert store.verify(_signed(2), stale, now=NOW).updated is False
    assert store.anchor(pin()).stored.version == 3  # type: ignore[union-attr]


def test_intermediates_at_or_below_the_stored_version_are_skipped(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    store.verify(_signed(2), store.anchor(pin()), now=NOW)
    # version 1 (older than what is stored) is not walked through again
    assert store.verify(_signed(3), store.anchor(pin()), now=NOW, intermediates=[_signed(1)]).trust.version == 3
    with pytest.raises(op.FormatError):  # damaged bytes are refused, whatever their place
        store.verify(_signed(4), store.anchor(pin()), now=NOW, intermediates=[b"\x82\x41\x00\x41\x01"])


def test_an_expired_list_is_refused_through_the_store(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    store.verify(_signed(1), store.anchor(pin()), now=NOW)
    late = trust_draft(1).expires
    with pytest.raises(TrustError) as e:
        store.verify(_signed(1), store.anchor(pin()), now=late)
    assert e.value.code == "E_TRUST_EXPIRED"


def test_an_unusable_directory_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "trust").write_bytes(b"not a directory")
    store = TrustStore(tmp_path / "trust")
    with pytest.raises(TrustStoreError) as e:
        store.anchor(pin())
    assert e.value.code == "E_TRUST_STORE"
    anchor = TrustAnchor(id=anchor_id(pin()), path=store.path_for(anchor_id(pin())), pin=pin(), stored=None)
    with pytest.raises(TrustStoreError) as e:
        store.verify(_signed(1), anchor, now=NOW)
    assert e.value.code == "E_TRUST_STORE"
