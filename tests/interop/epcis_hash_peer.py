"""Run GS1's reference EPCIS event hash generator (epcis-event-hash-generator, MIT) on documents from stdin.

Input: a JSON list of EPCIS 2.0 JSON-LD documents (as text). Output: for each, the list of its events' hashes
and pre-hash strings, and the package's version. Runs in .venv-interop (see tasks.py), never in the main venv.
"""

from __future__ import annotations

import json
import logging
import sys
from importlib.metadata import version

from epcis_event_hash_generator import hash_generator, json_to_py


def main() -> None:
    logging.disable(logging.CRITICAL)
    documents = json.loads(sys.stdin.read())
    results = []
    for text in documents:
        events = json_to_py.event_list_from_epcis_document_str(text)
        prehashes = hash_generator.derive_prehashes_from_events(events)
        hashes = hash_generator.calculate_hashes_from_pre_hashes(prehashes)
        results.append({"hashes": hashes, "prehashes": prehashes, "events": len(events[2])})
    json.dump({"version": version("epcis-event-hash-generator"), "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
