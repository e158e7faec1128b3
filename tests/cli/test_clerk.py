"""The clerk's daily work (issue 13): input mistakes told as such, what is allowed, lots that can be sealed, and
batches found by lot, product and date."""

from __future__ import annotations

import time

import pytest
from ocop_provenance.gs1 import CBV_BUSINESS_STEPS

from ocop_cli.inputs import CBV_STEP_NAMES_VI, nearest_step

from .conftest import FRESH, PLACE, PRODUCT, Env, step

DAMAGED = "damaged or altered"


def test_unknown_step_is_an_input_mistake_with_the_nearest_step(env: Env) -> None:
    env.new_key()
    batch = env.new_batch()
    before = env.ledger_state()
    result = step(env, batch, "harvest", "2024-11-02T08:00:00+07:00")
    assert result.exit_code == 3
    assert "the value given for --step is not valid" in result.stderr
    assert "did you mean commissioning?" in result.stderr
    assert "inspecting" in result.stderr  # the valid steps are listed
    assert DAMAGED not in result.stderr
    assert env.ledger_state() == before
    doc = env.json("step", "add", batch, "--key", "coop", "--step", "drying", "--where", PLACE, code=3)
    assert doc["error"]["code"] == "E_FIELD"
    assert doc["error"]["field"] == "step"
    assert "did you mean ocop:drying?" in doc["error"]["explanation"]
    assert DAMAGED not in doc["error"]["explanation"]


@pytest.mark.parametrize(
    ("typed", "nearest"),
    [("harvest", "commissioning"), ("drying", "ocop:drying"), ("Packing", "packing"), ("shiping", "shipping")],
)
def test_nearest_step(typed: str, nearest: str) -> None:
    assert nearest_step(typed) == nearest


def test_nearest_step_has_none_for_nonsense() -> None:
    assert nearest_step("zzzzqqq") is None


def test_step_list_names_every_cbv_step_in_vietnamese(env: Env) -> None:
    assert set(CBV_STEP_NAMES_VI) == set(CBV_BUSINESS_STEPS)
    doc = env.json("step", "list")
    steps = {s["step"]: s for s in doc["steps"]}
    assert set(CBV_BUSINESS_STEPS) <= set(steps)
    assert steps["packing"] == {"step": "packing", "kind": "cbv", "name_vi": "Đóng gói"}
    assert steps["ocop:drying"]["kind"] == "custom"
    text = env.ok("step", "list").stdout
    assert "commissioning" in text
    assert "Sấy khô" in text


def test_decimal_comma_says_use_a_point(env: Env) -> None:
    env.new_key()
    args = ("batch", "new", "--key", "coop", "--product", PRODUCT, "--lot", "L1", "--unit", "kg")
    result = env.run(*args, "--quantity", "12,5", "--at", "2024-11-01T08:00:00+07:00")
    assert result.exit_code == 3
    assert "the value given for --quantity is not valid" in result.stderr
    assert "use 12.5" in result.stderr
    assert DAMAGED not in result.stderr
    assert env.ledger_state() is None
    doc = env.json(*args, "--quantity", "12,5", "--at", "2024-11-01T08:00:00+07:00", code=3)
    assert doc["error"]["field"] == "product.quantity"
    assert doc["error"]["explanation"].startswith("use 12.5")


def test_bad_gtin_is_an_input_mistake(env: Env) -> None:
    env.new_key()
    result = env.run("batch", "new", "--key", "coop", "--product", PRODUCT, "--lot", "L1", "--quantity", "1",
                     "--unit", "kg", "--gtin", "08931234567890")  # fmt: skip
    assert result.exit_code == 3
    assert "--gtin" in result.stderr
    assert DAMAGED not in result.stderr


def test_local_date_gets_the_accepted_form(env: Env) -> None:
    env.new_key()
    batch = env.new_batch()
    result = step(env, batch, "packing", "02/11/2024")
    assert result.exit_code == 2
    assert "2024-11-02T08:00:00+07:00" in result.stderr


@pytest.fixture
def utc_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def vietnam_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("utc_clock")
def test_time_without_offset_warns_when_the_computer_is_not_on_vietnam_time(env: Env) -> None:
    env.new_key()
    batch = env.new_batch()
    result = step(env, batch, "packing", "2024-11-02T08:00")
    assert result.exit_code == 0
    assert "warning: 2024-11-02T08:00 has no UTC offset" in result.stderr
    assert "2024-11-02T08:00:00+07:00" in result.stderr
    shown = env.json("batch", "show", batch)
    assert shown["events"][1]["time"] == "2024-11-02T08:00:00+00:00"


@pytest.mark.usefixtures("vietnam_clock")
def test_time_without_offset_is_quiet_on_vietnam_time(env: Env) -> None:
    env.new_key()
    batch = env.new_batch()
    result = step(env, batch, "packing", "2024-11-02T08:00")
    assert result.exit_code == 0
    assert "warning" not in result.stderr


@pytest.mark.parametrize("lot", ["Lô 1", "L 1", "L2411-01-extra-long-lot-code"])
def test_lot_that_can_never_be_sealed_is_refused_when_the_batch_opens(env: Env, lot: str) -> None:
    env.new_key()
    args = ("batch", "new", "--key", "coop", "--product", PRODUCT, "--lot", lot, "--quantity", "1", "--unit", "kg")
    doc = env.json(*args, code=3)
    assert doc["error"]["code"] == "E_DL_CHARSET"
    assert doc["error"]["field"] == "product.lot"
    assert "--lot-unsealable" in doc["error"]["explanation"]
    assert env.ledger_state() is None
    batch = env.ok(*args, "--lot-unsealable").stdout.strip()
    made = env.run("qr", "make", batch, "--key", "coop", "--resolver", "https://id.example.vn")
    assert made.exit_code != 0


def _batches(env: Env) -> tuple[str, str, str]:
    env.new_key()
    fresh = env.ok("batch", "new", "--key", "coop", "--product", FRESH, "--lot", "T2411-01", "--quantity", "40",
                   "--unit", "kg", "--at", "2024-10-01T08:00:00+07:00").stdout.strip()  # fmt: skip
    dried = env.new_batch()
    again = env.ok("batch", "new", "--key", "coop", "--product", "Trà xanh", "--lot", "T2411-01", "--quantity", "4",
                   "--unit", "kg", "--at", "2024-11-03T08:00:00+07:00").stdout.strip()  # fmt: skip
    return fresh, dried, again


def test_batch_show_by_lot(env: Env) -> None:
    fresh, dried, again = _batches(env)
    assert env.json("batch", "show", "L2411-01")["batch_id"] == dried
    result = env.run("batch", "show", "T2411-01")
    assert result.exit_code == 2
    assert fresh[:16] in result.stderr
    assert again[:16] in result.stderr
    assert "Trà xanh" in result.stderr
    assert "2024-10-01" in result.stderr
    doc = env.json("batch", "show", "T2411-01", code=2)
    assert doc["error"]["code"] == "E_AMBIGUOUS"
    assert env.json("batch", "show", fresh[:10])["batch_id"] == fresh


def test_step_add_accepts_a_lot_for_the_batch_and_its_inputs(env: Env) -> None:
    fresh, dried, _again = _batches(env)
    doc = env.json("step", "add", "L2411-01", "--key", "coop", "--step", "ocop:drying", "--where", PLACE,
                   "--input", fresh[:8], "--at", "2024-11-02T08:00:00+07:00")  # fmt: skip
    assert doc["batch_id"] == dried


def test_not_found_names_the_ledger(env: Env) -> None:
    _batches(env)
    for wanted in ("a4c3", "L9999", "abcdef"):
        doc = env.json("batch", "show", wanted, code=3)
        assert doc["error"]["code"] == "E_NOT_FOUND"
        assert str(env.home / "ledger.sqlite") in doc["error"]["message"]
        assert DAMAGED not in (doc["error"]["explanation"] or "")


def test_batch_list_filters_by_product_and_date(env: Env) -> None:
    fresh, dried, again = _batches(env)
    listed = env.json("batch", "list", "--product", "DONG TRUNG")["batches"]
    assert [b["batch_id"] for b in listed] == [fresh, dried]
    listed = env.json("batch", "list", "--product", "sấy", "--since", "2024-11-01")["batches"]
    assert [b["batch_id"] for b in listed] == [dried]
    assert [b["batch_id"] for b in env.json("batch", "list", "--since", "2024-11-02")["batches"]] == [again]
    result = env.ok("batch", "list", "--product", "cà phê")
    assert "no batch matches" in result.stderr


def test_batch_show_names_input_batches(env: Env) -> None:
    fresh, dried, _again = _batches(env)
    step(env, dried, "ocop:drying", "2024-11-02T08:00:00+07:00", "--input", fresh)
    text = env.ok("batch", "show", dried).stdout
    assert f"({FRESH}, lot T2411-01)" in text
    doc = env.json("batch", "show", dried)
    assert doc["events"][1]["inputs"][0]["product"] == FRESH
    assert doc["events"][1]["inputs"][0]["lot"] == "T2411-01"
