"""ensure_qr_extra: one early check for the whole qr extra."""

from __future__ import annotations

import sys

import pytest
from ocop_provenance.seals import MissingExtraError, ensure_qr_extra


def test_installed_extra_passes() -> None:
    pytest.importorskip("zxingcpp")
    pytest.importorskip("fpdf")
    assert ensure_qr_extra() is None


@pytest.mark.parametrize("module", ["zxingcpp", "PIL.Image", "fpdf"])
def test_each_missing_library_names_the_extra(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError) as info:
        ensure_qr_extra()
    assert info.value.code == "E_MISSING_EXTRA"
    assert "ocop-provenance[qr]" in info.value.message
    assert isinstance(info.value, ImportError)
