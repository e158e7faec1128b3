"""GS1 EPCIS 2.0 / CBV 2.0: export verified events as JSON-LD, read EPCIS events back, the CBV event hash.

Usage::

    from ocop_provenance import epcis

    batches: dict[int, list[op.SignedEvent]] = {}
    options = op.VerifyOptions(keys=keys, now=now)
    summary = op.verify_bundle(path, options, root=batch_id, on_event=lambda i, e: batches.setdefault(i, []).append(e))
    document = epcis.epcis_document(batches.values(), summary, created=now, trust=verified_trust_list)
    Path("batch.jsonld").write_bytes(epcis.epcis_to_json(document))

    for event in epcis.read_epcis(Path("events.jsonld").read_bytes()):
        ...  # event.content: a Genesis (an exported genesis) or an EpcisStep to sign as a step

    epcis.check_epcis(Path("batch.jsonld").read_bytes(), batches.values())  # the copy says what was signed

The mapping, what each direction loses and how to check an EPCIS file against the signed bundle: docs/epcis.md.
"""

from ._epcis import (
    CONTEXT_PREFIXES,
    EPCIS_CONTEXT,
    LOT_MASTER_DATA,
    MEASUREMENTS,
    OCOP_NS,
    UNITS,
    batch_class,
    correction_log,
    epcis_document,
    epcis_event,
    epcis_to_json,
)
from ._epcis_check import check_epcis
from ._epcis_hash import EVENT_HASH_VERSION, epcis_event_hash, epcis_prehash
from ._epcis_import import MAX_EPCIS_SIZE, EpcisDeclaration, EpcisEvent, EpcisStep, read_epcis

__all__ = [
    "CONTEXT_PREFIXES",
    "EPCIS_CONTEXT",
    "EVENT_HASH_VERSION",
    "LOT_MASTER_DATA",
    "MAX_EPCIS_SIZE",
    "MEASUREMENTS",
    "OCOP_NS",
    "UNITS",
    "EpcisDeclaration",
    "EpcisEvent",
    "EpcisStep",
    "batch_class",
    "check_epcis",
    "correction_log",
    "epcis_document",
    "epcis_event",
    "epcis_event_hash",
    "epcis_prehash",
    "epcis_to_json",
    "read_epcis",
]
