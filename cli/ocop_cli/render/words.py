"""How the renderers write words: every user-visible message is one literal template with named fields.

``t("created key {name} in {path}", name=..., path=...)`` keeps the whole sentence in one literal at one call site,
with named placeholders a translator can move, and ``tn`` picks the singular or plural sentence by a count. These
two functions are the only place text templates are filled, and the gettext catalogue sits behind them
(:mod:`ocop_cli.i18n`): the template is the English message id, looked up in the language of the run before it is
filled. Babel extracts the literal templates (``-k t -k tn:2,3``, ``cli/babel.cfg``). Values (names, ids, paths) are
never part of a template.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..i18n import gettext, ngettext

__all__ = ["hex_or_none", "iso", "short", "t", "tn", "utc"]


def t(template: str, /, **values: object) -> str:
    """The literal message ``template`` in the language of the run, filled with ``values`` (named ``{fields}``)."""
    return gettext(template).format(**values)


def tn(n: int, one: str, many: str, /, **values: object) -> str:
    """The message ``one`` when ``n`` is 1, else ``many`` (or the language's plural form), filled with ``n`` and
    ``values``."""
    return ngettext(one, many, n).format(n=n, **values)


def short(b: bytes) -> str:
    """The first 16 hex digits of an id: enough to tell ids apart on screen."""
    return b.hex()[:16]


def hex_or_none(b: bytes | None) -> str | None:
    """Lowercase hex, or None."""
    return None if b is None else b.hex()


def iso(t: datetime) -> str:
    """A time as ISO 8601 with its offset, exactly as signed."""
    return t.isoformat()


def utc(t: datetime) -> str:
    """A time in UTC to the second (``2026-01-01T00:00:00Z``): how trust lists and policies record time."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
