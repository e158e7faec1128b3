"""Write docs/api.md: the public API by audience (run after adding or removing a public name).

    python -m tests.generate_api_doc

Each module's names come from its ``__all__``, each summary from the first line of the docstring; type aliases,
which carry none, get theirs from ``ALIASES``. ``tests/test_public_api.py`` checks the page names every name.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

HEAD = """\
# The public API, by audience

`import ocop_provenance as op` gives the few names most programs need. Everything public lives in one of seven
modules, each for one audience; import from them (`from ocop_provenance.trust import audit_bundle`). Names not
listed here (modules starting with `_`, attributes not in a module's `__all__`) are private and may change without
notice. The root names of 0.1 that moved into a module still work and warn (`DeprecationWarning`, removal in 0.3).
Every public function and class documents its arguments, return value and errors (Args/Returns/Raises) in its
docstring; errors carry a stable code (`ErrorCode`) and where it happened (`position`, `batch_id`, `seq`, `field`).

`tests/test_public_api.py` holds the exact list of each module's names and fails when one is added or removed
without updating it, and this page is checked to name every one of them; `python -m tests.generate_api_doc`
writes it again.

| module | for |
| --- | --- |
| `ocop_provenance` | the common names: keys, events, the ledger, verifying chains, bundles, seals and trust lists |
| `ocop_provenance.events` | the core format and verification (docs/format.md) |
| `ocop_provenance.trust` | trust lists, process policies, audits, the trust store (docs/trust.md) |
| `ocop_provenance.ledger` | the producer's SQLite ledger (docs/store.md) |
| `ocop_provenance.seals` | seals, QR codes, label sheets (docs/qr.md) |
| `ocop_provenance.gs1` | GS1 Digital Link, GTIN/GLN check digits, CBV steps |
| `ocop_provenance.epcis` | EPCIS 2.0 export and import (docs/epcis.md) |
| `ocop_provenance.tlog` | the transparency log (docs/transparency.md) |
"""

AUDIENCES = {
    "events": "developers building or checking records (co-op apps, portals, other implementations)",
    "trust": "provincial offices issuing trust lists and policies; auditors and certification councils",
    "ledger": "co-op management apps and the `ocop` CLI: where a producer's events live",
    "seals": "label printing and scanning: the QR seal on the package",
    "gs1": "anyone handling GS1 identifiers",
    "epcis": "integrators exchanging events with EPCIS 2.0 systems",
    "tlog": "the portal, witnesses, monitors and auditors checking a log",
}
ALIASES = {
    "Clock": "a time for the verifier: a timezone-aware datetime, or `NO_CLOCK`",
    "Subject": "what a bundle must be about: a batch id, or `ANY_BATCH`",
    "Node": "a stored subtree hash of the log: (level, index)",
    "AttachmentStatus": "what a folder holds for a recorded attachment: `present`, `different` or `missing`",
    "CorrectionStatus": "how a correction stands: `in_force`, `superseded` or `unauthorised`",
}


def _summary(name: str, obj: object) -> str:
    if name in ALIASES:
        return ALIASES[name]
    if inspect.isclass(obj) or inspect.isroutine(obj):
        doc = inspect.getdoc(obj) or ""
        return doc.splitlines()[0].replace("|", "\\|") if doc else ""
    return "constant"


def render() -> str:
    """Return the text of docs/api.md."""
    out = [HEAD]
    modules = [("ocop_provenance", None), *((f"ocop_provenance.{m}", who) for m, who in AUDIENCES.items())]
    for name, who in modules:
        module = importlib.import_module(name)
        intro = (
            f"For {who}."
            if who
            else "The root: the names most users need. Everything here is also in a public module below."
        )
        out += [f"## `{name}`", "", intro, "", "| name | what it is |", "| --- | --- |"]
        for n in sorted((n for n in module.__all__ if not n.startswith("__")), key=str.lower):
            out.append(f"| `{n}` | {_summary(n, getattr(module, n))} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    Path(__file__).resolve().parents[1].joinpath("docs", "api.md").write_text(render(), encoding="utf-8")
