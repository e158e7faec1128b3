"""GS1 helpers: Digital Link URIs, GTIN and GLN check digits, the CBV 2.0 business steps.

For e-commerce sites and portals that read or build the links a seal's QR code holds.
"""

from ._digitallink import DigitalLink, gs1_percent_encode, is_gs1_82, normalise_gtin, parse_digital_link
from ._fields import CBV_BUSINESS_STEPS, gs1_check_digit

__all__ = [
    "CBV_BUSINESS_STEPS",
    "DigitalLink",
    "gs1_check_digit",
    "gs1_percent_encode",
    "is_gs1_82",
    "normalise_gtin",
    "parse_digital_link",
]
