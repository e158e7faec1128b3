"""Run GS1's reference EPCIS event hash generator (epcis-event-hash-generator, MIT) on documents from stdin.

One request per line: a JSON string holding an EPCIS 2.0 JSON-LD document. One answer per line: the package
version, the events' hashes and pre-hash strings, and how many events the document had (the reference leaves out
an event it fails on, so a short list means it failed). Runs in .venv-interop (tasks.py), never in the main venv.
"""

from __future__ import annotations

import json
import logging
import sys
from importlib.metadata import version

from epcis_event_hash_generator import hash_generator, json_to_py


def answer(text: str) -> dict[str, object]:
    events = json_to_py.event_list_from_epcis_document_str(text)
    prehashes = hash_generator.derive_prehashes_from_events(events)
    return {
        "version": version("epcis-event-hash-generator"),
        "hashes": hash_generator.calculate_hashes_from_pre_hashes(prehashes),
        "prehashes": prehashes,
        "events": len(events[2]),
    }


def main() -> None:
    logging.disable(logging.CRITICAL)
    for line in sys.stdin:
        print(json.dumps(answer(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
