"""``ocop qr``: seal a batch into a QR code, print label sheets, and verify a code offline (docs/cli.md, docs/qr.md).

Each command parses its options, calls the library, and renders: sealing, QR encoding, image reading and
verification are all the library's (``make_seal``, ``make_qr``, ``write_label_sheet``, ``scan_one``,
``verify_seal``). The QR extra (zxing-cpp, Pillow, fpdf2) is needed only when a code is drawn or read; without it
the library raises ``MissingExtraError`` (exit 3) naming the extra, and the rest of the CLI works.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import ocop_provenance as op
from ocop_provenance.events import MAX_CORRECTION_DISTANCE, CorrectionLog
from ocop_provenance.seals import (
    MIN_MODULE_MM,
    SEALING_ROLES,
    Label,
    MissingExtraError,
    Seal,
    ensure_qr_extra,
    make_qr,
    make_seal,
    qr_to_png,
    qr_to_svg,
    qr_to_terminal,
    scan_one,
    seal_units,
    write_label_sheet,
)
from ocop_provenance.trust import VerifiedTrustList

from . import keystore
from . import trust as trust_commands
from .context import CliError, Context, OcopGroup, pass_context
from .files import atomic_output
from .i18n import N_
from .inputs import resolve_batch
from .labelopts import content_options, label_lines, layout_from_options, layout_options
from .ledger import open_ledger, record_handout
from .params import TEXT, json_option, passphrase_file_option
from .render import Output
from .render.qr import SealFailure, SealMade, SealSheet, SealVerified
from .render.words import t
from .verify import load_trusted_keys, locate, trust_list_option, trusted_key_option

__all__ = ["group"]

EC_CHOICE = click.Choice(["L", "M", "Q", "H"], case_sensitive=False)
#: Read at most this much of an image (the library refuses more than 32 MiB with E_SIZE).
MAX_IMAGE_READ = 32 * 1024 * 1024 + 1
MAX_TEXT_READ = 4096
#: The parameters of ``trust.anchor_options``: ``qr labels`` takes them apart from its label-stock options.
_ANCHOR = ("authority", "threshold", "pinned_list", "via", "no_cache")


@click.group("qr", cls=OcopGroup, short_help="Seal batches into QR codes, print labels, verify codes.")
def group() -> None:
    """Seal batches into QR codes, print label sheets, verify codes offline.

    \b
    Drawing and reading codes needs the qr extra: pip install 'ocop-provenance[qr]'.
    """


# ---- shared ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SealSource:
    """What a seal is made from: the batch's genesis, its current head, and who signed its events."""

    genesis: op.SignedEvent
    head: op.SignedEvent
    signers: frozenset[bytes]
    packed_on: date | None = None
    expiry_date: date | None = None


def load_batch(ctx: Context, batch: str) -> SealSource:
    """Read BATCH from the ledger, verifying every event, and return its genesis and current head.

    The packing date and the expiry date printed on labels are read as the record stands after its corrections
    (docs/format.md §19.3): a withdrawn packing step gives no date, a corrected ``expiry_date`` its corrected value.
    Memory stays bounded: only packing steps, steps that record an expiry date and the last
    :data:`~ocop_provenance.events.MAX_CORRECTION_DISTANCE` events (what a correction can reach) are kept.

    Raises:
        NotFoundError: No ledger or no such batch (exit 3).
        TamperError: A stored event no longer verifies (exit 1): a tampered record is never sealed.
    """
    with open_ledger(ctx, create=False) as ledger:
        batch_id = resolve_batch(ctx, ledger, batch)
        genesis: op.SignedEvent | None = None
        head: op.SignedEvent | None = None
        signers: set[bytes] = set()
        log = CorrectionLog()
        recent: deque[op.SignedEvent] = deque(maxlen=MAX_CORRECTION_DISTANCE)
        dated: dict[int, op.SignedEvent] = {}  # seq -> a step that dates the labels, as recorded or as corrected
        for event in ledger.events(batch_id):
            genesis = genesis or event
            head = event
            signers.add(event.key_id)
            note = log.add(event)
            if note is not None and note.data is not None and "expiry_date" in note.data:
                target = next((e for e in recent if e.seq == note.seq), None)
                if target is not None:
                    dated[target.seq] = target
            body = event.body
            if (isinstance(body, op.Step) and body.step == "packing") or "expiry_date" in body.data:
                dated[event.seq] = event
            recent.append(event)
    if genesis is None or head is None:
        raise CliError(t("batch {batch} has no events", batch=batch), code="E_EMPTY")
    packed_on: date | None = None
    expiry: date | None = None
    for seq in sorted(dated):
        event = dated[seq]
        data = log.effective_data(event)
        if data is None:
            continue  # withdrawn: it did not happen as recorded
        if isinstance(event.body, op.Step) and event.body.step == "packing":
            packed_on = event.body.time.date()  # the date where it was packed (its own UTC offset)
        expiry = _iso_date(data.get("expiry_date")) or expiry
    return SealSource(genesis=genesis, head=head, signers=frozenset(signers), packed_on=packed_on, expiry_date=expiry)


def _iso_date(value: object) -> date | None:
    # The expiry_date data element (docs/data-elements.md): YYYY-MM-DD text; anything else is not a date.
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def load_sealer(ctx: Context, source: SealSource, key_name: str, passphrase_file: Path | None) -> op.PrivateKey:
    """Open the sealing key; it must have signed one of the sealed events (else the seal could never verify).

    Raises:
        CliError: ``E_SEAL_SIGNER`` (exit 3) when the key signed none of the batch's events.
    """
    keystore.validate_name(key_name)
    public = keystore.public_key(ctx, key_name)
    if public.key_id not in source.signers:
        raise CliError(
            t(
                "key {key_name} signed none of this batch's events: seal with the producer's key "
                "(a seal by a key outside the record fails verification with E_SEAL_SIGNER)",
                key_name=key_name,
            ),
            code="E_SEAL_SIGNER",
            # Not the verifier's explanation of E_SEAL_SIGNER: no seal was made.
            explanation=t(
                "only a key that signed the batch's record can seal it: a seal by another key never verifies"
            ),
        )
    return keystore.load_signer(ctx, key_name, passphrase_file)


def check_sealer(trust: VerifiedTrustList, key_id: bytes, key_name: str, gtin: str | None, now: datetime) -> None:
    """Refuse, before printing, seals a shopper's check against ``trust`` would refuse whatever the policy says.

    The key must be in the list and usable today, and a GTIN on the seal must be one of its participant's GS1
    Company Prefixes. (The sealer's role is judged with the policy, which may name sealers other than producers; a
    role outside :data:`~ocop_provenance.seals.SEALING_ROLES` is only warned about.)

    Raises:
        CliError: ``E_UNKNOWN_KEY``, ``E_KEY_*`` or ``E_GTIN_NOT_OWNED`` (exit 3, before any label is made).
    """
    try:
        participant, _key = trust.check_signer(key_id, now)
    except op.UntrustedKeyError as e:
        raise CliError(
            t(
                "key {key_name} may not seal under the trust list of {issuer} today: {message}; no label was printed",
                key_name=key_name,
                issuer=trust.issuer,
                message=e.message,
            ),
            code=e.code,
        ) from e
    if gtin is not None and not participant.owns_gtin(gtin):
        raise CliError(
            t(
                "GTIN {gtin} is not among the GS1 Company Prefixes the trust list gives {name}: shoppers' checks "
                "would refuse these seals (E_GTIN_NOT_OWNED); no label was printed",
                gtin=gtin,
                name=participant.name,
            ),
            code="E_GTIN_NOT_OWNED",
        )
    if participant.role not in SEALING_ROLES:
        click.echo(
            t(
                "warning: the trust list gives {name} the role {role}: its seals verify only where a policy names "
                "that role among the sealers",
                name=participant.name,
                role=participant.role,
            ),
            err=True,
        )


def ec_level(value: str) -> str:
    """Normalise ``--ecc``."""
    return value.upper()


resolver_option = click.option(
    "--resolver",
    envvar="OCOP_RESOLVER",
    required=True,
    metavar="URL",
    help="Where the code's link opens: https://host[/prefix] [env OCOP_RESOLVER]. Keep it short: "
    "up to 33 characters keeps a GTIN + 8-character lot at QR version 10-Q.",
)
ecc_option = click.option(
    "--ecc",
    type=EC_CHOICE,
    default="Q",
    show_default=True,
    help="Error correction: L, M, Q (GS1's recommendation for packaging) or H.",
)
key_option = click.option(
    "--key", "key_name", required=True, metavar="NAME", help="The producer's key that signed the batch."
)


# ---- ocop qr make ---------------------------------------------------------------------------------------------


@group.command("make", short_help="Seal a batch and write its QR code (PNG, SVG or terminal).")
@click.argument("batch")
@key_option
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="FILE",
    help="FILE.png or FILE.svg (format from the extension), or - to draw the code on stdout. Default: draw it "
    "when stdout is a terminal, else print only the text.",
)
@resolver_option
@click.option("--serial", type=TEXT, default=None, help="A unit serial (1-20 of GS1's characters): a per-unit code.")
@ecc_option
@click.option("--text-form", is_flag=True, help="Encode the OCOP1: text form (for apps) instead of the web link.")
@click.option("--scale", type=click.IntRange(1, 64), default=8, show_default=True, help="PNG pixels per module.")
@click.option(
    "--module-mm",
    type=click.FloatRange(0.1, 10),
    default=0.5,
    show_default=True,
    help="Printed size of one module, in millimetres: the SVG's size, and the resolution written in the PNG.",
)
@click.option(
    "--dpi",
    type=click.FloatRange(50, 4800),
    default=None,
    help="PNG: your printer's resolution; the pixels per module are then chosen to print --module-mm on its "
    "dots (replaces --scale).",
)
@click.option("--invert", is_flag=True, help="Terminal: draw for dark text on a light background.")
@passphrase_file_option
@json_option
@pass_context
def make(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    batch: str,
    key_name: str,
    output: str | None,
    resolver: str,
    serial: str | None,
    ecc: str,
    text_form: bool,
    scale: int,
    module_mm: float,
    dpi: float | None,
    invert: bool,
    passphrase_file: Path | None,
) -> None:
    """Seal the current head of BATCH and write its QR code; print the code's text on stdout.

    \b
    The seal is signed with --key over the batch's record as the ledger holds it now
    (every event is verified first). -o FILE.png / FILE.svg writes a file; -o - draws
    the code with half-block characters, then the text; without -o the code is drawn
    only when stdout is a terminal (so URL=$(ocop qr make ...) gets just the text).
    """
    kind = _output_kind(output)
    level = ec_level(ecc)
    scale, png_dpi = png_resolution(scale, module_mm, dpi) if kind in ("png", "svg") else (scale, 0.0)
    ensure_qr_extra()  # fails early, before any passphrase, when the qr extra is missing
    source = load_batch(ctx, batch)
    signer = load_sealer(ctx, source, key_name, passphrase_file)
    record_handout(ctx, source.head, "seal")  # journaled before the seal exists (docs/store.md)
    seal = make_seal(
        source.genesis, source.head, signer, resolver=resolver, sealed_on=ctx.clock().date(), serial=serial
    )
    text = seal.to_text() if text_form else seal.to_url()
    qr = make_qr(text, ec_level=level)
    terminal: str | None = None
    size = 0
    if kind == "terminal":
        terminal = qr_to_terminal(qr, invert=invert)
    elif output is not None:
        data = (
            qr_to_png(qr, scale=scale, dpi=png_dpi) if kind == "png" else qr_to_svg(qr, module_size=module_mm).encode()
        )
        with atomic_output(output) as f:
            f.write(data)
        size = len(data)
    Output(ctx).emit(
        SealMade(
            batch_id=source.genesis.batch_id,
            seal=seal,
            text=text,
            form="text" if text_form else "url",
            qr=qr,
            output=output or "-",
            kind=kind,
            size=size,
            terminal=terminal,
            key_name=key_name,
            module_mm=scale * 25.4 / png_dpi if kind == "png" else module_mm,
            dpi=png_dpi if kind == "png" else None,
        )
    )


def png_resolution(scale: int, module_mm: float, dpi: float | None) -> tuple[int, float]:
    """Pixels per module and the resolution to write in the PNG, so that it prints ``module_mm`` per module.

    Without a printer resolution the PNG keeps ``scale`` pixels per module and says ``scale * 25.4 / module_mm``
    dpi; with one, the pixels per module are the printer's dots closest to ``module_mm``.

    Raises:
        CliError: Modules under ``MIN_MODULE_MM`` (``E_LABEL_MODULE``, exit 3).
    """
    if module_mm < MIN_MODULE_MM:
        raise CliError(
            t(
                "modules of {module_mm} mm are below the {minimum} mm phones read",
                module_mm=module_mm,
                minimum=MIN_MODULE_MM,
            ),
            code="E_LABEL_MODULE",
        )
    if dpi is None:
        return scale, scale * 25.4 / module_mm
    return max(1, round(module_mm * dpi / 25.4)), dpi


def _output_kind(output: str | None) -> str:
    if output is None:
        return "terminal" if sys.stdout.isatty() else "text"
    if output == "-":
        return "terminal"
    suffix = Path(output).suffix.lower()
    if suffix in (".png", ".svg"):
        return suffix[1:]
    raise click.BadParameter(
        t("{output}: the format comes from the extension: .png or .svg (or - for the terminal)", output=repr(output)),
        param_hint="-o",
    )


# ---- ocop qr labels -------------------------------------------------------------------------------------------


def serial_numbers(prefix: str, first: int, count: int, digits: int) -> Iterator[str]:
    """Yield ``count`` serials ``PREFIX`` + zero-padded numbers from ``first``."""
    for n in range(first, first + count):
        yield f"{prefix}{n:0{digits}d}"


def read_serials(path: Path) -> list[str]:
    """Read serials from a file, one per line (blank lines skipped); duplicates are refused.

    Raises:
        CliError: The file cannot be read, is not UTF-8, is empty or repeats a serial (exit 3).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise CliError(
            t("cannot read the serials file {path}: {reason}", path=path, reason=e.strerror), code="E_IO"
        ) from e
    except UnicodeDecodeError as e:
        raise CliError(t("the serials file {path} is not UTF-8 text", path=path), code="E_IO") from e
    serials = [line.strip() for line in text.splitlines() if line.strip()]
    if not serials:
        raise CliError(t("the serials file {path} holds no serial", path=path), code="E_LABELS_EMPTY")
    seen: set[str] = set()
    for s in serials:
        if s in seen:
            raise CliError(
                t("serial {serial} appears twice in {path}: each unit needs its own", serial=repr(s), path=path),
                code="E_DUPLICATE",
                explanation=t("two units would carry the same code: a copied code could not be told apart"),
            )
        seen.add(s)
    return serials


@group.command("labels", short_help="Write a PDF label sheet: one sealed code per unit.")
@click.argument("batch")
@key_option
@click.option("--count", type=click.IntRange(1, 1_000_000), default=None, help="How many units (labels).")
@click.option("-o", "--output", required=True, metavar="FILE.pdf", help="The PDF label sheet to write.")
@resolver_option
@click.option("--serial-prefix", default="SN", show_default=True, help="Text before each serial number.")
@click.option("--first", type=click.IntRange(0), default=1, show_default=True, help="Number of the first unit.")
@click.option("--digits", type=click.IntRange(1, 18), default=6, show_default=True, help="Zero-padded width.")
@click.option(
    "--serials",
    "serials_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Use these serials instead (one per line); replaces --count/--serial-prefix/--first.",
)
@layout_options
@content_options
@trust_list_option(
    N_(
        "With --show-producer: name the producer as this signed trust list names the batch's signer (verified "
        "first, as by ocop trust verify, with the options below), not as the record declares itself."
    )
)
@trust_commands.anchor_options
@ecc_option
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Encoding processes.")
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE.csv",
    help="Also write serial, seal id and code text per unit (to look a unit up or revoke it later).",
)
@passphrase_file_option
@json_option
@pass_context
def labels(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    batch: str,
    key_name: str,
    count: int | None,
    output: str,
    resolver: str,
    serial_prefix: str,
    first: int,
    digits: int,
    serials_file: Path | None,
    ecc: str,
    workers: int,
    manifest: Path | None,
    passphrase_file: Path | None,
    produced: date | str | None,
    expires: date | str | None,
    show_producer: bool,
    scan_hint: bool,
    trust_path: Path | None,
    **options: Any,
) -> None:
    """Write a PDF label sheet for BATCH: one code per unit, each with its own serial and its own seal.

    \b
    Each label shows the code, the product name (Vietnamese, embedded font), the lot
    and the serial, and on request NSX/HSD dates, the producer and a scan hint. Serials
    are --serial-prefix + --first.. zero-padded to --digits (SN000001, SN000002, ...),
    or read from --serials FILE. --preset picks label stock (A4 sheets, thermal rolls);
    sizes are millimetres. A code whose modules would print under 0.25 mm is refused.
    With --show-producer and --trust LIST, the producer is named as the trust list
    names the key that opened the batch.
    """
    anchor = {name: options.pop(name) for name in _ANCHOR}
    if (count is None) == (serials_file is None):
        raise click.UsageError(t("give --count N or --serials FILE (one of them)"))
    if Path(output).suffix.lower() != ".pdf" or output == "-":
        raise click.BadParameter(t("{output}: the label sheet is a .pdf file", output=repr(output)), param_hint="-o")
    if trust_path is not None and not show_producer:
        raise click.UsageError(t("--trust names the producer printed by --show-producer: give both"))
    if trust_path is None and any(anchor.values()):
        raise click.UsageError(t("--authority-key, --threshold, --pinned-list, --via and --no-cache go with --trust"))
    level = ec_level(ecc)
    layout = layout_from_options(**options)
    ensure_qr_extra()  # fails early, before any passphrase, when the qr extra is missing
    serials: Iterable[str]
    if serials_file is not None:
        listed = read_serials(serials_file)
        serials, total = listed, len(listed)
    else:
        total = count or 0
        serials = serial_numbers(serial_prefix, first, total, digits)
    source = load_batch(ctx, batch)
    genesis_body = source.genesis.body
    assert isinstance(genesis_body, op.Genesis)
    trust: VerifiedTrustList | None = None
    if trust_path is not None:
        try:
            trust = load_trust(ctx, trust_path, trust_commands.make_anchor(**anchor))
        except trust_commands.DocumentFailure as f:
            Output(ctx).emit(f.result)
            return
    extra = label_lines(
        produced,
        expires,
        show_producer=show_producer,
        scan_hint=scan_hint,
        genesis=source.genesis,
        packed_on=source.packed_on,
        expiry_date=source.expiry_date,
        trust=trust,
    )
    if trust is not None:  # before the passphrase: nothing to unlock for labels that would not verify
        keystore.validate_name(key_name)
        sealer = keystore.public_key(ctx, key_name).key_id
        check_sealer(trust, sealer, key_name, genesis_body.product.gtin, ctx.utc_now())
    signer = load_sealer(ctx, source, key_name, passphrase_file)
    record_handout(ctx, source.head, "seal")  # journaled before the seals exist (docs/store.md)
    seals = seal_units(
        source.genesis, source.head, signer, resolver=resolver, sealed_on=ctx.clock().date(), serials=serials
    )
    title = genesis_body.product.name
    ends: list[Seal] = []
    first_label: list[Label] = []
    out = Output(ctx)
    with contextlib.ExitStack() as stack:
        pdf = stack.enter_context(atomic_output(output))
        rows = None
        if manifest is not None:
            rows = stack.enter_context(atomic_output(str(manifest)))
            rows.write(b"serial,seal_id,code\n")
        progress = stack.enter_context(out.progress("labels"))

        def units() -> Iterator[Label]:
            # Streams: one seal at a time is signed, written to the manifest and handed to the sheet.
            for s in seals:
                if not ends:
                    ends.append(s)
                ends[1:] = [s]  # ends = [first, last]
                if rows is not None:
                    rows.write(_manifest_row(s))
                label = Label(
                    code=s.to_url(),
                    title=title,
                    lot=s.statement.lot,
                    serial=s.statement.serial,
                    produced=extra.produced,
                    expires=extra.expires,
                    producer=extra.producer,
                    note=extra.note,
                )
                first_label[:1] = first_label[:1] or [label]
                yield label

        written = write_label_sheet(
            pdf,
            units(),
            layout=layout,
            ec_level=level,
            workers=workers,
            title=f"{title} · {genesis_body.product.lot}",
            progress=lambda n: progress(n, total),
        )
        size = pdf.tell()
    sample = first_label[0]
    out.emit(
        SealSheet(
            batch_id=source.genesis.batch_id,
            output=output,
            labels=written,
            pages=-(-written // layout.per_page),
            size=size,
            first=ends[0],
            last=ends[-1],
            manifest=None if manifest is None else str(manifest),
            key_name=key_name,
            label_mm=layout.cell,
            per_page=layout.per_page,
            module_mm=layout.module_mm(make_qr(sample.code, ec_level=level).size, len(sample.lines())),
            producer=extra.producer_source,
        )
    )


def _manifest_row(seal: Seal) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([seal.statement.serial, seal.seal_id.hex(), seal.to_url()])
    return buf.getvalue().encode("utf-8")


# ---- ocop qr verify -------------------------------------------------------------------------------------------


def read_code(text: str | None, image: Path | None) -> tuple[str, str]:
    """Return the code's text and where it came from (``text``, ``stdin`` or ``image``).

    Raises:
        FormatError: From the image: ``E_NO_CODE``, ``E_MANY_CODES``, ``E_IMAGE_FORMAT``, ``E_IMAGE_TOO_LARGE``,
            ``E_IMAGE_TIMEOUT``, ``E_IMAGE_DECODER``, ``E_SIZE`` (exit 3: no seal could be read, so there is no
            verdict).
        MissingExtraError: Reading an image needs the qr extra (exit 3).
        OSError: The image cannot be read (exit 3).
    """
    if image is not None:
        with image.open("rb") as f:
            data = f.read(MAX_IMAGE_READ)
        return scan_one(data), "image"
    assert text is not None
    if text == "-":
        raw = sys.stdin.read(MAX_TEXT_READ + 1)
        return raw.strip(), "stdin"
    return text.strip(), "text"


def load_trust(ctx: Context, path: Path, anchor: trust_commands.AnchorOptions) -> VerifiedTrustList:
    """Verify a signed trust list exactly as ``ocop trust verify`` does (pinned keys, trust store, rollback).

    Raises:
        DocumentFailure: The list does not verify (exit 1: no seal can be trusted through it).
        CliError: A file cannot be read (exit 3).
    """
    return trust_commands.verify_trust_file(ctx, path, anchor, ctx.utc_now()).trust


@group.command("verify", short_help="Verify a sealed code offline, from its text or a photo.")
@click.argument("text", type=TEXT, required=False)
@click.option(
    "--image",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Read the code from a photo or scan (PNG or JPEG) instead of TEXT.",
)
@trusted_key_option(N_("A producer's public key you trust (PEM, from ocop key export). Repeatable."))
@trust_list_option(
    N_("A signed trust list: verified first, as by ocop trust verify (options below), then its keys are used.")
)
@trust_commands.anchor_options
@click.option(
    "--bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="The batch's bundle (ocop export): verified, then checked to be the chain the seal covers.",
)
@json_option
@pass_context
def verify(  # noqa: PLR0917 - click passes options as arguments
    ctx: Context,
    text: str | None,
    image: Path | None,
    trusted: tuple[Path, ...],
    trust_path: Path | None,
    bundle: Path | None,
    **anchor: Any,
) -> None:
    """Verify a sealed code offline: TEXT (the link or OCOP1: text; - reads stdin) or --image FILE.

    \b
    Exit 0 when the seal verifies, 1 when it does not (malformed, altered, untrusted,
    another batch, or a bundle that does not match), 3 when no verdict could be
    reached (no code or several codes in the image, an unreadable file or key).
    """
    if (text is None) == (image is None):
        raise click.UsageError(t("give the code's TEXT or --image FILE (one of them)"))
    if bool(trusted) == (trust_path is not None):
        raise click.UsageError(t("give --trusted-key PEM (repeatable) or --trust LIST (one of them)"))
    if trust_path is None and any(anchor.values()):
        raise click.UsageError(t("--authority-key, --threshold, --pinned-list, --via and --no-cache go with --trust"))
    now = ctx.clock()
    out = Output(ctx)
    code_text, origin = read_code(text, image)
    labels: dict[bytes, str] = {}
    keys: op.KeyRing | VerifiedTrustList
    trust: VerifiedTrustList | None = None
    if trust_path is not None:
        try:
            trust = load_trust(ctx, trust_path, trust_commands.make_anchor(**anchor))
        except trust_commands.DocumentFailure as f:
            out.emit(f.result)
            return
        keys = trust
    else:
        keys, labels = load_trusted_keys(trusted)
    if bundle is not None:
        with bundle.open("rb"):
            pass  # an unreadable bundle is an I/O problem (exit 3), not a failed verification
    source = str(image) if image is not None else origin
    try:
        # One pass: with a trust list, the seal's signer, its role and GTIN, and every event of the bundle (each
        # key judged at its event's time, the genesis claims against its signer) are checked together.
        options = op.VerifyOptions(keys=keys, now=now)
        result = op.verify_seal(code_text, options, bundle=None if bundle is None else str(bundle))
    except op.ProvenanceError as e:
        if isinstance(e, MissingExtraError):
            raise
        where = None
        if bundle is not None and e.position is not None:  # the seal verified; a record of the bundle did not
            with bundle.open("rb") as src:
                where = locate(src, e, str(bundle))
        out.emit(SealFailure(text=code_text, source=source, error=e, in_bundle=where))
        return
    signer = _signer(result.key, labels, trust)
    out.emit(
        SealVerified(
            text=code_text,
            source=source,
            result=result,
            signer=signer,
            bundle=None if bundle is None else str(bundle),
            audited=trust is not None and bundle is not None,
        )
    )


def _signer(key: op.PublicKey, labels: dict[bytes, str], trust: VerifiedTrustList | None) -> dict[str, Any]:
    out: dict[str, Any] = {"key_id": key.key_id_hex, "trusted_key": labels.get(key.key_id), "participant": None}
    if trust is not None:
        found = trust.lookup(key.key_id)
        if found is not None:
            p = found[0]
            out["participant"] = {"id": p.id, "name": p.name, "role": p.role, "trust_list": trust.issuer}
    return out
