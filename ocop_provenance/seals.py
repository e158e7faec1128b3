"""Seals, QR codes and label sheets: the compact signed code on the package (docs/qr.md).

Making and verifying seals needs only the core; drawing and reading QR codes and printing label sheets need the
``qr`` extra (``pip install 'ocop-provenance[qr]'``), imported lazily.
"""

from ._labels import Label, LabelLayout, write_label_sheet
from ._qr import (
    MissingExtraError,
    QrCode,
    ensure_qr_extra,
    make_qr,
    qr_to_png,
    qr_to_svg,
    qr_to_terminal,
    scan_image,
    scan_one,
)
from ._seal import (
    DOES_NOT_PROVE,
    DOES_NOT_PROVE_VI,
    PROVES,
    PROVES_VI,
    SEAL_TEXT_PREFIX,
    SEAL_TYP,
    SEALING_ROLES,
    Seal,
    SealChainInfo,
    SealedStep,
    SealMismatchError,
    SealStatement,
    SealVerification,
    UnverifiedSeal,
    make_seal,
    parse_unverified_seal,
    seal_units,
    verify_seal,
)

__all__ = [
    "DOES_NOT_PROVE",
    "DOES_NOT_PROVE_VI",
    "PROVES",
    "PROVES_VI",
    "SEALING_ROLES",
    "SEAL_TEXT_PREFIX",
    "SEAL_TYP",
    "Label",
    "LabelLayout",
    "MissingExtraError",
    "QrCode",
    "Seal",
    "SealChainInfo",
    "SealMismatchError",
    "SealStatement",
    "SealVerification",
    "SealedStep",
    "UnverifiedSeal",
    "ensure_qr_extra",
    "make_qr",
    "make_seal",
    "parse_unverified_seal",
    "qr_to_png",
    "qr_to_svg",
    "qr_to_terminal",
    "scan_image",
    "scan_one",
    "seal_units",
    "verify_seal",
    "write_label_sheet",
]
