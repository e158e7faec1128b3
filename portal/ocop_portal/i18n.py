"""Languages: Vietnamese first, English second, with gettext catalogues compiled at build time (hatch_build.py).

The message ids are English; ``locale/vi`` translates them and ``locale/en`` carries the English text itself (so
that a copy-editor changes wording without touching templates). The language of a request is ``?lang=`` if given,
else the best of ``Accept-Language``, else Vietnamese.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from importlib import resources
from pathlib import Path

__all__ = ["DEFAULT", "LANGUAGES", "N_", "choose", "translations"]

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
DOMAIN = "messages"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark for extraction, translate later"
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


@cache
def translations(lang: str) -> gettext.GNUTranslations | gettext.NullTranslations:
    """The catalogue of ``lang``: the .mo the build compiled, or the .po compiled now if it is missing or older."""
    folder = Path(str(resources.files("ocop_portal") / "locale" / lang / "LC_MESSAGES"))
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.is_file() and not (po.is_file() and po.stat().st_mtime > mo.stat().st_mtime):
        return gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    if po.is_file():  # not built, or the catalogue was edited since (an editable install): compile in memory
        from babel.messages.mofile import write_mo  # noqa: PLC0415
        from babel.messages.pofile import read_po  # noqa: PLC0415

        buf = io.BytesIO()
        write_mo(buf, read_po(io.BytesIO(po.read_bytes())))
        return gettext.GNUTranslations(io.BytesIO(buf.getvalue()))
    return gettext.NullTranslations()


def choose(explicit: str | None, accept_language: str | None) -> str:
    """Pick the language: an explicit ``?lang=``, else the highest-weighted supported ``Accept-Language`` entry."""
    if explicit in LANGUAGES:
        return explicit
    best, best_q = DEFAULT, 0.0
    for item in (accept_language or "").split(",")[:32]:
        tag, _, params = item.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-", 1)[0]
        # Equal weights keep the earlier entry (the order a browser lists them in).
        if primary in LANGUAGES and q > best_q and q > 0:
            best, best_q = primary, q
    return best
