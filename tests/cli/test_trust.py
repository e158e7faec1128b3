"""ocop trust: drafts, signing (also across machines), inspection, verification and the rollback cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from .conftest import Env
from .trust_setup import AUTHORITY, COOP, EXPIRES, LAB, PINS, WINDOW, doc_of, make_trust, run_at


def test_build_sign_inspect_verify(env: Env) -> None:
    auth = make_trust(env)
    draft = json.loads(auth.draft.read_text(encoding="utf-8"))
    assert draft["format"] == "ocop-trust-draft/1"
    assert draft["issuer"] == AUTHORITY  # Vietnamese kept as typed, not \\u-escaped
    assert AUTHORITY in auth.draft.read_text(encoding="utf-8")
    assert {p["role"] for p in draft["participants"]} == {"producer", "processor", "lab"}

    text = env.ok("trust", "inspect", str(auth.signed)).stdout
    assert "NOT verified" in text
    assert COOP in text
    assert LAB in text
    doc = env.json("trust", "inspect", str(auth.signed))
    assert doc["signed"] is True
    assert doc["verified"] is False
    assert doc["list"]["issuer"] == AUTHORITY
    assert len(doc["signatures"]) == 2
    assert all(s["authority"] for s in doc["signatures"])
    names = {p["name"] for p in doc["list"]["participants"]}
    assert COOP in names

    result = env.ok("trust", "verify", str(auth.signed), *PINS)
    assert result.stdout.startswith("VERIFIED")
    assert AUTHORITY in result.stdout
    doc = env.json("trust", "verify", str(auth.signed), *PINS)
    assert doc["verified"] is True
    assert doc["trust_list"]["issuer"] == AUTHORITY
    assert doc["trust_list"]["version"] == 1
    assert doc["trust_list"]["cache_updated"] is False  # the first verification above cached it
    assert doc["trust_list"]["cached_version"] == 1
    # the cache alone is now an anchor
    assert env.json("trust", "verify", str(auth.signed))["verified"] is True


def test_cosigning_on_another_machine(env: Env) -> None:
    make_trust(env)
    draft = env.tmp / "tl.json"
    one = env.tmp / "one.trust"
    doc = env.json("trust", "sign", str(draft), "--key", "a1", "-o", str(one))
    assert doc["authority_signatures"] == 1
    assert doc["threshold"] == 2
    assert doc["complete"] is False
    result = env.run("trust", "verify", str(one), *PINS, "--no-cache", "--json")
    assert result.exit_code == 1
    assert doc_of(result)["error"]["code"] == "E_TRUST_THRESHOLD"
    # the second authority holder adds a signature to the signed file, in place
    doc = env.json("trust", "sign", str(one), "--key", "a3")
    assert doc["output"] == str(one)
    assert doc["complete"] is True
    assert env.json("trust", "verify", str(one), *PINS, "--no-cache")["verified"] is True
    # signing twice with the same key adds nothing
    doc = env.json("trust", "sign", str(one), "--key", "a3")
    assert len(doc["signatures"]) == 2


def test_sign_with_a_key_outside_the_authority_warns(env: Env) -> None:
    auth = make_trust(env)
    result = env.run("trust", "sign", str(auth.signed), "--key", "coop")
    assert result.exit_code == 0
    assert "not one of this list's authority keys" in result.stderr


def test_edit_errors(env: Env) -> None:
    auth = make_trust(env)
    add = ("trust", "add-participant", str(auth.draft), "--name", "Cửa hàng", "--key", "a3", *WINDOW)
    # an id that exists
    result = env.run(*add[:3], "--id", "htx-nghi-son", "--role", "retailer", *add[3:], "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_EXISTS"
    # a role that does not exist: a usage error
    assert env.run(*add, "--id", "shop", "--role", "shopkeeper").exit_code == 2
    # an invalid administrative-unit code: the library refuses the field
    result = env.run(*add, "--id", "shop", "--role", "retailer", "--admin-code", "HN", "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_FIELD"
    # a key that is neither a file nor a local key
    result = env.run(*add[:5], "--id", "shop", "--role", "retailer", "--key", "nobody", *WINDOW, "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_NO_KEY"
    # a key held by the authority cannot also be a participant's
    result = env.run(*add, "--id", "shop", "--role", "retailer", "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_DUPLICATE_KEY"
    # a signed list is not edited in place
    result = env.run("trust", "revoke", str(auth.signed), "--key", "lab", "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_SIGNED"
    # not a key of the list
    result = env.run("trust", "retire", str(auth.draft), "--key", "a1", "--at", "2025-01-01T00:00:00Z", "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_NOT_FOUND"
    # add-key to an unknown participant
    result = env.run("trust", "add-key", str(auth.draft), "--id", "nobody", "--key", "a3", *WINDOW, "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_NOT_FOUND"


def test_init_errors(env: Env) -> None:
    for k in ("a1", "a2"):
        env.new_key(k)
    out = env.tmp / "x.json"
    base = ("trust", "init", "-o", str(out), "--issuer", AUTHORITY, "--expires", EXPIRES)
    # several authority keys need an explicit threshold
    assert env.run(*base, "--authority-key", "a1", "--authority-key", "a2").exit_code == 2
    # a threshold above the number of keys
    result = env.run(*base, "--authority-key", "a1", "--threshold", "2", "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_FIELD"
    assert env.run(*base[:-1], "yesterday", "--authority-key", "a1").exit_code == 2
    env.ok(*base, "--authority-key", "a1")
    result = env.run(*base, "--authority-key", "a1", "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_EXISTS"
    env.ok(*base, "--authority-key", "a1", "--force")
    # a PEM file works as well as a key name
    env.ok(*base, "--authority-key", str(env.pem("a2")), "--force")


def test_hand_edited_draft(env: Env) -> None:
    auth = make_trust(env)
    draft = json.loads(auth.draft.read_text(encoding="utf-8"))
    draft["participants"][0]["colour"] = "blue"
    auth.draft.write_text(json.dumps(draft), encoding="utf-8")
    result = env.run("trust", "sign", str(auth.draft), "--key", "a1", "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_DRAFT"
    auth.draft.write_text("{not json", encoding="utf-8")
    assert env.run("trust", "inspect", str(auth.draft)).exit_code == 3


def test_retire_and_revoke_in_the_draft(env: Env) -> None:
    auth = make_trust(env)
    env.ok("trust", "retire", str(auth.draft), "--key", "workshop", "--at", "2025-06-01T00:00:00+07:00")
    env.ok("trust", "revoke", str(auth.draft), "--key", "lab")
    doc = env.json("trust", "inspect", str(auth.draft))
    assert doc["signed"] is False
    status = {p["id"]: p["keys"][0] for p in doc["list"]["participants"]}
    assert status["xuong-say"]["status"] == "retired"
    assert status["xuong-say"]["status_time"] == "2025-05-31T17:00:00Z"
    assert status["phong-thu-nghiem"]["status"] == "revoked"
    assert status["htx-nghi-son"]["status"] == "active"


def test_rollback_is_caught_across_runs(env: Env) -> None:
    auth = make_trust(env)
    env.ok("trust", "verify", str(auth.signed), *PINS)  # caches version 1
    v2 = env.tmp / "v2.json"
    env.ok("trust", "bump", str(auth.signed), "-o", str(v2), "--expires", EXPIRES)
    env.ok("trust", "revoke", str(v2), "--key", "lab")
    signed2 = env.tmp / "v2.trust"
    env.ok("trust", "sign", str(v2), "--key", "a2", "--key", "a3")
    doc = env.json("trust", "verify", str(signed2), *PINS)
    assert doc["trust_list"]["version"] == 2
    assert doc["trust_list"]["cache_updated"] is True
    # a later run, given the old list (which still trusts the lab's key) with the right pins: refused
    result = env.run("trust", "verify", str(auth.signed), *PINS, "--json")
    assert result.exit_code == 1
    doc = doc_of(result)
    assert doc["error"]["code"] == "E_TRUST_ROLLBACK"
    assert "stored list version 2" in doc["against"]
    text = env.run("trust", "verify", str(auth.signed), *PINS).stdout
    assert text.startswith("NOT VERIFIED")
    # without the store the old list alone verifies: the store is what remembers
    assert env.run("trust", "verify", str(auth.signed), *PINS, "--no-cache").exit_code == 0
    # a pinned earlier list is walked through from the pinned keys
    assert env.run("trust", "verify", str(signed2), *PINS, "--pinned-list", str(auth.signed)).exit_code == 0
    # ... and alone it is no anchor (docs/adr/0037)
    assert env.run("trust", "verify", str(signed2), "--pinned-list", str(auth.signed)).exit_code == 2


def test_verify_failures(env: Env) -> None:
    auth = make_trust(env)
    # no anchor and nothing stored: a usage error with its code
    result = env.run("trust", "verify", str(auth.signed), "--json")
    assert result.exit_code == 2
    assert doc_of(result)["error"]["code"] == "E_TRUST_STORE_NO_ANCHOR"
    assert env.run("trust", "verify", str(auth.signed), "--no-cache").exit_code == 2
    # the list pinned as its own earlier version, with the keys: it verifies from them
    assert env.run("trust", "verify", str(auth.signed), *PINS, "--pinned-list", str(auth.signed)).exit_code == 0
    # wrong pinned keys
    result = env.run("trust", "verify", str(auth.signed), "--authority-key", "coop", "--json")
    assert result.exit_code == 1
    assert doc_of(result)["error"]["code"] == "E_TRUST_THRESHOLD"
    # expired: the clock is past the expiry
    later = datetime(2099, 1, 1, tzinfo=UTC)
    result = run_at(env, later, "trust", "verify", str(auth.signed), *PINS, "--json")
    assert result.exit_code == 1
    assert doc_of(result)["error"]["code"] == "E_TRUST_EXPIRED"
    # a draft is not a signed list
    result = env.run("trust", "verify", str(auth.draft), *PINS, "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_NOT_SIGNED"
    # damaged bytes
    junk = env.tmp / "junk.trust"
    junk.write_bytes(b"\x82\x41\x00\x41\x01")
    assert env.run("trust", "verify", str(junk), *PINS).exit_code == 1
    assert env.run("trust", "verify", str(env.tmp / "missing.trust"), *PINS).exit_code == 3


@pytest.mark.parametrize(
    "args",
    [
        ("trust", "--help"),
        ("trust", "init", "--help"),
        ("trust", "add-participant", "--help"),
        ("trust", "add-key", "--help"),
        ("trust", "retire", "--help"),
        ("trust", "revoke", "--help"),
        ("trust", "bump", "--help"),
        ("trust", "sign", "--help"),
        ("trust", "inspect", "--help"),
        ("trust", "verify", "--help"),
        ("policy", "--help"),
        ("policy", "starter", "--help"),
        ("policy", "sign", "--help"),
        ("policy", "inspect", "--help"),
        ("policy", "verify", "--help"),
    ],
)
def test_help(env: Env, args: tuple[str, ...]) -> None:
    assert env.ok(*args).stdout.startswith("Usage:")


def test_authority_rotation_needs_the_lists_in_between(env: Env) -> None:
    auth = make_trust(env)
    for k in ("b1", "b2"):
        env.new_key(k)
    # version 2 hands authority to b1 and b2: signed by two of the old keys and both new ones
    v2 = env.tmp / "v2.json"
    new_keys = ("--authority-key", "b1", "--authority-key", "b2", "--threshold", "2")
    env.ok("trust", "bump", str(auth.signed), "-o", str(v2), "--expires", EXPIRES, *new_keys)
    env.ok("trust", "sign", str(v2), "--key", "a1", "--key", "a2", "--key", "b1", "--key", "b2")
    v3 = env.tmp / "v3.json"
    env.ok("trust", "bump", str(env.tmp / "v2.trust"), "-o", str(v3), "--expires", EXPIRES)
    env.ok("trust", "sign", str(v3), "--key", "b1", "--key", "b2")
    signed3 = str(env.tmp / "v3.trust")
    # from the old pinned keys, version 3 alone is not enough
    result = env.run("trust", "verify", signed3, *PINS, "--no-cache", "--json")
    assert result.exit_code == 1
    assert doc_of(result)["error"]["code"] == "E_TRUST_THRESHOLD"
    # with version 2 in between it is
    doc = env.json("trust", "verify", signed3, *PINS, "--via", str(env.tmp / "v2.trust"))
    assert doc["trust_list"]["version"] == 3
    # and the cache (now version 3) refuses version 2 from then on
    result = env.run("trust", "verify", str(env.tmp / "v2.trust"), *PINS, "--json")
    assert result.exit_code == 1
    assert doc_of(result)["error"]["code"] == "E_TRUST_ROLLBACK"


def test_a_damaged_intermediate_list_fails_verification_with_or_without_the_cache(env: Env) -> None:
    auth = make_trust(env)
    junk = env.tmp / "junk.trust"
    junk.write_bytes(b"\x82\x41\x00\x41\x01")
    # nothing cached yet: the intermediate is checked against the pinned keys
    result = env.run("trust", "verify", str(auth.signed), *PINS, "--via", str(junk), "--json")
    assert result.exit_code == 1
    code = doc_of(result)["error"]["code"]
    assert code == "E_COSE"
    env.ok("trust", "verify", str(auth.signed), *PINS)  # caches version 1
    # with a cached list the same damaged bytes are the same verdict (it was exit 3, an I/O-style error)
    for extra in ((), PINS):
        result = env.run("trust", "verify", str(auth.signed), *extra, "--via", str(junk), "--json")
        assert result.exit_code == 1, result.stderr
        assert doc_of(result)["error"]["code"] == code


def test_add_key_keeps_the_participant_and_adds_the_key(env: Env) -> None:
    auth = make_trust(env)
    env.new_key("coop2")
    doc = env.json("trust", "add-key", str(auth.draft), "--id", "htx-nghi-son", "--key", "coop2", *WINDOW)
    coop = next(p for p in doc["list"]["participants"] if p["id"] == "htx-nghi-son")
    assert (coop["name"], coop["role"], coop["admin_code"], coop["gln"]) == (COOP, "producer", "38", None)
    assert len(coop["keys"]) == 2
    assert coop["keys"][1]["status"] == "active"
    assert coop["keys"][1]["not_before"] == "2024-01-01T00:00:00Z"
    # the draft on disk says the same, and the other participants are untouched
    on_disk = json.loads(auth.draft.read_text(encoding="utf-8"))
    assert on_disk["participants"] == doc["list"]["participants"]
    assert len(on_disk["participants"]) == 3
