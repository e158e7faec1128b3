"""What a clerk types: input mistakes told apart from damaged data, with what is allowed and the nearest valid value.

A :class:`~ocop_provenance.FormatError` raised while the CLI builds or signs an event from command-line values is a
mistake in what was typed, not a record that was damaged or altered: :func:`from_input` turns it into an
:class:`InputError` that names the option and says what is accepted (the valid business steps and the nearest one,
``use 12.5`` for a decimal comma). The business steps a clerk may use, with their Vietnamese names, are listed here
once (``ocop step list``). Batches are found the way a clerk names them: by id, id prefix or lot code
(:func:`resolve_batch`).
"""

from __future__ import annotations

import contextlib
import difflib
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence

import ocop_provenance as op
from ocop_provenance.gs1 import CBV_BUSINESS_STEPS, is_gs1_82
from ocop_provenance.ledger import BatchInfo

from .context import CliError, Context, ExitCode
from .render.words import t

__all__ = [
    "CBV_STEP_NAMES_VI",
    "COMMON_CUSTOM_STEPS",
    "InputError",
    "check_lot",
    "fold",
    "from_input",
    "nearest_step",
    "resolve_batch",
]

#: The Vietnamese name of each GS1 CBV 2.0 business step (as OCOP traceability guides name the activity).
CBV_STEP_NAMES_VI: Mapping[str, str] = {
    "accepting": "Chấp nhận hàng",
    "arriving": "Hàng đến",
    "assembling": "Lắp ráp",
    "collecting": "Thu gom",
    "commissioning": "Khởi tạo (thu hoạch, sản xuất)",
    "consigning": "Ký gửi",
    "creating_class_instance": "Tạo lô theo loại",
    "cycle_counting": "Kiểm đếm định kỳ",
    "decommissioning": "Ngừng sử dụng",
    "departing": "Xuất phát",
    "destroying": "Tiêu hủy",
    "disassembling": "Tháo rời",
    "dispensing": "Cấp phát",
    "encoding": "Mã hóa",
    "entering_exiting": "Ra vào",
    "holding": "Tạm giữ",
    "inspecting": "Kiểm tra, kiểm nghiệm",
    "installing": "Lắp đặt",
    "killing": "Giết mổ",
    "loading": "Xếp hàng lên xe",
    "other": "Khác",
    "packing": "Đóng gói",
    "picking": "Lấy hàng",
    "receiving": "Nhận hàng",
    "removing": "Gỡ bỏ",
    "repackaging": "Đóng gói lại",
    "repairing": "Sửa chữa",
    "replacing": "Thay thế",
    "reserving": "Đặt trước",
    "retail_selling": "Bán lẻ",
    "sampling": "Lấy mẫu",
    "sensor_reporting": "Báo cáo cảm biến",
    "shipping": "Vận chuyển đi",
    "staging_outbound": "Chuẩn bị xuất",
    "stock_taking": "Kiểm kê",
    "stocking": "Nhập kho bày bán",
    "storing": "Lưu kho",
    "transporting": "Vận chuyển",
    "unloading": "Dỡ hàng",
    "unpacking": "Mở gói",
    "void_shipping": "Hủy giao hàng",
}

#: Namespaced steps the demo and the starter policies use (any ``prefix:name`` is accepted; these are conventions).
COMMON_CUSTOM_STEPS: Mapping[str, str] = {
    "ocop:drying": "Sấy khô",
    "ocop:sorting": "Phân loại",
    "ocop:cleaning": "Sơ chế, làm sạch",
    "ocop:fermenting": "Lên men",
    "ocop:roasting": "Rang",
    "ocop:grinding": "Xay, nghiền",
}

#: Words clerks use for a step, and the step that records it.
_SYNONYMS: Mapping[str, str] = {
    "harvest": "commissioning",
    "harvesting": "commissioning",
    "thu_hoach": "commissioning",
    "produce": "commissioning",
    "producing": "commissioning",
    "create": "commissioning",
    "planting": "commissioning",
    "dry": "ocop:drying",
    "drying": "ocop:drying",
    "say": "ocop:drying",
    "sort": "ocop:sorting",
    "sorting": "ocop:sorting",
    "grading": "ocop:sorting",
    "pack": "packing",
    "package": "packing",
    "packaging": "packing",
    "dong_goi": "packing",
    "ship": "shipping",
    "deliver": "shipping",
    "delivery": "shipping",
    "test": "inspecting",
    "testing": "inspecting",
    "inspect": "inspecting",
    "inspection": "inspecting",
    "kiem_nghiem": "inspecting",
    "store": "storing",
    "storage": "storing",
    "receive": "receiving",
    "sell": "retail_selling",
    "selling": "retail_selling",
    "sale": "retail_selling",
    "sample": "sampling",
    "ferment": "ocop:fermenting",
    "fermentation": "ocop:fermenting",
    "roast": "ocop:roasting",
    "grind": "ocop:grinding",
    "clean": "ocop:cleaning",
}

#: The command-line option that gave each field the library names in its errors.
_OPTION_OF_FIELD: Mapping[str, str] = {
    "product.name": "--product",
    "product.lot": "--lot",
    "product.quantity": "--quantity",
    "product.unit": "--unit",
    "product.gtin": "--gtin",
    "producer.name": "--producer",
    "producer.admin_code": "--admin-code",
    "producer.commune": "--commune",
    "producer.province": "--province",
    "producer.gln": "--gln",
    "certificate.number": "--ocop-cert",
    "certificate.stars": "--ocop-stars",
    "certificate.issued": "--ocop-date",
    "location.name": "--where",
    "location.admin_code": "--where-code",
    "attachments": "--attach",
    "data": "--data",
    "time": "--at",
    "step": "--step",
    "inputs": "--input",
    "batch": "BATCH",
}

_DECIMAL_COMMA = re.compile(r"[0-9]+,[0-9]+")


class InputError(CliError):
    """A value typed on the command line is not valid (exit 3): the user's mistake, not damaged data.

    ``code`` is the library's code for the rule the value broke (usually ``E_FIELD``); ``field`` names the field
    and ``option`` the command-line option that gave it.
    """

    def __init__(self, message: str, *, code: str, field: str | None, option: str | None, explanation: str) -> None:
        super().__init__(message, code=code, exit_code=ExitCode.BAD_INPUT, explanation=explanation)
        self.field = field
        self.option = option


def option_of(field: str | None) -> str | None:
    """The command-line option that gives ``field`` (``product.quantity`` -> ``--quantity``), or None."""
    if not field:
        return None
    for name in (field, field.split(".")[0]):
        if name in _OPTION_OF_FIELD:
            return _OPTION_OF_FIELD[name]
    return None


def nearest_step(value: str) -> str | None:
    """The valid business step closest to ``value``: a clerk's word for it, else the most similar spelling."""
    key = fold(value).replace(" ", "_").replace("-", "_")
    if key in _SYNONYMS:
        return _SYNONYMS[key]
    if key.startswith("ocop:") and key[5:] in _SYNONYMS:
        return _SYNONYMS[key[5:]]
    candidates = sorted(CBV_BUSINESS_STEPS) + list(COMMON_CUSTOM_STEPS)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(f"ocop:{key}", candidates, n=1, cutoff=0.75)
    return close[0] if close else None


def _hint(field: str | None, value: object) -> str | None:
    """What is accepted instead of ``value`` in ``field``, in words (or None)."""
    text = str(value) if value is not None else ""
    if field == "step":
        near = nearest_step(text)
        allowed = t(
            "a GS1 CBV business step ({steps}) or a namespaced step such as ocop:drying; ocop step list shows them",
            steps=", ".join(sorted(CBV_BUSINESS_STEPS)),
        )
        if near is not None:
            return t("did you mean {step}? It must be {allowed}", step=near, allowed=allowed)
        return t("it must be {allowed}", allowed=allowed)
    if field == "product.quantity":
        if _DECIMAL_COMMA.fullmatch(text.strip()):
            return t("use {fixed}: the decimal separator is a point", fixed=text.strip().replace(",", "."))
        return t("give a decimal number with a point, such as 120 or 12.5")
    return None


@contextlib.contextmanager
def from_input(**given: object) -> Iterator[None]:
    """Treat a :class:`~ocop_provenance.FormatError` raised inside as a mistake in the command line.

    Args:
        given: What the user typed for each field the library may name (``step="harvest"``,
            ``**{"product.quantity": "12,5"}``): used to suggest what is accepted.

    Raises:
        InputError: A value from the command line breaks a field rule (exit 3), named by its option.
    """
    try:
        yield
    except op.FormatError as e:
        if isinstance(e, op.TamperError) or e.code not in {"E_FIELD", "E_SCHEMA", "E_DL_CHARSET", "E_SIZE"}:
            raise
        option = option_of(e.field)
        value = given.get(e.field or "")
        if value is None and e.field:
            value = given.get(e.field.split(".")[0])
        hint = _hint(e.field, value)
        if option is not None:
            message = t("the value given for {option} is not valid: {reason}", option=option, reason=e.message)
        else:
            message = t("a value given on the command line is not valid: {reason}", reason=e.message)
        explanation = (
            t("{hint}. Nothing was signed or changed", hint=hint)
            if hint
            else t("correct the value and run the command again: nothing was signed or changed")
        )
        raise InputError(message, code=e.code, field=e.field, option=option, explanation=explanation) from e


def check_lot(lot: str, *, unsealable: bool) -> None:
    """Refuse a lot that can never be printed in a sealed code (GS1 AI 10), unless the clerk accepts that.

    Raises:
        InputError: ``lot`` is not 1-20 characters of GS1's 82-character set (``E_DL_CHARSET``, exit 3) and
            ``unsealable`` is False.
    """
    if unsealable or is_gs1_82(lot):
        return
    raise InputError(
        t("the lot {lot!r} can never be sealed: a GS1 lot (AI 10) is 1-20 characters of GS1's set", lot=lot),
        code="E_DL_CHARSET",
        field="product.lot",
        option="--lot",
        explanation=t(
            "use only A-Z a-z 0-9 and ! \" % & ' ( ) * + , - . / : ; < = > ? _ (no spaces, no Vietnamese letters),"
            " at most 20; or give --lot-unsealable to open a batch that will never have a QR seal. Nothing was signed"
        ),
    )


def fold(text: str) -> str:
    """``text`` for matching as a person reads it: lower case, Vietnamese accents and đ removed (NFD)."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _looks_like_id(text: str) -> bool:
    s = text.strip().lower()
    return 0 < len(s) <= 64 and all(c in "0123456789abcdef" for c in s)


def resolve_batch(ctx: Context, ledger: op.Ledger, text: str) -> bytes:
    """The batch a clerk names: a full id, a unique id prefix (6+ hex digits) or a lot code.

    A lot code held by one batch names it; held by several, the command stops and lists them (exit 2).

    Raises:
        CliError: Nothing matches (``E_NOT_FOUND``, exit 3, naming the ledger looked in), the text is neither an
            id nor a lot (``E_FIELD``, exit 3), or several batches match (``E_AMBIGUOUS``, exit 2).
    """
    wanted = text.strip()
    by_lot = [b for b in ledger.batches() if b.lot == wanted]
    if not by_lot:
        by_lot = [b for b in ledger.batches() if b.lot.casefold() == wanted.casefold()]
    if len(by_lot) > 1:
        raise _ambiguous(wanted, by_lot)
    if by_lot and not _looks_like_id(wanted):
        return by_lot[0].batch_id
    try:
        found = ledger.resolve(wanted)
    except op.NotFoundError as e:
        if by_lot:
            return by_lot[0].batch_id
        raise CliError(
            t(
                "no batch id starts with {text} and no batch has lot {text} in {ledger}",
                text=wanted,
                ledger=ctx.ledger_path,
            ),
            code="E_NOT_FOUND",
            explanation=t("list the batches with: ocop batch list (or set OCOP_HOME to the right data directory)"),
        ) from e
    except op.FormatError as e:
        if by_lot:
            return by_lot[0].batch_id
        if e.code == "E_AMBIGUOUS":
            raise _ambiguous(
                wanted, [b for b in ledger.batches() if b.batch_id.hex().startswith(wanted.lower())]
            ) from e
        raise CliError(
            t(
                "{text!r} is neither a batch id (6+ hex digits) nor a lot code in {ledger}",
                text=wanted,
                ledger=ctx.ledger_path,
            ),
            code="E_NOT_FOUND",
            explanation=t(
                "give a batch id, a unique prefix of 6+ hex digits or a lot code; ocop batch list shows them"
            ),
        ) from e
    if by_lot and found != by_lot[0].batch_id:
        raise _ambiguous(wanted, [by_lot[0], *(b for b in ledger.batches() if b.batch_id == found)])
    return found


def _ambiguous(text: str, batches: Sequence[BatchInfo]) -> CliError:
    listed = "; ".join(
        t(
            "{batch} {product} lot {lot} opened {opened}",
            batch=b.batch_id.hex()[:16],
            product=b.product,
            lot=b.lot,
            opened=b.opened.date().isoformat(),
        )
        for b in batches
    )
    return CliError(
        t("{text} names {n} batches: {listed}", text=text, n=len(batches), listed=listed),
        code="E_AMBIGUOUS",
        exit_code=ExitCode.USAGE,
        explanation=t("give the batch id (or a longer prefix of it) of the one you mean"),
    )
