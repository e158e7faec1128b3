"""Vietnamese search that matches with or without diacritics ("dong trung" finds "Đông trùng").

Text is folded once when stored and the query is folded the same way: Unicode NFD, combining marks dropped, ``đ``
made ``d``, case folded, runs of white space made one space. Matching is a substring test (``LIKE``) of each
query word on the folded text, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import unicodedata

__all__ = ["fold", "like_patterns"]

_D = str.maketrans({"đ": "d", "Đ": "D"})


def fold(*parts: str | None) -> str:
    """Return the parts joined by spaces, without diacritics, case folded, white space collapsed."""
    text = " ".join(p for p in parts if p)
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(bare.casefold().split())


def like_patterns(query: str) -> list[str]:
    r"""Return one ``LIKE`` pattern (escape ``\``) per word of ``query``, folded: a match contains every word."""
    words = fold(query).split()[:8]
    return ["%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in words]
