"""The producer's ledger: an append-only SQLite store of signed events (docs/store.md).

For co-op management apps and the ``ocop`` command: open batches, add steps (one at a time or in bulk), read and
verify what is stored, export bundles and import others' batches.
"""

from ._ledger import BatchInfo, ImportResult, JournaledHead, JournalStatus, Ledger, NewStep

__all__ = ["BatchInfo", "ImportResult", "JournalStatus", "JournaledHead", "Ledger", "NewStep"]
