"""The vendored external vectors are all present, unmodified, documented and small (vectors/SOURCES.md)."""

from __future__ import annotations

import hashlib

from tests.conftest import EXTERNAL_VECTORS

MAX_FILE = 1 << 20  # 1 MiB: a bigger upstream file is trimmed by a committed script, not vendored whole


def _pinned() -> dict[str, str]:
    """File name -> SHA-256 hex, from SHA256SUMS (``sha256sum`` format)."""
    pinned = {}
    for line in (EXTERNAL_VECTORS / "SHA256SUMS").read_text(encoding="ascii").splitlines():
        digest, name = line.split(maxsplit=1)
        pinned[name.lstrip("*")] = digest
    return pinned


def test_every_vector_file_is_pinned_and_unmodified() -> None:
    pinned = _pinned()
    present = {p.name for p in EXTERNAL_VECTORS.glob("*.json")}
    assert present == set(pinned)
    assert len(pinned) == 7
    for name, digest in pinned.items():
        assert hashlib.sha256((EXTERNAL_VECTORS / name).read_bytes()).hexdigest() == digest, name


def test_every_vector_file_has_its_source_and_licence_recorded() -> None:
    sources = (EXTERNAL_VECTORS / "SOURCES.md").read_text(encoding="utf-8")
    for name in _pinned():
        assert f"| `{name}` |" in sources, name
    for licence in ("Apache-2.0.txt", "Unlicense.txt"):
        assert (EXTERNAL_VECTORS / "LICENSES" / licence).is_file()


def test_vector_files_stay_under_one_mebibyte() -> None:
    for name in _pinned():
        assert (EXTERNAL_VECTORS / name).stat().st_size < MAX_FILE, name
