"""Hypothesis strategies: CBOR values in the library's data model, and valid event bodies with Vietnamese text."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import ocop_provenance as op
from hypothesis import strategies as st
from ocop_provenance._unicode import first_unassigned
from ocop_provenance.events import CBV_BUSINESS_STEPS
from ocop_provenance.gs1 import gs1_check_digit


def assigned(text: str) -> bool:
    """True for text of code points Unicode 14.0 assigns: the only text the format carries (docs/format.md §2.1)."""
    return first_unassigned(text) is None


# ---- CBOR data model --------------------------------------------------------------------------------------------

nfc_text = st.text(max_size=40).filter(assigned).map(lambda s: unicodedata.normalize("NFC", s))
cbor_int = st.integers(min_value=-(2**63), max_value=2**64 - 1)
cbor_scalar = st.one_of(st.none(), st.booleans(), cbor_int, st.binary(max_size=40), nfc_text)
cbor_key = st.one_of(cbor_int, nfc_text)
cbor_value = st.recursive(
    cbor_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(cbor_key, inner, max_size=6),
    ),
    max_leaves=25,
)

# ---- event bodies ---------------------------------------------------------------------------------------------------

VIET = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
ALPHABET = VIET + VIET.upper() + "0123456789 -,./()"


def _form(s: str, nfd: bool) -> str:
    return unicodedata.normalize("NFD", s) if nfd else s


viet_text = st.builds(
    _form,
    st.text(alphabet=ALPHABET, min_size=1, max_size=40).filter(lambda s: s.strip() != ""),
    st.booleans(),  # sometimes given decomposed: the model must normalise it
)
gs1_lot = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-./_", min_size=1, max_size=20)
ids = st.binary(min_size=32, max_size=32)


@st.composite
def gtins(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from([8, 12, 13, 14]))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    return body + str(gs1_check_digit(body))


@st.composite
def glns(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet="0123456789", min_size=12, max_size=12))
    return body + str(gs1_check_digit(body))


quantities = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False),
).map(lambda q: str(q) if isinstance(q, Decimal) else q)
admin_codes = st.text(alphabet="0123456789", min_size=2, max_size=10)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 1, 1), timezones=offsets)


@st.composite
def products(draw: st.DrawFn) -> op.Product:
    gtin = draw(st.none() | gtins())
    lot = draw(gs1_lot) if gtin is not None else draw(viet_text)
    return op.Product(
        name=draw(viet_text),
        lot=lot,
        quantity=draw(quantities),
        unit=draw(st.sampled_from(["kg", "hộp", "lít", "gói"])),
        gtin=gtin,
    )


producers = st.builds(
    op.Producer,
    name=viet_text,
    admin_code=st.none() | admin_codes,
    commune=st.none() | viet_text,
    province=st.none() | viet_text,
    gln=st.none() | glns(),
)


@st.composite
def locations(draw: st.DrawFn) -> op.Location:
    coords = draw(
        st.none()
        | st.tuples(
            st.integers(min_value=-90_000_000, max_value=90_000_000),
            st.integers(min_value=-180_000_000, max_value=180_000_000),
        )
    )
    return op.Location(
        name=draw(viet_text),
        admin_code=draw(st.none() | admin_codes),
        lat_e6=None if coords is None else coords[0],
        lon_e6=None if coords is None else coords[1],
        gln=draw(st.none() | glns()),
    )


certificates = st.builds(
    op.Certificate,
    stars=st.sampled_from([3, 4, 5]),
    number=viet_text,
    issued=st.dates(min_value=date(2018, 1, 1), max_value=date(2030, 12, 31)),
)
attachments = st.builds(
    op.Attachment,
    name=viet_text.map(lambda s: s.replace("/", "-") + ".pdf"),
    media_type=st.sampled_from(["application/pdf", "image/jpeg", "image/png"]),
    size=st.integers(min_value=0, max_value=2**40),
    sha256=ids,
)
data_values = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.builds(_form, st.text(alphabet=ALPHABET, max_size=30), st.booleans()),
)
_LOWER = "abcdefghijklmnopqrstuvwxyz"


def _word(head: str, tail: str, max_tail: int) -> st.SearchStrategy[str]:
    """``[head][tail]{0,max_tail}``: what ``st.from_regex`` would draw, several times quicker (it is drawn often)."""
    return st.builds(str.__add__, st.sampled_from(head), st.text(alphabet=tail, max_size=max_tail))


data_maps = st.dictionaries(_word(_LOWER, _LOWER + "0123456789_", 10), data_values, max_size=6)
steps = st.one_of(st.sampled_from(sorted(CBV_BUSINESS_STEPS)), _word(_LOWER, _LOWER + "_", 12).map("ocop:".__add__))

geneses = st.builds(
    op.Genesis,
    time=times,
    product=products(),
    producer=producers,
    location=st.none() | locations(),
    certificate=st.none() | certificates,
    attachments=st.lists(attachments, max_size=2).map(tuple),
    data=data_maps,
)


@st.composite
def input_refs(draw: st.DrawFn, own_batch: bytes) -> tuple[op.InputRef, ...]:
    n = draw(st.integers(min_value=0, max_value=3))
    refs = []
    for _ in range(n):
        batch = draw(ids.filter(lambda b: b != own_batch))
        seq = draw(st.integers(min_value=0, max_value=2**63 - 1))
        refs.append(op.InputRef(batch_id=batch, seq=seq, head=batch if seq == 0 else draw(ids)))
    unique = {r.batch_id: r for r in refs}
    return tuple(unique.values())


@st.composite
def step_bodies(draw: st.DrawFn) -> op.Step:
    batch = draw(ids)
    return op.Step(
        batch_id=batch,
        seq=draw(st.integers(min_value=1, max_value=2**63 - 1)),
        prev=draw(ids),
        time=draw(times),
        step=draw(steps),
        location=draw(locations()),
        inputs=draw(input_refs(batch)),
        attachments=tuple(draw(st.lists(attachments, max_size=2))),
        data=draw(data_maps),
    )


bodies = st.one_of(geneses, step_bodies())


@st.composite
def correction_bodies(draw: st.DrawFn) -> op.Step:
    """A correction (docs/format.md §19): an earlier step named by seq and id, a reason, maybe corrected values."""
    seq = draw(st.integers(min_value=2, max_value=2**63 - 1))
    back = draw(st.integers(min_value=1, max_value=min(seq - 1, op.events.MAX_CORRECTION_DISTANCE)))
    return op.Step(
        batch_id=draw(ids),
        seq=seq,
        prev=draw(ids),
        time=draw(times),
        step=op.events.CORRECTION_STEP,
        location=draw(locations()),
        attachments=tuple(draw(st.lists(attachments, max_size=1))),
        corrects=op.Correction(
            seq=seq - back,
            event_id=draw(ids),
            reason=draw(viet_text),
            data=draw(st.none() | data_maps),
        ),
    )


every_body = st.one_of(geneses, step_bodies(), correction_bodies())
