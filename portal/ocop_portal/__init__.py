"""The provincial origin portal: a GS1 Digital Link resolver, a registry of published batches, a consumer page.

Run it with ``ocop serve`` (docs/portal.md). :func:`create_app` builds the ASGI application from
:class:`Settings`; the registry (:mod:`.registry`) is the only module that writes the database.
"""

from __future__ import annotations

from .app import create_app
from .settings import Limits, Settings, WitnessEndpoint

__all__ = ["Limits", "Settings", "WitnessEndpoint", "create_app"]
