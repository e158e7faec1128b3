"""Issue 10, finding 8: a pinned list must be verified, and the trust store is keyed by the pinned authority keys.

"``--pinned-list FILE`` is not itself verified, so ``--trust X --pinned-list X`` accepts a self-made list; the
trust-list cache is keyed by the unverified issuer name, so a list pinned by mistake blocks the real one."
"""

from __future__ import annotations

from pathlib import Path

from .conftest import Env
from .trust_setup import AUTHORITY, EXPIRES, PINS, WINDOW, doc_of, make_bundle, make_trust


def _forged(env: Env, version: int = 1) -> Path:
    """A list the attacker made: the real authority's name, the attacker's key as authority, the lab's key revoked
    nowhere and the attacker listed as the lab."""
    if not (env.home / "keys" / "mallory.pub").exists():
        env.new_key("mallory")
    draft = env.tmp / f"forged-{version}.json"
    env.ok("trust", "init", "-o", str(draft), "--issuer", AUTHORITY, "--authority-key", "mallory", "--expires",
           EXPIRES, "--list-version", str(version), "--force")  # fmt: skip
    for pid, role, key in (("htx-nghi-son", "producer", "coop"), ("xuong-say", "processor", "workshop"),
                           ("phong-thu-nghiem", "lab", "lab")):  # fmt: skip
        env.ok("trust", "add-participant", str(draft), "--id", pid, "--name", pid, "--role", role, "--key", key,
               *WINDOW)  # fmt: skip
    signed = env.tmp / f"forged-{version}.trust"
    env.ok("trust", "sign", str(draft), "--key", "mallory", "-o", str(signed))
    return signed


def test_a_self_made_list_is_not_its_own_anchor(env: Env) -> None:
    make_trust(env)
    forged = _forged(env)
    result = env.run("trust", "verify", str(forged), "--pinned-list", str(forged), "--json")
    assert result.exit_code == 2, result.stdout
    assert doc_of(result)["error"]["code"] == "E_PINNED_LIST_UNANCHORED"
    bundle, _ = make_bundle(env)
    result = env.run("verify", str(bundle), "--trust", str(forged), "--pinned-list", str(forged), "--json")
    assert result.exit_code == 2
    assert doc_of(result)["error"]["code"] == "E_PINNED_LIST_UNANCHORED"
    # pinned with the authority's keys, the forged list is checked against them: it is not theirs
    result = env.run("trust", "verify", str(forged), *PINS, "--pinned-list", str(forged), "--json")
    assert result.exit_code == 1
    assert doc_of(result)["error"]["code"] == "E_TRUST_THRESHOLD"
    assert not list((env.home / "trust").glob("*.trust"))  # nothing was remembered


def test_a_list_pinned_by_mistake_does_not_block_the_real_one(env: Env) -> None:
    auth = make_trust(env)
    forged = _forged(env, version=9)
    # the auditor pins the wrong key once: that list is remembered under that key, not under the issuer's name
    assert env.json("trust", "verify", str(forged), "--authority-key", "mallory")["verified"] is True
    doc = env.json("trust", "verify", str(auth.signed), *PINS)
    assert doc["trust_list"]["version"] == 1
    assert doc["trust_list"]["cache_updated"] is True
    # without pinned keys two anchors now hold lists of that issuer: the auditor must say which
    result = env.run("trust", "verify", str(auth.signed), "--json")
    assert result.exit_code == 2
    assert doc_of(result)["error"]["code"] == "E_TRUST_STORE_AMBIGUOUS"


def test_a_pinned_list_verified_from_the_keys_anchors_a_later_version(env: Env) -> None:
    auth = make_trust(env)
    v2 = env.tmp / "v2.json"
    env.ok("trust", "bump", str(auth.signed), "-o", str(v2), "--expires", EXPIRES)
    env.ok("trust", "sign", str(v2), "--key", "a2", "--key", "a3")
    doc = env.json("trust", "verify", str(env.tmp / "v2.trust"), *PINS, "--pinned-list", str(auth.signed))
    assert doc["trust_list"]["version"] == 2
    assert "pinned list" in doc["trust_list"]["against"]


def test_a_damaged_store_entry_is_reported_not_trusted(env: Env) -> None:
    auth = make_trust(env)
    env.ok("trust", "verify", str(auth.signed), *PINS)
    (entry,) = (env.home / "trust").glob("*.trust")
    entry.write_bytes(b"\x82\x41")
    result = env.run("trust", "verify", str(auth.signed), *PINS, "--json")
    assert result.exit_code == 3
    assert doc_of(result)["error"]["code"] == "E_TRUST_STORE_DAMAGED"
    assert doc_of(result)["error"]["path"] == str(entry)
