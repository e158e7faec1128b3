"""All output of the CLI: text for people, one JSON document (schema ``ocop.cli/1``) for programs.

:mod:`.core` holds what every command shares: the streams (UTF-8 whatever the locale), the :class:`Result`
contract, the one JSON document built from ``Result.to_json()``, errors with their exit code and ``--verbose``
traceback, notes, warnings and progress. :mod:`.explain` is the one lookup of plain-words explanations of error
codes, and :mod:`.words` fills every message from one literal template. Each command group has its module of
results, each knowing its JSON and its text: :mod:`.keys`, :mod:`.batches`, :mod:`.verify`, :mod:`.audit`,
:mod:`.trust`, :mod:`.policy`, :mod:`.qr`, :mod:`.demo`. No other module of the CLI prints.
"""

from .core import ErrorReport, JsonDict, Output, Result, Text, document, ensure_utf8_streams, lines
from .explain import EXPLAIN, EXPLAIN_SEAL, explain, explain_seal

__all__ = [
    "EXPLAIN",
    "EXPLAIN_SEAL",
    "ErrorReport",
    "JsonDict",
    "Output",
    "Result",
    "Text",
    "document",
    "ensure_utf8_streams",
    "explain",
    "explain_seal",
    "lines",
]
