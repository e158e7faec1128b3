"""The options of ``ocop qr labels`` that describe the label stock and the extra lines (docs/qr.md §Label sheets).

Parsing only: sizes are millimetres, checked by the library's ``LabelLayout``; the lines come from the options and,
when asked (``--produced batch``, ``--expires batch``, ``--show-producer``), from the batch's signed record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import click
import ocop_provenance as op
from ocop_provenance.seals import LABEL_PRESETS, SCAN_HINT, LabelLayout
from ocop_provenance.trust import VerifiedTrustList

from .context import CliError
from .i18n import N_
from .render.qr import LabelProducer
from .render.words import t

__all__ = [
    "LabelLines",
    "content_options",
    "label_lines",
    "layout_from_options",
    "layout_options",
    "producer_name",
]

F = TypeVar("F", bound=Callable[..., Any])
_GRID = re.compile(r"([0-9]{1,2})x([0-9]{1,2})")
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)x([0-9]+(?:\.[0-9]+)?)")
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_PAIR = re.compile(rf"({_NUMBER})(?:,({_NUMBER}))?")


def _grid(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    m = _GRID.fullmatch(value.strip().lower())
    if not m:
        raise click.BadParameter(t("must be COLUMNSxROWS, e.g. 4x7"))
    return int(m.group(1)), int(m.group(2))


def _size(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    m = _SIZE.fullmatch(value.strip().lower())
    if not m:
        raise click.BadParameter(t("must be WIDTHxHEIGHT in millimetres, e.g. 50x30"))
    return float(m.group(1)), float(m.group(2))


def _page(ctx: click.Context, param: click.Parameter, value: str | None) -> str | tuple[float, float] | None:
    if value is None:
        return None
    for name in ("A4", "A5", "Letter"):
        if value.strip().lower() == name.lower():
            return name
    return _size(ctx, param, value)


def _pair(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    m = _PAIR.fullmatch(value.strip())
    if not m:
        raise click.BadParameter(t("must be one or two numbers of millimetres, e.g. 10.7,4.75"))
    first = float(m.group(1))
    return first, float(m.group(2)) if m.group(2) is not None else first


class _DateOrBatch(click.ParamType[date | str]):
    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date | str:
        if isinstance(value, date) or value == "batch":
            return value  # type: ignore[no-any-return]
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(t("{value} is neither a date such as 2024-11-01 nor 'batch'", value=repr(value)), param, ctx)


DATE_OR_BATCH = _DateOrBatch()

_LAYOUT_OPTIONS = (
    click.option(
        "--preset",
        type=click.Choice(sorted(LABEL_PRESETS)),
        default=None,
        help="Label stock: a4-65 (38.1x21.2 mm, Avery L7651), a4-40 (45.7x25.4, L7654), a4-24 (70x37, 3474), "
        "a4-21 (63.5x38.1, L7160), or a thermal roll, one label per page: roll-50x30, roll-40x30, roll-60x40. "
        "Options below change single fields. Default: a plain A4 sheet cut into 4x7.",
    ),
    click.option("--grid", default=None, callback=_grid, metavar="CxR", help="Labels across x down."),
    click.option("--page", default=None, callback=_page, metavar="A4|A5|Letter|WxH", help="Page size (WxH in mm)."),
    click.option(
        "--label",
        "label_size",
        default=None,
        callback=_size,
        metavar="WxH",
        help="Label width x height in mm (default: the page between the margins, divided by the grid).",
    ),
    click.option("--margin", default=None, callback=_pair, metavar="TOP[,LEFT]", help="Where the grid starts, mm."),
    click.option("--gap", default=None, callback=_pair, metavar="ACROSS[,DOWN]", help="Between labels, mm."),
    click.option("--font-size", type=click.FloatRange(3, 24), default=None, help="Text size in points."),
    click.option(
        "--arrangement",
        type=click.Choice(["auto", "stacked", "beside"]),
        default=None,
        help="Code above the text, beside it, or whichever prints the larger code (auto).",
    ),
    click.option("--outline/--no-outline", default=None, help="Draw cutting outlines (default: on plain sheets)."),
    click.option(
        "--vector/--mask",
        default=None,
        help="Draw codes as vector rectangles (for cutters and engravers) instead of 1-bit image masks (the "
        "default: twice as fast, a third of the size, exact on printers).",
    ),
)

_CONTENT_OPTIONS = (
    click.option(
        "--produced",
        type=DATE_OR_BATCH,
        default=None,
        metavar="DATE|batch",
        help="Print NSX/MFG (production date): a date, or 'batch' for the date of the batch's last packing step.",
    ),
    click.option(
        "--expires",
        type=DATE_OR_BATCH,
        default=None,
        metavar="DATE|batch",
        help="Print HSD/EXP (expiry date): a date, or 'batch' for the record's expiry_date data element.",
    ),
    click.option(
        "--show-producer",
        is_flag=True,
        help="Print the producer's name: as --trust LIST names the key that opened the batch, else as the batch's "
        "genesis declares it.",
    ),
    click.option("--scan-hint", is_flag=True, help=f"Print '{SCAN_HINT}'."),
)


#: What a label layout error means (instead of the E_FIELD explanation, which is about a signed event's fields).
LAYOUT_EXPLANATION = N_(
    "the label stock does not fit its page, or a size is out of range: choose fewer labels across or down, "
    "smaller labels or gaps, or a larger page"
)


def layout_options(f: F) -> F:
    """Add the label-stock options (``--preset``, sizes, arrangement, drawing mode)."""
    for option in reversed(_LAYOUT_OPTIONS):
        f = option(f)
    return f


def content_options(f: F) -> F:
    """Add the extra-line options (``--produced``, ``--expires``, ``--show-producer``, ``--scan-hint``)."""
    for option in reversed(_CONTENT_OPTIONS):
        f = option(f)
    return f


def layout_from_options(
    *,
    preset: str | None,
    grid: tuple[int, int] | None,
    page: str | tuple[float, float] | None,
    label_size: tuple[float, float] | None,
    margin: tuple[float, float] | None,
    gap: tuple[float, float] | None,
    font_size: float | None,
    arrangement: str | None,
    outline: bool | None,
    vector: bool | None,
) -> LabelLayout:
    """The preset (or the default sheet) with every option given on the command line applied.

    Raises:
        CliError: The layout does not fit its page, or a size is out of range (``E_FIELD``, exit 3).
    """
    base = LABEL_PRESETS[preset] if preset is not None else LabelLayout()
    fields: dict[str, Any] = {
        "page": page,
        "label": label_size,
        "margin": margin,
        "gap": gap,
        "font_size": font_size,
        "arrangement": arrangement,
        "outline": outline,
        "vector": vector,
    }
    if grid is not None:
        fields["columns"], fields["rows"] = grid
    if label_size is not None and page is None and base.label is not None and base.page == base.label:
        fields["page"] = label_size  # a roll: the page is the label
    changes = {k: v for k, v in fields.items() if v is not None}
    try:
        return LabelLayout(**{name: getattr(base, name) for name in base.__dataclass_fields__} | changes)
    except op.FormatError as e:
        # A layout problem, said as such (the library's E_FIELD explanation speaks of a signed event's fields).
        raise CliError(
            t("label layout: {reason}", reason=e.message), code=e.code, explanation=t(LAYOUT_EXPLANATION)
        ) from e


@dataclass(frozen=True, slots=True)
class LabelLines:
    """The extra lines every label of a sheet carries."""

    produced: date | None = None
    expires: date | None = None
    producer_source: LabelProducer | None = None
    note: str | None = None

    @property
    def producer(self) -> str | None:
        """The producer line's text, or None."""
        return None if self.producer_source is None else self.producer_source.name


def producer_name(genesis: op.SignedEvent, trust: VerifiedTrustList | None = None) -> LabelProducer:
    """The producer's name to print: as a trust list names the genesis's signer when one is given, else as the
    genesis names the producer.

    Verdicts and labels name the producer alike: as the trust list does, never as a record claims about itself.
    With a trust list, the key that opened the batch must be valid in it at the time the genesis claims.

    Raises:
        UntrustedKeyError: With ``trust``: ``E_UNKNOWN_KEY`` (the key is not in the list), ``E_KEY_REVOKED``,
            ``E_KEY_NOT_YET_VALID``, ``E_KEY_EXPIRED``, ``E_KEY_RETIRED`` (exit 3: no name to print).
    """
    body = genesis.body
    assert isinstance(body, op.Genesis)
    if trust is not None:
        participant, _ = trust.check_signer(genesis.key_id, body.time, batch_id=genesis.batch_id, seq=0)
        return LabelProducer(name=participant.name, participant=participant.id, trust_list=trust.issuer)
    return LabelProducer(name=body.producer.name)


def label_lines(
    produced: date | str | None,
    expires: date | str | None,
    *,
    show_producer: bool,
    scan_hint: bool,
    genesis: op.SignedEvent,
    packed_on: date | None,
    expiry_date: date | None,
    trust: VerifiedTrustList | None = None,
) -> LabelLines:
    """Resolve the extra-line options against the batch (and the trust list that names its producer, if given).

    Raises:
        CliError: ``batch`` was asked for a date the record does not hold (``E_LABEL_DATE``, exit 3).
        UntrustedKeyError: The trust list does not name the batch's signer (see :func:`producer_name`).
    """
    if produced == "batch":
        if packed_on is None:
            raise CliError(
                t("the batch has no packing step to take the production date from: give --produced YYYY-MM-DD"),
                code="E_LABEL_DATE",
            )
        produced = packed_on
    if expires == "batch":
        if expiry_date is None:
            raise CliError(
                t("the batch's record holds no expiry_date (YYYY-MM-DD) data element: give --expires YYYY-MM-DD"),
                code="E_LABEL_DATE",
            )
        expires = expiry_date
    assert not isinstance(produced, str)
    assert not isinstance(expires, str)
    return LabelLines(
        produced=produced,
        expires=expires,
        producer_source=producer_name(genesis, trust) if show_producer else None,
        note=SCAN_HINT if scan_hint else None,
    )
