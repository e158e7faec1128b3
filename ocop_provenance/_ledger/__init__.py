"""The producer's ledger (docs/store.md): a package with one room per responsibility; :class:`Ledger` composes them.

This package is the only part of the library that touches the database, and only its ``_db`` module imports
:mod:`sqlite3` (import-linter contracts in pyproject.toml keep both true).
"""

from ._bulk import NewStep
from ._db import SCHEMA_VERSION
from ._exchange import ImportResult
from ._facade import Ledger
from ._guard import JournalStatus
from ._journal import JournaledHead
from ._read import BatchInfo

__all__ = ["SCHEMA_VERSION", "BatchInfo", "ImportResult", "JournalStatus", "JournaledHead", "Ledger", "NewStep"]
