"""Interoperability with an independent COSE_Sign1 implementation (pycose 1.1.0, in its own interpreter).

pycose 1.1 decodes only with cbor2 < 6 while this library needs cbor2 >= 6, so the peer runs in a separate
virtual environment: ``python3 tasks.py check`` creates ``.venv-interop`` and passes its interpreter in
``OCOP_INTEROP_PYTHON``. Run by hand without that variable, these tests skip and say why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import ocop_provenance as op
import pytest
from ocop_provenance.events import parse_unverified_event

from tests.verifying import ANY_BATCH, options

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parent / "vectors"
PEER = HERE / "pycose_peer.py"
ENV = "OCOP_INTEROP_PYTHON"
EVENT_TYP = "application/ocop-event+cbor"

pytestmark = pytest.mark.skipif(
    not os.environ.get(ENV),
    reason=f"{ENV} is not set: run `python3 tasks.py check`, which builds .venv-interop with pycose 1.1.0 and "
    "cbor2<6 (pycose cannot share this environment's cbor2 6)",
)

EVENTS = json.loads((VECTORS / "events.json").read_text(encoding="utf-8"))
KEYS = {k["name"]: k for k in EVENTS["keys"]}
VALID = [ev for batch in EVENTS["batches"] for ev in batch["events"]]
NOW = datetime.fromisoformat("2025-01-01T00:00:00+00:00")


def _peer(request: dict[str, Any]) -> dict[str, Any]:
    python = os.environ[ENV]
    done = subprocess.run(
        [python, str(PEER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.fixture(scope="module")
def peer_versions() -> dict[str, str]:
    versions: dict[str, str] = _peer({})["versions"]
    return versions


def test_peer_is_pycose_1_1_with_cbor2_5(peer_versions: dict[str, str]) -> None:
    assert peer_versions["pycose"] == "1.1.0"
    assert int(peer_versions["cbor2"].split(".")[0]) < 6
    assert sys.executable != os.environ[ENV]


def test_library_events_verify_with_pycose_given_only_the_public_key() -> None:
    request = {"verify": [{"cose": v["cose"], "public_key": KEYS[v["signer"]]["public_key"]} for v in VALID]}
    answers = _peer(request)["verify"]
    assert len(answers) == len(VALID)
    for v, got in zip(VALID, answers, strict=True):
        key = KEYS[v["signer"]]
        assert got["pycose"] is True, v["name"]
        assert got["pycose_tampered"] is False, v["name"]
        manual = got["manual"]
        assert manual["ok"] is True, v["name"]
        assert manual["alg"] == -8
        assert manual["typ"] == EVENT_TYP
        assert manual["unprotected_empty"] is True
        # The peer derives the same key id (RFC 9679) and event id (SHA-256 of the Sig_structure) on its own.
        assert manual["kid"] == key["key_id"] == got["thumbprint"]
        assert manual["event_id"] == v["event_id"]


def test_pycose_rejects_a_library_event_under_the_wrong_key() -> None:
    v = VALID[0]
    answers = _peer({"verify": [{"cose": v["cose"], "public_key": KEYS["outsider"]["public_key"]}]})["verify"]
    assert answers[0]["pycose"] is False
    assert answers[0]["manual"]["ok"] is False


def _library_chain() -> tuple[op.PrivateKey, list[op.SignedEvent]]:
    from tests.vectors.generate import build_story  # the same story as the vectors, signed by the library

    story = build_story()
    return op.PrivateKey.from_seed(bytes.fromhex(KEYS["producer"]["seed"])), story["B"]


def test_library_verifies_envelopes_built_by_pycose() -> None:
    """pycose signs the payloads our library made; the library parses and verifies the resulting chain."""
    signer, ours = _library_chain()
    seed = KEYS["producer"]["seed"]
    request = {"sign": [{"seed": seed, "typ": EVENT_TYP, "payload": e.payload.hex()} for e in ours]}
    theirs = [bytes.fromhex(h) for h in _peer(request)["sign"]]
    parsed = [parse_unverified_event(raw) for raw in theirs]
    for mine, other in zip(ours, parsed, strict=True):
        assert other.key_id == signer.key_id
        assert other.event_id == mine.event_id  # identity does not depend on who built the envelope
    summary = op.verify_chain(theirs, options(op.KeyRing.of([signer.public_key]), now=NOW), batch=ANY_BATCH)
    assert summary.count == len(theirs)
    assert summary.batch_id == ours[0].event_id
    # Ed25519 is deterministic and both sides encode the same header: the bytes are identical.
    assert theirs == [e.raw for e in ours]


def test_library_refuses_pycose_envelope_with_another_header_order() -> None:
    """A COSE-valid envelope whose protected map is not in deterministic order is refused, as specified."""
    _, ours = _library_chain()
    request = {
        "sign": [
            {
                "seed": KEYS["producer"]["seed"],
                "typ": EVENT_TYP,
                "payload": ours[0].payload.hex(),
                "header_order": "kid-first",
            }
        ]
    }
    raw = bytes.fromhex(_peer(request)["sign"][0])
    with pytest.raises(op.FormatError) as info:
        parse_unverified_event(raw)
    assert info.value.code == "E_NONCANONICAL"


def test_library_refuses_pycose_envelope_of_another_content_type() -> None:
    _, ours = _library_chain()
    request = {
        "sign": [
            {"seed": KEYS["producer"]["seed"], "typ": "application/ocop-seal+cbor", "payload": ours[0].payload.hex()}
        ]
    }
    raw = bytes.fromhex(_peer(request)["sign"][0])
    with pytest.raises(op.SignatureError) as info:
        parse_unverified_event(raw)
    assert info.value.code == "E_CONTENT_TYPE"
