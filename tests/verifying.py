"""How the tests build verification options: every keyword of VerifyOptions, with an explicit default clock.

Tests that do not exercise the clock verify with ``NO_CLOCK`` (the named way to skip the future check); a test
about time passes ``now=``.
"""

from __future__ import annotations

from typing import Any

from ocop_provenance import ANY_BATCH, NO_CLOCK, VerifyOptions
from ocop_provenance.events import KeySource

__all__ = ["ANY_BATCH", "NO_CLOCK", "options"]


def options(keys: KeySource, **settings: Any) -> VerifyOptions[Any]:
    """Return ``VerifyOptions(keys=keys, now=NO_CLOCK, **settings)`` (``now`` may be overridden, or None for it)."""
    if settings.get("now") is None:
        settings["now"] = NO_CLOCK
    return VerifyOptions(keys=keys, **settings)


def verifies(check: Any, *args: Any, **kwargs: Any) -> bool:
    """Return whether ``check(*args, **kwargs)`` (a ``verify`` method) accepts, i.e. does not raise SignatureError."""
    from ocop_provenance import SignatureError

    try:
        check(*args, **kwargs)
    except SignatureError:
        return False
    return True
